package receipt

// Kind is what a receipt is for. Kinds are stored as these strings.
type Kind string

// The receipt kinds.
const (
	KindSale             Kind = "sale"              // full settlement, paid by NonCash
	KindRefund           Kind = "refund"            // reverses a sale or a settlement
	KindPrepayment       Kind = "prepayment"        // 100% prepayment, paid by NonCash
	KindSettlement       Kind = "settlement"        // full settlement offsetting the prepayment
	KindPrepaymentRefund Kind = "prepayment_refund" // reverses a prepayment that was never settled
)

// Kinds lists every kind, in the order a receipt's life goes through them.
func Kinds() []Kind {
	return []Kind{KindSale, KindPrepayment, KindSettlement, KindRefund, KindPrepaymentRefund}
}

// IsRefund reports whether receipts of this kind reverse an earlier receipt.
func (k Kind) IsRefund() bool { return k == KindRefund || k == KindPrepaymentRefund }

// Op is what Decide asks the daemon to do.
type Op string

// The operations.
const (
	OpNone        Op = "none"         // nothing to do
	OpPrint       Op = "print"        // build and print a receipt of Action.Kind
	OpSkip        Op = "skip"         // a receipt would be due but is not printed; Reason says why
	OpNeedsPerson Op = "needs_person" // not printed automatically; a person decides; Reason says why
)

// The states of a recorded receipt, as the store keeps them.
const (
	StatePending     = "pending"      // stored, being sent (or to be resent with the same RequestId)
	StatePrinted     = "printed"      // the register printed it
	StateFailed      = "failed"       // the register refused it for good; a person retries
	StateSkipped     = "skipped"      // a report: not printed, Reason says why
	StateDryRun      = "dry_run"      // built but not sent (dry-run shop); counts as printed
	StateNeedsPerson = "needs_person" // a report: waits for a person's decision
)

// The receipt schemes.
const (
	SchemeFullPayment = "full_payment" // one receipt at a sale status (the default)
	SchemePrepayment  = "prepayment"   // a prepayment receipt when paid, a settlement at a sale status
)

// Schemes lists the valid Settings.Scheme values ("" means SchemeFullPayment).
func Schemes() []string { return []string{SchemeFullPayment, SchemePrepayment} }

// FFD12 is the Settings.FFD value that turns on the FFD 1.2 line details.
const FFD12 = "1.2"

// Settings are one shop's receipt settings and its register's identifiers.
type Settings struct {
	ShopName string
	Scheme   string // SchemeFullPayment (or "") or SchemePrepayment

	SaleStatuses       []string // custom_status.permalink or fulfillment_status values
	RefundStatuses     []string
	PrepaymentStatuses []string // with SchemePrepayment, besides financial_status "paid"

	GatewayIDs    []int64  // payment_gateway_id values that get receipts
	GatewayTitles []string // exact payment_title values that get receipts

	TaxSystem   string           // osn, usn_income, usn_income_expense, envd, esn, patent; "" = register default
	VATGoods    string           // VAT name for lines without a usable rate of their own
	VATDelivery string           // VAT name for the delivery line; "" = VATGoods
	TaxIDs      map[string]int64 // overrides of the default VAT name → TaxId table
	Contact     string           // one of ContactModes()

	ClientID           string
	Group              string
	CashierPassword    uint32
	MaxDocumentsInTurn uint16 // 0 = the shift closes by time only

	FFD   string // FFD12 sends measure units, marking codes and Place; anything else does not
	Place string // the shop's site address (FFD 1.2)
}

func (s Settings) prepaymentScheme() bool { return s.Scheme == SchemePrepayment }

func (s Settings) ffd12() bool { return s.FFD == FFD12 }

// Recorded is one receipt (or report) already recorded for the order, in the
// order they were recorded.
type Recorded struct {
	Kind   Kind
	State  string // one of the State* constants
	Reason string // for skipped and needs_person records: the Action.Reason recorded
	Body   []byte // the exact request JSON as sent (pending, printed, failed, dry_run)
}

// Action is one thing Decide asks for.
type Action struct {
	Op   Op
	Kind Kind
	// Reverses is, for a refund, the kind of the printed receipt it reverses;
	// its recorded Body is what BuildRefund (or RefundFor) starts from.
	Reverses Kind
	// Reason is for the merchant, in Russian; set for OpSkip and OpNeedsPerson.
	Reason string
}
