package insales

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"time"
)

// The wire types below mirror InSales JSON. InSales is loose about types: the
// same field arrives as a number, a string or null depending on the shop and
// the API version, so every scalar goes through a tolerant type and is only
// converted (exactly, without floats) when the domain value is built.

// jsonText is a scalar kept as text: a string's contents, a number's literal,
// "true"/"false"; null leaves it unset. Objects and arrays are kept as compact
// JSON so that an unexpected shape never fails a whole page.
type jsonText struct {
	s   string
	set bool
}

func (t *jsonText) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) == 0:
		return nil
	case b[0] == 'n': // null
		*t = jsonText{}
		return nil
	case b[0] == '"':
		if bytes.IndexByte(b, '\\') < 0 {
			t.s, t.set = string(b[1:len(b)-1]), true
			return nil
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		t.s, t.set = s, true
		return nil
	case b[0] == '{' || b[0] == '[':
		var buf bytes.Buffer
		if err := json.Compact(&buf, b); err != nil {
			return err
		}
		t.s, t.set = buf.String(), true
		return nil
	default: // number, true, false
		t.s, t.set = string(b), true
		return nil
	}
}

// jsonList is an array that tolerates null and a single object in its place.
type jsonList[T any] []T

func (l *jsonList[T]) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) == 0 || b[0] == 'n':
		*l = nil
		return nil
	case b[0] == '{':
		var one T
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*l = jsonList[T]{one}
		return nil
	case b[0] == '[':
		var many []T
		if err := json.Unmarshal(b, &many); err != nil {
			return err
		}
		*l = many
		return nil
	default:
		// A scalar where a list belongs carries nothing usable.
		*l = nil
		return nil
	}
}

// jsonObject is an object that tolerates null and scalars (as absent).
type jsonObject[T any] struct{ v T }

func (o *jsonObject[T]) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || b[0] != '{' {
		var zero T
		o.v = zero
		return nil
	}
	return json.Unmarshal(b, &o.v)
}

type wireOrder struct {
	ID                jsonText                     `json:"id"`
	Number            jsonText                     `json:"number"`
	CreatedAt         jsonText                     `json:"created_at"`
	UpdatedAt         jsonText                     `json:"updated_at"`
	PaidAt            jsonText                     `json:"paid_at"`
	FulfillmentStatus jsonText                     `json:"fulfillment_status"`
	CustomStatus      jsonObject[wireCustomStatus] `json:"custom_status"`
	FinancialStatus   jsonText                     `json:"financial_status"`
	PaymentGatewayID  jsonText                     `json:"payment_gateway_id"`
	PaymentTitle      jsonText                     `json:"payment_title"`
	DeliveryTitle     jsonText                     `json:"delivery_title"`
	DeliveryPrice     jsonText                     `json:"delivery_price"`
	FullDeliveryPrice jsonText                     `json:"full_delivery_price"`
	ItemsPrice        jsonText                     `json:"items_price"`
	TotalPrice        jsonText                     `json:"total_price"`
	CurrencyCode      jsonText                     `json:"currency_code"`
	Archived          jsonText                     `json:"archived"`
	Client            jsonObject[wireClient]       `json:"client"`
	FieldsValues      jsonList[wireFieldValue]     `json:"fields_values"`
	Discounts         jsonList[wireDiscount]       `json:"discounts"`
	OrderChanges      jsonList[wireOrderChange]    `json:"order_changes"`
	OrderLines        jsonList[wireOrderLine]      `json:"order_lines"`
}

type wireCustomStatus struct {
	Permalink    jsonText `json:"permalink"`
	Title        jsonText `json:"title"`
	SystemStatus jsonText `json:"system_status"`
}

type wireClient struct {
	ID      jsonText `json:"id"`
	Email   jsonText `json:"email"`
	Phone   jsonText `json:"phone"`
	Name    jsonText `json:"name"`
	Surname jsonText `json:"surname"`
}

type wireFieldValue struct {
	ID      jsonText `json:"id"`
	FieldID jsonText `json:"field_id"`
	Handle  jsonText `json:"handle"`
	Name    jsonText `json:"name"`
	Value   jsonText `json:"value"`
}

