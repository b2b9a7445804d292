package insales

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// Account is the shop's account (GET /admin/account.json), used as the
// connection test.
type Account struct {
	ID        int64
	Title     string
	Subdomain string
	MainHost  string
	TimeZone  string
	Blocked   bool
}

// CustomStatus is a shop-defined order status.
type CustomStatus struct {
	Permalink    string
	Title        string
	SystemStatus string // the fulfillment_status it stands for
}

// PaymentGateway is a payment method of the shop.
type PaymentGateway struct {
	ID     int64
	Title  string
	Type   string // e.g. PaymentGateway::Cod (cash on delivery), PaymentGateway::Custom
	Margin int64  // the method's margin in hundredths of a percent (10.0 → 1000)
}

// Field is an additional field (GET /admin/fields.json).
type Field struct {
	ID          int64
	Handle      string
	SystemName  string
	Title       string
	OfficeTitle string
	Destiny     int // what the field belongs to (InSales' numbering)
	Type        string
}

type wireAccount struct {
	ID        jsonText `json:"id"`
	Title     jsonText `json:"title"`
	Subdomain jsonText `json:"subdomain"`
	MainHost  jsonText `json:"main_host"`
	TimeZone  jsonText `json:"time_zone"`
	Blocked   jsonText `json:"blocked"`
}

type wirePaymentGateway struct {
	ID     jsonText `json:"id"`
	Title  jsonText `json:"title"`
	Type   jsonText `json:"type"`
	Margin jsonText `json:"margin"`
}

type wireField struct {
	ID          jsonText `json:"id"`
	Handle      jsonText `json:"handle"`
	SystemName  jsonText `json:"system_name"`
	Title       jsonText `json:"title"`
	OfficeTitle jsonText `json:"office_title"`
	Destiny     jsonText `json:"destiny"`
	Type        jsonText `json:"type"`
}

// endpoint names a call in errors: `shop "x": GET /admin/account.json`.
func (c *Client) endpoint(method, path string) string {
	return "shop " + strconv.Quote(c.cfg.Shop) + ": " + method + " " + path
}

// getJSON GETs path and decodes the answer into v.
func (c *Client) getJSON(ctx context.Context, path string, v any) error {
	body, err := c.do(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("insales: %s: malformed answer: %w", c.endpoint(http.MethodGet, path), err)
	}
	return nil
}

// Account reads the shop's account. It is the connection test: a 401 here
// means the key or password is wrong.
func (c *Client) Account(ctx context.Context) (Account, error) {
	const path = "/admin/account.json"
	var w wireAccount
	if err := c.getJSON(ctx, path, &w); err != nil {
		return Account{}, err
	}
	cv := converter{ctx: ctx, log: c.log, where: "account"}
	a := Account{
		ID:        cv.int("id", w.ID),
		Title:     w.Title.s,
		Subdomain: w.Subdomain.s,
		MainHost:  w.MainHost.s,
		TimeZone:  w.TimeZone.s,
		Blocked:   cv.bool(w.Blocked),
	}
	if cv.err != nil {
		return Account{}, fmt.Errorf("insales: %s: %w", c.endpoint(http.MethodGet, path), cv.err)
	}
	return a, nil
}

// CustomStatuses lists the shop's order statuses.
func (c *Client) CustomStatuses(ctx context.Context) ([]CustomStatus, error) {
	const path = "/admin/custom_statuses.json"
	var w jsonList[wireCustomStatus]
	if err := c.getJSON(ctx, path, &w); err != nil {
		return nil, err
	}
	out := make([]CustomStatus, len(w))
	for i, s := range w {
		out[i] = CustomStatus{Permalink: s.Permalink.s, Title: s.Title.s, SystemStatus: s.SystemStatus.s}
	}
	return out, nil
}

// PaymentGateways lists the shop's payment methods.
func (c *Client) PaymentGateways(ctx context.Context) ([]PaymentGateway, error) {
	const path = "/admin/payment_gateways.json"
	var w jsonList[wirePaymentGateway]
	if err := c.getJSON(ctx, path, &w); err != nil {
		return nil, err
	}
	out := make([]PaymentGateway, len(w))
	for i, g := range w {
		cv := converter{ctx: ctx, log: c.log, where: "payment gateway " + clip(g.ID.s)}
		out[i] = PaymentGateway{
			ID:     cv.int("id", g.ID),
			Title:  g.Title.s,
			Type:   g.Type.s,
			Margin: cv.scaled("margin", g.Margin, 2),
		}
		if cv.err != nil {
			return nil, fmt.Errorf("insales: %s: %w", c.endpoint(http.MethodGet, path), cv.err)
		}
	}
	return out, nil
}

// Fields lists the shop's additional fields.
func (c *Client) Fields(ctx context.Context) ([]Field, error) {
	const path = "/admin/fields.json"
	var w jsonList[wireField]
	if err := c.getJSON(ctx, path, &w); err != nil {
		return nil, err
	}
	out := make([]Field, len(w))
	for i, f := range w {
		cv := converter{ctx: ctx, log: c.log, where: "field " + clip(f.ID.s)}
		out[i] = Field{
			ID:          cv.int("id", f.ID),
			Handle:      f.Handle.s,
			SystemName:  f.SystemName.s,
			Title:       f.Title.s,
			OfficeTitle: f.OfficeTitle.s,
			Destiny:     int(cv.int("destiny", f.Destiny)),
			Type:        f.Type.s,
		}
		if cv.err != nil {
			return nil, fmt.Errorf("insales: %s: %w", c.endpoint(http.MethodGet, path), cv.err)
		}
	}
	return out, nil
}

// SetOrderField writes value into the order's additional field fieldID. The
// write bumps the order's updated_at, so the order comes back in the next
// scan: processing must stay idempotent. It is never retried after a 5xx (the
// write may have happened); 429 is waited out, as the server did nothing.
func (c *Client) SetOrderField(ctx context.Context, orderID, fieldID int64, value string) error {
	if orderID <= 0 || fieldID <= 0 {
		return fmt.Errorf("insales: shop %q: SetOrderField: order id %d and field id %d must be positive", c.cfg.Shop, orderID, fieldID)
	}
	type fieldValue struct {
		FieldID int64  `json:"field_id"`
		Value   string `json:"value"`
	}
	var body struct {
		Order struct {
			FieldsValuesAttributes []fieldValue `json:"fields_values_attributes"`
		} `json:"order"`
	}
	body.Order.FieldsValuesAttributes = []fieldValue{{FieldID: fieldID, Value: value}}
	data, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("insales: shop %q: SetOrderField: %w", c.cfg.Shop, err)
	}
	path := "/admin/orders/" + strconv.FormatInt(orderID, 10) + ".json"
	_, err = c.do(ctx, http.MethodPut, path, nil, data)
	return err
}

// Order reads one order (GET /admin/orders/ID.json).
func (c *Client) Order(ctx context.Context, id int64) (Order, error) {
	if id <= 0 {
		return Order{}, fmt.Errorf("insales: shop %q: order id %d must be positive", c.cfg.Shop, id)
	}
	path := "/admin/orders/" + strconv.FormatInt(id, 10) + ".json"
	body, err := c.do(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return Order{}, err
	}
	return decodeOrder(ctx, c.log, c.endpoint(http.MethodGet, path), body)
}
