package insales

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

const sampleOrder = `{
  "id": 36289, "number": 2900, "key": "c6a0", "unknown_field": {"nested": [1, 2, {"x": null}]},
  "created_at": "2025-01-15T15:10:00.000+03:00",
  "updated_at": "2025-01-15T15:13:19.000+03:00",
  "paid_at": null,
  "fulfillment_status": "delivered",
  "custom_status": {"permalink": "vydan", "title": "Выдан", "system_status": "delivered"},
  "financial_status": "paid",
  "archived": false,
  "payment_gateway_id": "32541",
  "payment_title": "Картой онлайн",
  "delivery_title": "Курьер",
  "delivery_price": 300,
  "full_delivery_price": "300.0",
  "items_price": "12474.0",
  "total_price": 12774.0,
  "currency_code": "RUR",
  "client": {"id": 36854, "email": "buyer@example.com", "phone": "+7 900 000-00-00", "name": "Иван", "surname": null},
  "fields_values": [{"id": 1, "field_id": 511497, "handle": "fiscal_receipt", "name": "Чек", "value": "ФН 1"},
                    {"id": 2, "field_id": "58734", "name": "Адрес", "value": {"korp": "2", "house": 8}}],
  "discounts": [{"id": 3347, "description": "2%", "amount": "15.0", "discount": "2.0", "type_id": 1}],
  "order_changes": [{"id": 9, "action": "status_changed", "created_at": "2010-08-19 10:26:16 +0400", "full_description": "x"}],
  "order_lines": [
    {"id": 94695, "product_id": 1, "variant_id": 16637, "title": "Скетчбук", "sku": 12345, "barcode": null,
     "unit": "pce", "quantity": "1.0", "sale_price": "740.0", "full_sale_price": 725.2, "total_price": "740.0",
     "full_total_price": "725.20", "discounts_amount": "14.8", "vat": -1, "fiscal_product_type": 1,
     "requires_marking": true, "marking_codes": ["010460\u001d2", null]},
    {"id": 94696, "title": "Сыр", "quantity": "0.347", "sale_price": "60.59", "full_sale_price": "60.59",
     "total_price": "21.02", "full_total_price": "21.02", "vat": 20, "fiscal_product_type": null, "requires_marking": "false"},
    {"id": 94697, "title": "Без ставки", "quantity": 2, "sale_price": "1.005", "vat": null}
  ]
}`

func TestDecodeOrder(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	orders, err := decodeOrders(context.Background(), log, "GET /admin/orders.json", []byte("["+sampleOrder+"]"))
	if err != nil {
		t.Fatal(err)
	}
	if len(orders) != 1 {
		t.Fatalf("got %d orders", len(orders))
	}
	o := orders[0]
	check := func(name string, got, want any) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("ID", o.ID, 36289)
	check("Number", o.Number, "2900")
	check("UpdatedAt.Raw", o.UpdatedAt.Raw, "2025-01-15T15:13:19.000+03:00")
	check("UpdatedAt.Time", o.UpdatedAt.Time.UTC().Format("15:04:05"), "12:13:19")
	check("PaidAt.IsZero", o.PaidAt.IsZero(), true)
	check("CreatedAt.Raw", o.CreatedAt.Raw, "2025-01-15T15:10:00.000+03:00")
	check("FulfillmentStatus", o.FulfillmentStatus, "delivered")
	check("CustomStatus", o.CustomStatus, CustomStatusRef{Permalink: "vydan", Title: "Выдан"})
	check("FinancialStatus", o.FinancialStatus, "paid")
	check("PaymentGatewayID", o.PaymentGatewayID, 32541)
	check("PaymentTitle", o.PaymentTitle, "Картой онлайн")
	check("DeliveryTitle", o.DeliveryTitle, "Курьер")
	check("DeliveryPrice", o.DeliveryPrice, 30000)
	check("FullDeliveryPrice", o.FullDeliveryPrice, 30000)
	check("ItemsPrice", o.ItemsPrice, 1247400)
	check("TotalPrice", o.TotalPrice, 1277400)
	check("CurrencyCode", o.CurrencyCode, "RUR")
	check("Client", o.Client, Buyer{ID: 36854, Email: "buyer@example.com", Phone: "+7 900 000-00-00", Name: "Иван"})
	check("FieldsValues[0]", o.FieldsValues[0], FieldValue{ID: 1, FieldID: 511497, Handle: "fiscal_receipt", Name: "Чек", Value: "ФН 1"})
	check("FieldsValues[1].Value", o.FieldsValues[1].Value, `{"korp":"2","house":8}`)
	check("FieldsValues[1].FieldID", o.FieldsValues[1].FieldID, 58734)
	check("Discounts", o.Discounts, []Discount{{ID: 3347, Description: "2%", Amount: 1500, Discount: "2.0", Type: "1"}})
	check("OrderChanges[0].CreatedAt.Time", o.OrderChanges[0].CreatedAt.Time.UTC().Format("2006-01-02 15:04"), "2010-08-19 06:26")
	if len(o.Lines) != 3 {
		t.Fatalf("got %d lines", len(o.Lines))
	}
	l := o.Lines[0]
	check("line0", l, OrderLine{ID: 94695, ProductID: 1, VariantID: 16637, Title: "Скетчбук", SKU: "12345", Unit: "pce",
		Quantity: 1000, SalePrice: 74000, FullSalePrice: 72520, TotalPrice: 74000, FullTotalPrice: 72520,
		DiscountsAmount: 1480, VAT: NoVAT, FiscalProductType: 1, RequiresMarking: true, MarkingCodes: []string{"010460\x1d2"}})
	check("line1.Quantity", o.Lines[1].Quantity, 347)
	check("line1.SalePrice", o.Lines[1].SalePrice, 6059)
	check("line1.VAT", o.Lines[1].VAT, 20)
	check("line1.FiscalProductType", o.Lines[1].FiscalProductType, 0)
	check("line1.RequiresMarking", o.Lines[1].RequiresMarking, false)
	check("line2.Quantity", o.Lines[2].Quantity, 2000)
	check("line2.SalePrice (1.005 rounded half-up)", o.Lines[2].SalePrice, 101)
	check("line2.VAT", o.Lines[2].VAT, NoVAT)
	if !strings.Contains(logs.String(), "rounded half-up") || !strings.Contains(logs.String(), "order_lines[2].sale_price") {
		t.Errorf("rounding was not logged with the field: %q", logs.String())
	}
}

func TestDecodeOrdersErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, want string
	}{
		{"malformed", `[{"id": 1,`, "GET /admin/orders.json: malformed answer"},
		{"not a list", `{"id": 1}`, "GET /admin/orders.json: malformed answer"},
		{"fractional id", `[{"id": 7.5, "updated_at": "2025-01-15T15:13:19.000+03:00"}]`, "order 7.5: id"},
		{"no id", `[{"updated_at": "2025-01-15T15:13:19.000+03:00"}]`, "id: missing"},
		{"no updated_at", `[{"id": 3}]`, "order 3: updated_at: missing"},
		{"bad updated_at", `[{"id": 3, "updated_at": "yesterday"}]`, "order 3: updated_at"},
	}
	for _, tt := range tests {
		_, err := decodeOrders(context.Background(), discard(), "GET /admin/orders.json", []byte(tt.body))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tt.name, err, tt.want)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "insales: ") {
			t.Errorf("%s: error %q does not name the package", tt.name, err)
		}
	}
}

// One order with a value that cannot be read must not stop the others: it is
// handed over marked Invalid, with only its cursor fields.
func TestDecodeFlagsUnreadableOrders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, order, want string
	}{
		{"bad money", `{"id": 7, "number": 1007, "updated_at": "2025-01-15T15:13:19.000+03:00", "total_price": "12,50"}`, "order 7: total_price: not a decimal number"},
		{"bad quantity", `{"id": 7, "number": 1007, "updated_at": "2025-01-15T15:13:19.000+03:00", "order_lines": [{"quantity": "x"}]}`, "order 7: order_lines[0].quantity"},
		{"money too large", `{"id": 7, "number": 1007, "updated_at": "2025-01-15T15:13:19+03:00", "total_price": 1e30}`, "out of range"},
	}
	good := `{"id": 8, "number": 1008, "updated_at": "2025-01-15T15:13:20.000+03:00", "total_price": "100.00"}`
	for _, tt := range tests {
		var logs strings.Builder
		orders, err := decodeOrders(context.Background(), slog.New(slog.NewTextHandler(&logs, nil)), "GET /admin/orders.json", []byte("["+tt.order+","+good+"]"))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if len(orders) != 2 {
			t.Fatalf("%s: %d orders", tt.name, len(orders))
		}
		bad, ok := orders[0], orders[1]
		if bad.ID != 7 || bad.Number != "1007" || bad.UpdatedAt.IsZero() || !strings.Contains(bad.Invalid, tt.want) || bad.TotalPrice != 0 {
			t.Errorf("%s: unreadable order decoded as %+v, want Invalid containing %q", tt.name, bad, tt.want)
		}
		if ok.Invalid != "" || ok.TotalPrice != 10000 {
			t.Errorf("%s: the good order: %+v", tt.name, ok)
		}
		if !strings.Contains(logs.String(), "order not readable") {
			t.Errorf("%s: not logged: %q", tt.name, logs.String())
		}
	}
}

