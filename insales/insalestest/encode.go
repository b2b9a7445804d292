package insalestest

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/chekd/chekd/insales"
)

// timeLayout is how InSales writes timestamps in JSON.
const timeLayout = "2006-01-02T15:04:05.000-07:00"

// decimalText writes v units of 10^-scale the way Rails prints a BigDecimal:
// at least one fraction digit, trailing zeros dropped ("12474.0", "60.59",
// "60.5", "0.347").
func decimalText(v int64, scale int) string {
	neg := v < 0
	u := uint64(v)
	if neg {
		u = uint64(-v)
	}
	pow := uint64(1)
	for i := 0; i < scale; i++ {
		pow *= 10
	}
	whole, frac := u/pow, u%pow
	s := strconv.FormatUint(whole, 10) + "."
	if frac == 0 {
		s += "0"
	} else {
		f := strconv.FormatUint(frac+pow, 10)[1:] // zero-padded to scale digits
		for len(f) > 1 && f[len(f)-1] == '0' {
			f = f[:len(f)-1]
		}
		s += f
	}
	if neg {
		s = "-" + s
	}
	return s
}

// encoder writes orders as InSales' JSON does.
type encoder struct {
	loc            *time.Location
	moneyAsNumbers bool
}

func (e encoder) money(k int64) json.RawMessage { return e.decimal(k, 2) }

func (e encoder) decimal(v int64, scale int) json.RawMessage {
	s := decimalText(v, scale)
	if e.moneyAsNumbers {
		return json.RawMessage(s)
	}
	return json.RawMessage(strconv.Quote(s))
}

// nullable is null for "" (as InSales writes absent text).
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (e encoder) ts(t insales.Timestamp) any {
	if t.IsZero() {
		return nil
	}
	return t.Raw
}

func (e encoder) number(n string) any {
	if v, err := strconv.ParseInt(n, 10, 64); err == nil {
		return v
	}
	return n
}

type jsonOrder struct {
	ID                int64           `json:"id"`
	Number            any             `json:"number"`
	Key               string          `json:"key"`
	CreatedAt         any             `json:"created_at"`
	UpdatedAt         any             `json:"updated_at"`
	PaidAt            any             `json:"paid_at"`
	AcceptedAt        any             `json:"accepted_at"`
	FulfillmentStatus string          `json:"fulfillment_status"`
	CustomStatus      any             `json:"custom_status"`
	FinancialStatus   string          `json:"financial_status"`
	Archived          bool            `json:"archived"`
	PaymentGatewayID  any             `json:"payment_gateway_id"`
	PaymentTitle      any             `json:"payment_title"`
	DeliveryTitle     any             `json:"delivery_title"`
	DeliveryPrice     json.RawMessage `json:"delivery_price"`
	FullDeliveryPrice json.RawMessage `json:"full_delivery_price"`
	ItemsPrice        json.RawMessage `json:"items_price"`
	TotalPrice        json.RawMessage `json:"total_price"`
	TotalProfit       json.RawMessage `json:"total_profit"`
	CurrencyCode      string          `json:"currency_code"`
	Comment           any             `json:"comment"`
	DeliveryInfo      any             `json:"delivery_info"`
	Client            jsonClient      `json:"client"`
	FieldsValues      []jsonFieldVal  `json:"fields_values"`
	Discounts         []jsonDiscount  `json:"discounts"`
	OrderChanges      []jsonChange    `json:"order_changes"`
	OrderLines        []jsonLine      `json:"order_lines"`
}

type jsonCustomStatus struct {
	Permalink    string `json:"permalink"`
	Title        string `json:"title"`
	SystemStatus string `json:"system_status,omitempty"`
}

type jsonClient struct {
	ID         int64  `json:"id"`
	Email      any    `json:"email"`
	Phone      any    `json:"phone"`
	Name       any    `json:"name"`
	Surname    any    `json:"surname"`
	Registered bool   `json:"registered"`
	Type       string `json:"type"`
}

type jsonFieldVal struct {
	ID      int64  `json:"id"`
	FieldID int64  `json:"field_id"`
	Handle  any    `json:"handle"`
	Name    string `json:"name"`
	Value   any    `json:"value"`
}

type jsonDiscount struct {
	ID          int64           `json:"id"`
	Description string          `json:"description"`
	Amount      json.RawMessage `json:"amount"`
	Discount    any             `json:"discount"`
	TypeID      any             `json:"type_id"`
}

type jsonChange struct {
	ID              int64  `json:"id"`
	Action          string `json:"action"`
	CreatedAt       any    `json:"created_at"`
	FullDescription string `json:"full_description"`
}