type wireDiscount struct {
	ID          jsonText `json:"id"`
	Description jsonText `json:"description"`
	Amount      jsonText `json:"amount"`
	Discount    jsonText `json:"discount"`
	Type        jsonText `json:"type_id"`
}

type wireOrderChange struct {
	ID              jsonText `json:"id"`
	Action          jsonText `json:"action"`
	CreatedAt       jsonText `json:"created_at"`
	FullDescription jsonText `json:"full_description"`
}

type wireOrderLine struct {
	ID                jsonText           `json:"id"`
	ProductID         jsonText           `json:"product_id"`
	VariantID         jsonText           `json:"variant_id"`
	Title             jsonText           `json:"title"`
	SKU               jsonText           `json:"sku"`
	Barcode           jsonText           `json:"barcode"`
	Unit              jsonText           `json:"unit"`
	Quantity          jsonText           `json:"quantity"`
	SalePrice         jsonText           `json:"sale_price"`
	FullSalePrice     jsonText           `json:"full_sale_price"`
	TotalPrice        jsonText           `json:"total_price"`
	FullTotalPrice    jsonText           `json:"full_total_price"`
	DiscountsAmount   jsonText           `json:"discounts_amount"`
	VAT               jsonText           `json:"vat"`
	FiscalProductType jsonText           `json:"fiscal_product_type"`
	RequiresMarking   jsonText           `json:"requires_marking"`
	MarkingCodes      jsonList[jsonText] `json:"marking_codes"`
}

// converter turns wire values into domain values, remembering the first error
// with the path of the field that caused it.
type converter struct {
	ctx   context.Context
	log   *slog.Logger
	where string // e.g. "order 123"
	err   error
}

func (c *converter) fail(field string, err error) {
	if c.err == nil {
		c.err = fmt.Errorf("%s: %s: %w", c.where, field, err)
	}
}

func (c *converter) str(t jsonText) string { return t.s }

// int parses an identifier or a count: an integer, possibly written as
// "123", 123 or 123.0; null and "" are 0.
func (c *converter) int(field string, t jsonText) int64 {
	if !t.set || t.s == "" {
		return 0
	}
	v, rounded, err := parseDecimal(t.s, 0)
	if err == nil && rounded {
		err = fmt.Errorf("%w: %q is not an integer", errDecimal, clip(t.s))
	}
	if err != nil {
		c.fail(field, err)
		return 0
	}
	return v
}

// scaled parses money (scale 2, kopecks) or a quantity (scale 3,
// thousandths). Extra fraction digits are rounded half-up and logged.
func (c *converter) scaled(field string, t jsonText, scale int) int64 {
	if !t.set || t.s == "" {
		return 0
	}
	v, rounded, err := parseDecimal(t.s, scale)
	if err != nil {
		c.fail(field, err)
		return 0
	}
	if rounded && c.log != nil {
		c.log.LogAttrs(c.ctx, slog.LevelWarn, "insales: value had more fraction digits than it can keep; rounded half-up",
			slog.String("where", c.where), slog.String("field", field),
			slog.String("text", clip(t.s)), slog.Int64("kept", v), slog.Int("scale", scale))
	}
	return v
}

func (c *converter) bool(t jsonText) bool {
	switch t.s {
	case "true", "1", "t", "yes":
		return true
	}
	return false
}

// timestamp keeps InSales' text and its parsed time. A time that does not
// parse is an error: it could not serve as a cursor.
func (c *converter) timestamp(field string, t jsonText) Timestamp {
	if !t.set || t.s == "" {
		return Timestamp{}
	}
	tm, err := ParseTime(t.s)
	if err != nil {
		c.fail(field, err)
		return Timestamp{}
	}
	return Timestamp{Raw: t.s, Time: tm}
}

// timeLayouts are the forms InSales has used: ISO 8601 with milliseconds and
// offset (JSON API) and the older "2010-08-19 10:26:16 +0400".
var timeLayouts = [...]string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04:05 -07:00",
	"2006-01-02T15:04:05.999999999-0700",
}