func TestDecodeTolerates(t *testing.T) {
	t.Parallel()
	body := `[{"id": "5", "number": "A-5", "updated_at": "2025-01-15 15:13:19 +0300", "client": null,
	  "custom_status": "odd", "order_lines": null, "fields_values": {"id": 1, "field_id": 2, "value": 3},
	  "discounts": 5, "archived": "true", "total_price": "", "items_price": null}]`
	orders, err := decodeOrders(context.Background(), discard(), "GET /admin/orders.json", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	o := orders[0]
	if o.ID != 5 || o.Number != "A-5" || !o.Archived || o.TotalPrice != 0 || len(o.Lines) != 0 ||
		len(o.FieldsValues) != 1 || o.FieldsValues[0].Value != "3" || o.Client != (Buyer{}) || o.CustomStatus != (CustomStatusRef{}) {
		t.Errorf("decoded %+v", o)
	}
	if o.UpdatedAt.Raw != "2025-01-15 15:13:19 +0300" || o.UpdatedAt.Time.UTC().Hour() != 12 {
		t.Errorf("UpdatedAt = %+v", o.UpdatedAt)
	}
}

// FuzzDecodeOrders feeds arbitrary bodies to the order decoder: it must
// never panic, and what it accepts must be usable as a cursor.
func FuzzDecodeOrders(f *testing.F) {
	f.Add([]byte("[" + sampleOrder + "]"))
	f.Add([]byte(`[]`))
	f.Add([]byte(`null`))
	f.Add([]byte(`[{"id": 1, "updated_at": "2025-01-15T15:13:19.000+03:00", "total_price": "1e5", "order_lines": [{"quantity": -0.5, "vat": "x"}]}]`))
	f.Add([]byte(`[{"id": "1", "updated_at": "2025-01-15T15:13:19.000+03:00", "client": [], "custom_status": [1], "fields_values": "x", "marking_codes": {}}]`))
	f.Add([]byte(`[{"id":1,"updated_at":"2025-01-15T15:13:19.000+03:00","total_price":"9223372036854775807"}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		orders, err := decodeOrders(context.Background(), discard(), "GET /admin/orders.json", body)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "insales: GET /admin/orders.json: ") {
				t.Fatalf("error does not name the endpoint: %v", err)
			}
			return
		}
		for _, o := range orders {
			if o.ID <= 0 || o.UpdatedAt.Raw == "" || o.UpdatedAt.Time.IsZero() {
				t.Fatalf("accepted an order that cannot be a cursor: %+v", o)
			}
			for _, l := range o.Lines {
				if l.VAT != NoVAT && (l.VAT < 0 || l.VAT > 100) {
					t.Fatalf("VAT %d out of range", l.VAT)
				}
			}
		}
	})
}

// benchPage is a realistic 100-order page with three lines each.
func benchPage() []byte {
	var b strings.Builder
	b.WriteString("[")
	for i := 0; i < 100; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"id": %d, "number": %d, "created_at": "2025-01-15T15:10:00.000+03:00", "updated_at": "2025-01-15T15:%02d:19.000+03:00",
		"paid_at": "2025-01-15T15:11:00.000+03:00", "fulfillment_status": "delivered", "custom_status": {"permalink": "delivered", "title": "Доставлен"},
		"financial_status": "paid", "payment_gateway_id": 1797, "payment_title": "Картой", "delivery_title": "Курьер",
		"delivery_price": "300.0", "full_delivery_price": "300.0", "items_price": "2221.77", "total_price": "2521.77", "currency_code": "RUR",
		"client": {"id": 5, "email": "a@example.com", "phone": "+79000000000", "name": "Иван", "surname": "Петров"},
		"fields_values": [{"id": 1, "field_id": 2, "name": "Комментарий", "value": "позвонить"}], "discounts": [], "order_changes": [],
		"order_lines": [`, 100000+i, 1000+i, i%60)
		for j := 0; j < 3; j++ {
			if j > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"id": %d, "product_id": 77, "variant_id": 88, "title": "Товар номер %d", "sku": "SKU-%d", "unit": "pce",
			"quantity": "1.0", "sale_price": "740.59", "full_sale_price": "740.59", "total_price": "740.59", "full_total_price": "740.59",
			"discounts_amount": "0.0", "vat": -1, "fiscal_product_type": 1, "requires_marking": false, "marking_codes": []}`, i*10+j, j, j)
		}
		b.WriteString("]}")
	}
	b.WriteString("]")
	return []byte(b.String())
}

func BenchmarkDecodeOrders100(b *testing.B) {
	body := benchPage()
	log := discard()
	ctx := context.Background()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		orders, err := decodeOrders(ctx, log, "GET /admin/orders.json", body)
		if err != nil || len(orders) != 100 {
			b.Fatal(len(orders), err)
		}
	}
}