type jsonLine struct {
	ID                int64           `json:"id"`
	OrderID           int64           `json:"order_id"`
	ProductID         any             `json:"product_id"`
	VariantID         any             `json:"variant_id"`
	Title             string          `json:"title"`
	SKU               any             `json:"sku"`
	Barcode           any             `json:"barcode"`
	Unit              string          `json:"unit"`
	Quantity          json.RawMessage `json:"quantity"`
	SalePrice         json.RawMessage `json:"sale_price"`
	FullSalePrice     json.RawMessage `json:"full_sale_price"`
	TotalPrice        json.RawMessage `json:"total_price"`
	FullTotalPrice    json.RawMessage `json:"full_total_price"`
	DiscountsAmount   json.RawMessage `json:"discounts_amount"`
	VAT               int             `json:"vat"`
	FiscalProductType any             `json:"fiscal_product_type"`
	RequiresMarking   bool            `json:"requires_marking"`
	MarkingCodes      []string        `json:"marking_codes"`
	Weight            any             `json:"weight"`
}

func idOrNull(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func (e encoder) order(o *insales.Order, statusSystem string) jsonOrder {
	j := jsonOrder{
		ID:                o.ID,
		Number:            e.number(o.Number),
		Key:               "k" + strconv.FormatInt(o.ID*7919, 16),
		CreatedAt:         e.ts(o.CreatedAt),
		UpdatedAt:         e.ts(o.UpdatedAt),
		PaidAt:            e.ts(o.PaidAt),
		FulfillmentStatus: o.FulfillmentStatus,
		FinancialStatus:   o.FinancialStatus,
		Archived:          o.Archived,
		PaymentGatewayID:  idOrNull(o.PaymentGatewayID),
		PaymentTitle:      nullable(o.PaymentTitle),
		DeliveryTitle:     nullable(o.DeliveryTitle),
		DeliveryPrice:     e.money(o.DeliveryPrice),
		FullDeliveryPrice: e.money(o.FullDeliveryPrice),
		ItemsPrice:        e.money(o.ItemsPrice),
		TotalPrice:        e.money(o.TotalPrice),
		TotalProfit:       e.money(0),
		CurrencyCode:      o.CurrencyCode,
		DeliveryInfo:      map[string]any{"delivery_id": nil, "tariff_id": nil, "outlet": nil},
		Client: jsonClient{
			ID:      o.Client.ID,
			Email:   nullable(o.Client.Email),
			Phone:   nullable(o.Client.Phone),
			Name:    nullable(o.Client.Name),
			Surname: nullable(o.Client.Surname),
			Type:    "Client::Individual",
		},
		FieldsValues: []jsonFieldVal{},
		Discounts:    []jsonDiscount{},
		OrderChanges: []jsonChange{},
		OrderLines:   make([]jsonLine, 0, len(o.Lines)),
	}
	if o.CustomStatus.Permalink != "" {
		j.CustomStatus = jsonCustomStatus{Permalink: o.CustomStatus.Permalink, Title: o.CustomStatus.Title, SystemStatus: statusSystem}
	}
	for _, f := range o.FieldsValues {
		j.FieldsValues = append(j.FieldsValues, jsonFieldVal{ID: f.ID, FieldID: f.FieldID, Handle: nullable(f.Handle), Name: f.Name, Value: nullable(f.Value)})
	}
	for _, d := range o.Discounts {
		j.Discounts = append(j.Discounts, jsonDiscount{ID: d.ID, Description: d.Description, Amount: e.money(d.Amount), Discount: nullable(d.Discount), TypeID: nullable(d.Type)})
	}
	for _, ch := range o.OrderChanges {
		j.OrderChanges = append(j.OrderChanges, jsonChange{ID: ch.ID, Action: ch.Action, CreatedAt: e.ts(ch.CreatedAt), FullDescription: ch.FullDescription})
	}
	for _, l := range o.Lines {
		jl := jsonLine{
			ID:              l.ID,
			OrderID:         o.ID,
			ProductID:       idOrNull(l.ProductID),
			VariantID:       idOrNull(l.VariantID),
			Title:           l.Title,
			SKU:             nullable(l.SKU),
			Barcode:         nullable(l.Barcode),
			Unit:            l.Unit,
			Quantity:        e.decimal(l.Quantity, 3),
			SalePrice:       e.money(l.SalePrice),
			FullSalePrice:   e.money(l.FullSalePrice),
			TotalPrice:      e.money(l.TotalPrice),
			FullTotalPrice:  e.money(l.FullTotalPrice),
			DiscountsAmount: e.money(l.DiscountsAmount),
			VAT:             l.VAT,
			RequiresMarking: l.RequiresMarking,
			MarkingCodes:    l.MarkingCodes,
		}
		if l.FiscalProductType != 0 {
			jl.FiscalProductType = l.FiscalProductType
		}
		if jl.MarkingCodes == nil {
			jl.MarkingCodes = []string{}
		}
		j.OrderLines = append(j.OrderLines, jl)
	}
	return j
}