// ParseTime parses a timestamp in any of the forms InSales sends.
func ParseTime(s string) (time.Time, error) {
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("insales: %q is not a timestamp with an offset", clip(s))
}

func (c *converter) order(w *wireOrder) Order {
	o := Order{
		ID:                c.int("id", w.ID),
		Number:            c.str(w.Number),
		CreatedAt:         c.timestamp("created_at", w.CreatedAt),
		UpdatedAt:         c.timestamp("updated_at", w.UpdatedAt),
		PaidAt:            c.timestamp("paid_at", w.PaidAt),
		FulfillmentStatus: c.str(w.FulfillmentStatus),
		CustomStatus: CustomStatusRef{
			Permalink: c.str(w.CustomStatus.v.Permalink),
			Title:     c.str(w.CustomStatus.v.Title),
		},
		FinancialStatus:   c.str(w.FinancialStatus),
		PaymentGatewayID:  c.int("payment_gateway_id", w.PaymentGatewayID),
		PaymentTitle:      c.str(w.PaymentTitle),
		DeliveryTitle:     c.str(w.DeliveryTitle),
		DeliveryPrice:     c.scaled("delivery_price", w.DeliveryPrice, 2),
		FullDeliveryPrice: c.scaled("full_delivery_price", w.FullDeliveryPrice, 2),
		ItemsPrice:        c.scaled("items_price", w.ItemsPrice, 2),
		TotalPrice:        c.scaled("total_price", w.TotalPrice, 2),
		CurrencyCode:      c.str(w.CurrencyCode),
		Archived:          c.bool(w.Archived),
		Client: Buyer{
			ID:      c.int("client.id", w.Client.v.ID),
			Email:   c.str(w.Client.v.Email),
			Phone:   c.str(w.Client.v.Phone),
			Name:    c.str(w.Client.v.Name),
			Surname: c.str(w.Client.v.Surname),
		},
	}
	if len(w.FieldsValues) > 0 {
		o.FieldsValues = make([]FieldValue, len(w.FieldsValues))
		for i, f := range w.FieldsValues {
			o.FieldsValues[i] = FieldValue{
				ID:      c.int("fields_values.id", f.ID),
				FieldID: c.int("fields_values.field_id", f.FieldID),
				Handle:  c.str(f.Handle),
				Name:    c.str(f.Name),
				Value:   c.str(f.Value),
			}
		}
	}
	if len(w.Discounts) > 0 {
		o.Discounts = make([]Discount, len(w.Discounts))
		for i, d := range w.Discounts {
			o.Discounts[i] = Discount{
				ID:          c.int("discounts.id", d.ID),
				Description: c.str(d.Description),
				Amount:      c.scaled("discounts.amount", d.Amount, 2),
				Discount:    c.str(d.Discount),
				Type:        c.str(d.Type),
			}
		}
	}
	if len(w.OrderChanges) > 0 {
		o.OrderChanges = make([]OrderChange, len(w.OrderChanges))
		for i, ch := range w.OrderChanges {
			o.OrderChanges[i] = OrderChange{
				ID:              c.int("order_changes.id", ch.ID),
				Action:          c.str(ch.Action),
				CreatedAt:       c.lenientTimestamp(ch.CreatedAt),
				FullDescription: c.str(ch.FullDescription),
			}
		}
	}
	if len(w.OrderLines) > 0 {
		o.Lines = make([]OrderLine, len(w.OrderLines))
		for i := range w.OrderLines {
			o.Lines[i] = c.line(i, &w.OrderLines[i])
		}
	}
	return o
}

// lenientTimestamp is for history entries, which no decision depends on: a
// form we cannot parse keeps its text and a zero Time.
func (c *converter) lenientTimestamp(t jsonText) Timestamp {
	if !t.set || t.s == "" {
		return Timestamp{}
	}
	tm, _ := ParseTime(t.s)
	return Timestamp{Raw: t.s, Time: tm}
}

