package receipt

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/chekd/chekd/fiscal"
	"github.com/chekd/chekd/insales"
)

// shop is a realistic full-payment shop.
func shop() Settings {
	return Settings{
		ShopName:           "myshop",
		Scheme:             SchemeFullPayment,
		SaleStatuses:       []string{"delivered", "vydan"},
		RefundStatuses:     []string{"returned", "vozvrat"},
		PrepaymentStatuses: []string{"oplachen"},
		GatewayIDs:         []int64{4211},
		GatewayTitles:      []string{"Оплата картой онлайн"},
		TaxSystem:          "usn_income",
		VATGoods:           VAT22,
		VATDelivery:        VATNone,
		Contact:            ContactEmailThenPhone,
		ClientID:           "shop-1",
		Group:              "grp",
		CashierPassword:    30,
		MaxDocumentsInTurn: 500,
		FFD:                "1.05",
	}
}

// ln is an order line as InSales sends it: qty in thousandths, prices in kopecks.
func ln(title string, qty, salePrice, fullSalePrice, fullTotal int64) insales.OrderLine {
	return insales.OrderLine{
		ID:             int64(len(title))*1000 + qty,
		ProductID:      77,
		Title:          title,
		Unit:           "pce",
		Quantity:       qty,
		SalePrice:      salePrice,
		FullSalePrice:  fullSalePrice,
		TotalPrice:     salePrice * qty / 1000,
		FullTotalPrice: fullTotal,
		VAT:            insales.NoVAT,
	}
}

// mkOrder is a paid, delivered order whose totals add up as InSales reports them.
func mkOrder(delivery int64, lines ...insales.OrderLine) insales.Order {
	var items int64
	for _, l := range lines {
		items += l.FullTotalPrice
	}
	return insales.Order{
		ID:                123456789,
		Number:            "10452",
		FulfillmentStatus: "delivered",
		FinancialStatus:   "paid",
		PaymentGatewayID:  4211,
		PaymentTitle:      "Оплата картой онлайн",
		DeliveryTitle:     "Курьер СДЭК",
		DeliveryPrice:     delivery,
		FullDeliveryPrice: delivery,
		ItemsPrice:        items,
		TotalPrice:        items + delivery,
		CurrencyCode:      "RUR",
		Client:            insales.Buyer{ID: 5, Email: "buyer@example.ru", Phone: "8 (999) 123-45-67", Name: "Анна"},
		Lines:             lines,
	}
}

// lineAmount is what the register makes of a line; it fails the test when
// the exact product sits on a half kopeck (rounding-mode dependent).
func lineAmount(t testing.TB, l fiscal.Line) uint64 {
	t.Helper()
	p := l.Price * l.Qty
	if p%1000 == 500 {
		t.Fatalf("line %+v: price × qty is exactly half a kopeck off; the register's rounding decides", l)
	}
	return (p + 500) / 1000
}

// checkReceipt asserts every invariant of a built receipt.
func checkReceipt(t testing.TB, r fiscal.Request, kind Kind, total int64) {
	t.Helper()
	if len(r.Lines) == 0 {
		t.Fatal("no lines")
	}
	wantPay := fiscal.PayFullSettlement
	if kind == KindPrepayment {
		wantPay = fiscal.PayFullPrepayment
	}
	var sum uint64
	for i, l := range r.Lines {
		if l.Qty == 0 {
			t.Fatalf("line %d: Qty 0", i)
		}
		if l.Price > 1<<50 {
			t.Fatalf("line %d: Price %d not a sane price", i, l.Price)
		}
		if l.PayAttribute != wantPay {
			t.Fatalf("line %d: PayAttribute %d, want %d", i, l.PayAttribute, wantPay)
		}
		if l.Description == "" || utf8.RuneCountInString(l.Description) > MaxDescription || !Encodable(l.Description) ||
			strings.TrimSpace(l.Description) != l.Description {
			t.Fatalf("line %d: bad description %q", i, l.Description)
		}
		if l.TaxID == 0 {
			t.Fatalf("line %d: TaxId 0", i)
		}
		sum += lineAmount(t, l)
	}
	if sum != uint64(total) {
		t.Fatalf("lines add up to %d, total is %d", sum, total)
	}
	switch kind {
	case KindSettlement:
		if r.AdvancePayment != uint64(total) || r.NonCash != nil {
			t.Fatalf("settlement paid by AdvancePayment %d NonCash %v, want %d and none", r.AdvancePayment, r.NonCash, total)
		}
	default:
		if !reflect.DeepEqual(r.NonCash, []uint64{uint64(total), 0, 0}) || r.AdvancePayment != 0 {
			t.Fatalf("paid by NonCash %v AdvancePayment %d, want [%d 0 0]", r.NonCash, r.AdvancePayment, total)
		}
	}
	if r.DocumentType != fiscal.DocSale || r.Device != "auto" || r.FullResponse {
		t.Fatalf("header: DocumentType %d Device %q FullResponse %v", r.DocumentType, r.Device, r.FullResponse)
	}
	if r.RequestID == "" || len(r.RequestID) > MaxRequestID {
		t.Fatalf("RequestId %q", r.RequestID)
	}
}

// checkRefund asserts that a refund repeats its receipt line for line.
func checkRefund(t testing.TB, orig, ref fiscal.Request) {
	t.Helper()
	if ref.DocumentType != fiscal.DocSaleRefund {
		t.Fatalf("refund DocumentType %d", ref.DocumentType)
	}
	if ref.RequestID == orig.RequestID {
		t.Fatal("refund reuses the RequestId")
	}
	if !reflect.DeepEqual(orig.Lines, ref.Lines) || !reflect.DeepEqual(orig.NonCash, ref.NonCash) ||
		orig.AdvancePayment != ref.AdvancePayment || orig.TaxMode != ref.TaxMode || orig.PhoneOrEmail != ref.PhoneOrEmail ||
		orig.ClientID != ref.ClientID || orig.Group != ref.Group || orig.Place != ref.Place {
		t.Fatalf("refund differs from its receipt:\n%+v\n%+v", orig, ref)
	}
}

// body is the JSON the daemon records for a request.
func body(t testing.TB, r fiscal.Request) []byte {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mustBuild builds and checks a receipt.
func mustBuild(t testing.TB, o insales.Order, s Settings, kind Kind) fiscal.Request {
	t.Helper()
	r, err := Build(o, s, kind, RequestID(s.ShopName, o.ID, kind, 0))
	if err != nil {
		t.Fatalf("Build %s: %v", kind, err)
	}
	checkReceipt(t, r, kind, o.TotalPrice)
	return r
}

type lq struct{ qty, price uint64 }

func linesQP(r fiscal.Request) []lq {
	out := make([]lq, len(r.Lines))
	for i, l := range r.Lines {
		out[i] = lq{l.Qty, l.Price}
	}
	return out
}

func decodeBody(t testing.TB, b []byte) fiscal.Request {
	t.Helper()
	var r fiscal.Request
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("recorded body: %v", err)
	}
	return r
}
