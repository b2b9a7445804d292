package insales

import "time"

// Timestamp is a time as InSales sent it: Raw is the exact text (sent back
// verbatim as a cursor), Time is its parsed value.
type Timestamp struct {
	Raw  string
	Time time.Time
}

// IsZero reports whether the timestamp was absent or null.
func (t Timestamp) IsZero() bool { return t.Raw == "" }

// NoVAT is OrderLine.VAT when InSales gave no usable rate (absent, null or -1).
const NoVAT = -1

// Order is one InSales order, decoded exactly. Money is in integer kopecks and
// quantities in integer thousandths from the moment they are parsed.
type Order struct {
	ID                int64
	Number            string // what the merchant sees; an integer in JSON, kept as text
	CreatedAt         Timestamp
	UpdatedAt         Timestamp
	PaidAt            Timestamp
	FulfillmentStatus string // new, accepted, approved, dispatched, delivered, declined, returned…
	CustomStatus      CustomStatusRef
	FinancialStatus   string // paid, pending
	PaymentGatewayID  int64
	PaymentTitle      string
	DeliveryTitle     string
	DeliveryPrice     int64 // kopecks
	FullDeliveryPrice int64 // kopecks, with discounts and margin
	ItemsPrice        int64 // kopecks, Σ FullTotalPrice of the lines
	TotalPrice        int64 // kopecks, what the buyer pays
	CurrencyCode      string
	Archived          bool
	Client            Buyer
	FieldsValues      []FieldValue
	Discounts         []Discount
	OrderChanges      []OrderChange
	Lines             []OrderLine

	// Invalid, when not empty, says why the order could not be read (a money
	// value that is not a number, say). Only ID, Number and UpdatedAt are
	// set then; the order must not be acted on.
	Invalid string
}

// CustomStatusRef is the shop-defined status of an order.
type CustomStatusRef struct {
	Permalink string
	Title     string
}

// Buyer is the order's client (JSON "client") as the order carries it. It is
// not called Client because Client is the API client of this package.
type Buyer struct {
	ID      int64
	Email   string
	Phone   string
	Name    string
	Surname string
}

// FieldValue is the value of an additional order field.
type FieldValue struct {
	ID      int64
	FieldID int64
	Handle  string
	Name    string
	Value   string
}

// Discount is an order discount as InSales reports it.
type Discount struct {
	ID          int64
	Description string
	Amount      int64 // kopecks
	Discount    string
	Type        string
}

// OrderChange is one entry of the order's history.
type OrderChange struct {
	ID              int64
	Action          string
	CreatedAt       Timestamp
	FullDescription string
}

// OrderLine is one line of an order.
type OrderLine struct {
	ID                int64
	ProductID         int64
	VariantID         int64
	Title             string
	SKU               string
	Barcode           string
	Unit              string // pce, kg, …
	Quantity          int64  // thousandths: 2.5 → 2500
	SalePrice         int64  // kopecks per unit, before order discounts
	FullSalePrice     int64  // kopecks per unit, with discounts and payment margin
	TotalPrice        int64  // kopecks
	FullTotalPrice    int64  // kopecks, with discounts and payment margin
	DiscountsAmount   int64  // kopecks
	VAT               int    // percent as InSales gives it; NoVAT when not given
	FiscalProductType int    // FFD tag 1212 code; 0 when not given
	RequiresMarking   bool
	MarkingCodes      []string
}