func (c *converter) line(i int, l *wireOrderLine) OrderLine {
	p := "order_lines[" + strconv.Itoa(i) + "]."
	out := OrderLine{
		ID:                c.int(p+"id", l.ID),
		ProductID:         c.int(p+"product_id", l.ProductID),
		VariantID:         c.int(p+"variant_id", l.VariantID),
		Title:             c.str(l.Title),
		SKU:               c.str(l.SKU),
		Barcode:           c.str(l.Barcode),
		Unit:              c.str(l.Unit),
		Quantity:          c.scaled(p+"quantity", l.Quantity, 3),
		SalePrice:         c.scaled(p+"sale_price", l.SalePrice, 2),
		FullSalePrice:     c.scaled(p+"full_sale_price", l.FullSalePrice, 2),
		TotalPrice:        c.scaled(p+"total_price", l.TotalPrice, 2),
		FullTotalPrice:    c.scaled(p+"full_total_price", l.FullTotalPrice, 2),
		DiscountsAmount:   c.scaled(p+"discounts_amount", l.DiscountsAmount, 2),
		VAT:               NoVAT,
		FiscalProductType: int(c.int(p+"fiscal_product_type", l.FiscalProductType)),
		RequiresMarking:   c.bool(l.RequiresMarking),
	}
	if l.VAT.set && l.VAT.s != "" {
		v := c.int(p+"vat", l.VAT)
		if v < 0 || v > 100 {
			v = NoVAT
		}
		out.VAT = int(v)
	}
	if len(l.MarkingCodes) > 0 {
		out.MarkingCodes = make([]string, 0, len(l.MarkingCodes))
		for _, m := range l.MarkingCodes {
			if m.set && m.s != "" {
				out.MarkingCodes = append(out.MarkingCodes, m.s)
			}
		}
	}
	return out
}

// decodeOrders decodes an order list. endpoint names the request in errors.
func decodeOrders(ctx context.Context, log *slog.Logger, endpoint string, body []byte) ([]Order, error) {
	var wire []wireOrder
	if err := json.Unmarshal(body, &wire); err != nil {
		return nil, fmt.Errorf("insales: %s: malformed answer: %w", endpoint, err)
	}
	orders := make([]Order, len(wire))
	for i := range wire {
		c := converter{ctx: ctx, log: log, where: "order"}
		if wire[i].ID.set {
			c.where = "order " + clip(wire[i].ID.s)
		}
		orders[i] = c.order(&wire[i])
		if c.err == nil && orders[i].ID <= 0 {
			c.err = fmt.Errorf("%s: id: missing or not positive", c.where)
		}
		if c.err == nil && orders[i].UpdatedAt.IsZero() {
			c.err = fmt.Errorf("%s: updated_at: missing", c.where)
		}
		if c.err != nil {
			// An order whose id and updated_at are readable is handed over
			// marked Invalid, so that one bad value does not stop every other
			// order of the shop; without them the page cannot be ordered.
			k := converter{ctx: ctx, log: log, where: c.where}
			id, at := k.int("id", wire[i].ID), k.timestamp("updated_at", wire[i].UpdatedAt)
			if k.err != nil || id <= 0 || at.IsZero() {
				return nil, fmt.Errorf("insales: %s: %w", endpoint, c.err)
			}
			orders[i] = Order{ID: id, Number: k.str(wire[i].Number), UpdatedAt: at, Invalid: c.err.Error()}
			log.WarnContext(ctx, "insales: order not readable; its receipts wait until it is corrected in InSales",
				"endpoint", endpoint, "order_id", id, "err", c.err)
		}
	}
	return orders, nil
}

// decodeOrder decodes a single order (GET or PUT /admin/orders/ID.json).
func decodeOrder(ctx context.Context, log *slog.Logger, endpoint string, body []byte) (Order, error) {
	var w wireOrder
	if err := json.Unmarshal(body, &w); err != nil {
		return Order{}, fmt.Errorf("insales: %s: malformed answer: %w", endpoint, err)
	}
	c := converter{ctx: ctx, log: log, where: "order " + clip(w.ID.s)}
	o := c.order(&w)
	if c.err != nil {
		return Order{}, fmt.Errorf("insales: %s: %w", endpoint, c.err)
	}
	return o, nil
}
