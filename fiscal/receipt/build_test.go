package receipt

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/chekd/chekd/fiscal"
	"github.com/chekd/chekd/insales"
)

func TestBuildLines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		order insales.Order
		want  []lq
	}{
		{
			// 10% discount then a 10% card margin: full_* prices differ from sale_price,
			// and 3666.64 does not divide by 3.
			name: "discount and payment margin",
			order: mkOrder(0,
				ln("Кофемолка", 3000, 123456, 122221, 366664),
				ln("Фильтр", 1000, 9999, 9899, 9899)),
			want: []lq{{2000, 122221}, {1000, 122222}, {1000, 9899}},
		},
		{
			name:  "100.00 off three equal items",
			order: mkOrder(0, ln("Чашка", 3000, 50000, 46667, 140000)),
			want:  []lq{{1000, 46666}, {2000, 46667}},
		},
		{
			name:  "100.00 over three items splits 2 × 33.33 + 1 × 33.34",
			order: mkOrder(0, ln("Брелок", 3000, 5000, 3333, 10000)),
			want:  []lq{{2000, 3333}, {1000, 3334}},
		},
		{
			name:  "fractional quantity keeps the shop's price per kg",
			order: mkOrder(0, ln("Сыр весовой", 347, 45990, 45990, 15959)),
			want:  []lq{{347, 45990}},
		},
		{
			name:  "fractional quantity over one unit that no single price fits",
			order: mkOrder(0, ln("Черешня", 2500, 40000, 40000, 1001)),
			want:  []lq{{1000, 400}, {1000, 401}, {500, 400}},
		},
		{
			name: "free delivery prints no delivery line",
			order: func() insales.Order {
				o := mkOrder(0, ln("Книга", 1000, 59000, 59000, 59000))
				o.DeliveryPrice = 30000
				return o
			}(),
			want: []lq{{1000, 59000}},
		},
		{
			name:  "paid delivery is its own line",
			order: mkOrder(35000, ln("Книга", 2000, 59000, 59000, 118000)),
			want:  []lq{{2000, 59000}, {1000, 35000}},
		},
		{
			name:  "free gift line at zero",
			order: mkOrder(0, ln("Книга", 1000, 59000, 59000, 59000), ln("Закладка в подарок", 1000, 0, 0, 0)),
			want:  []lq{{1000, 59000}, {1000, 0}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := mustBuild(t, tc.order, shop(), KindSale)
			if got := linesQP(r); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("lines %v, want %v", got, tc.want)
			}
		})
	}
}

func TestBuildSaleRequest(t *testing.T) {
	t.Parallel()
	o := mkOrder(29700, ln("Кофемолка", 3000, 123456, 122221, 366664))
	o.Lines[0].SalePrice = 123456
	s := shop()
	r := mustBuild(t, o, s, KindSale)
	want := fiscal.Request{
		Device: "auto", Password: 30, RequestID: "myshop-123456789-sale", ClientID: "shop-1", Group: "grp",
		DocumentType: 0, TaxMode: 2, PhoneOrEmail: "buyer@example.ru", MaxDocumentsInTurn: 500,
		NonCash: []uint64{396364, 0, 0},
		Lines: []fiscal.Line{
			{Qty: 2000, Price: 122221, PayAttribute: 4, TaxID: 11, Description: "Кофемолка", LineAttribute: 1},
			{Qty: 1000, Price: 122222, PayAttribute: 4, TaxID: 11, Description: "Кофемолка", LineAttribute: 1},
			{Qty: 1000, Price: 29700, PayAttribute: 4, TaxID: 4, Description: "Курьер СДЭК", LineAttribute: 4},
		},
	}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("request\n got %+v\nwant %+v", r, want)
	}
	for _, l := range r.Lines {
		if l.Price == uint64(o.Lines[0].SalePrice) {
			t.Fatal("a line uses sale_price instead of the full_* price")
		}
	}
	// The wire form: FFD 1.05 sends no measure unit and no Place.
	js := string(body(t, r))
	for _, absent := range []string{`"Unit"`, "Place", "AdvancePayment", "MarkingCode"} {
		if strings.Contains(js, absent) {
			t.Fatalf("JSON carries %s: %s", absent, js)
		}
	}
	for _, present := range []string{`"RequestId":"myshop-123456789-sale"`, `"NonCash":[396364,0,0]`, `"MaxDocumentsInTurn":500`, `"FullResponse":false`} {
		if !strings.Contains(js, present) {
			t.Fatalf("JSON lacks %s: %s", present, js)
		}
	}
}

func TestBuildVAT(t *testing.T) {
	t.Parallel()
	mk := func(vat int) insales.OrderLine {
		l := ln(fmt.Sprintf("НДС %d", vat), 1000, 10000, 10000, 10000)
		l.VAT = vat
		return l
	}
	o := mkOrder(50000, mk(10), mk(insales.NoVAT), mk(18), mk(0), mk(22), mk(20), mk(5), mk(7))
	s := shop()
	s.VATGoods = VAT20
	s.VATDelivery = ""
	s.TaxIDs = map[string]int64{VAT10: 40, "vat18": 3, VAT0: 0}
	r := mustBuild(t, o, s, KindSale)
	got := make([]uint8, len(r.Lines))
	for i, l := range r.Lines {
		got[i] = l.TaxID
	}
	// 10% → overridden 40; no rate and the unknown 18% → vat_goods (vat20 → 1);
	// 0% → 3 (an override of 0 is ignored); 22% → 11; 20% → 1; 5% → 7; 7% → 8;
	// delivery without vat_delivery → vat_goods.
	want := []uint8{40, 1, 1, 3, 11, 1, 7, 8, 1}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("TaxIds %v, want %v", got, want)
	}

	s.VATGoods = "vat18"
	if _, err := Build(o, s, KindSale, "x"); err == nil || !strings.Contains(err.Error(), `unknown VAT rate "vat18"`) {
		t.Fatalf("unknown vat_goods: err %v", err)
	}
	s.VATGoods = ""
	if _, err := Build(o, s, KindSale, "x"); err == nil || !strings.Contains(err.Error(), "vat_goods is not set") {
		t.Fatalf("no vat_goods: err %v", err)
	}
}

func TestBuildTaxMode(t *testing.T) {
	t.Parallel()
	want := map[string]uint8{"": 0, "osn": 1, "usn_income": 2, "usn_income_expense": 4, "envd": 8, "esn": 16, "patent": 32}
	o := mkOrder(0, ln("Книга", 1000, 100, 100, 100))
	for sys, mode := range want {
		s := shop()
		s.TaxSystem = sys
		if r := mustBuild(t, o, s, KindSale); r.TaxMode != mode {
			t.Errorf("tax_system %q: TaxMode %d, want %d", sys, r.TaxMode, mode)
		}
	}
	s := shop()
	s.TaxSystem = "usn"
	if _, err := Build(o, s, KindSale, "x"); err == nil || !strings.Contains(err.Error(), `unknown tax system "usn"`) {
		t.Fatalf("err %v", err)
	}
}

func TestBuildSixtyLines(t *testing.T) {
	t.Parallel()
	o := sixtyLines()
	r := mustBuild(t, o, shop(), KindSale)
	if len(r.Lines) < 61 {
		t.Fatalf("%d lines for 60 order lines and delivery", len(r.Lines))
	}
	checkRefund(t, r, mustRefund(t, r))
}

func sixtyLines() insales.Order {
	lines := make([]insales.OrderLine, 60)
	for i := range lines {
		qty := int64(i%7+1) * 1000
		if i%9 == 0 {
			qty = int64(137 + i*11) // weighed goods
		}
		unit := int64(9990 + i*1371)
		total := unit*qty/1000 - int64(i*13%97) // a discount that does not divide
		lines[i] = ln(fmt.Sprintf("Товар №%d «Премиум» — вариант %d", i+1, i%3), qty, unit, unit, total)
		if i%5 == 0 {
			lines[i].VAT = 10
		}
	}
	return mkOrder(34900, lines...)
}

func mustRefund(t testing.TB, r fiscal.Request) fiscal.Request {
	t.Helper()
	ref, err := BuildRefund(r, r.RequestID+"-r")
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func TestBuildLongTitleWithEmoji(t *testing.T) {
	t.Parallel()
	title := "Футболка «Лето» — 100% хлопок 🔥😀 ёжик, café\u00a0crème, Ґудзик… " + strings.Repeat("очень длинное название ", 12)
	if utf8.RuneCountInString(title) < 300 {
		t.Fatalf("title is only %d characters", utf8.RuneCountInString(title))
	}
	r := mustBuild(t, mkOrder(0, ln(title, 1000, 99900, 99900, 99900)), shop(), KindSale)
	d := r.Lines[0].Description
	want := `Футболка "Лето" - 100% хлопок ёжик, cafe creme, Гудзик... очень длинное название`
	if !strings.HasPrefix(d, want) {
		t.Fatalf("description %q, want prefix %q", d, want)
	}
	if n := utf8.RuneCountInString(d); n > MaxDescription || n < MaxDescription-25 {
		t.Fatalf("description is %d characters", n)
	}
}

func TestBuildEmptyTitle(t *testing.T) {
	t.Parallel()
	l := ln("🔥🔥", 1000, 100, 100, 100)
	l.SKU = "SKU-17"
	o := mkOrder(100, l, ln("", 1000, 100, 100, 100))
	o.DeliveryTitle = "🚚"
	r := mustBuild(t, o, shop(), KindSale)
	got := []string{r.Lines[0].Description, r.Lines[1].Description, r.Lines[2].Description}
	if want := []string{"SKU-17", "Товар", "Доставка"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("descriptions %q, want %q", got, want)
	}
}

func TestBuildContact(t *testing.T) {
	t.Parallel()
	o := mkOrder(0, ln("Книга", 1000, 100, 100, 100))
	o.Client.Email = "не указан"
	s := shop()
	if r := mustBuild(t, o, s, KindSale); r.PhoneOrEmail != "+79991234567" {
		t.Fatalf("PhoneOrEmail %q", r.PhoneOrEmail)
	}
	o.Client.Phone = ""
	if r := mustBuild(t, o, s, KindSale); r.PhoneOrEmail != "" || strings.Contains(string(body(t, r)), "PhoneOrEmail") {
		t.Fatalf("PhoneOrEmail %q with nothing usable", r.PhoneOrEmail)
	}
}

func TestBuildTotals(t *testing.T) {
	t.Parallel()
	base := func() insales.Order {
		return mkOrder(30000, ln("Чай", 3000, 33300, 33300, 99900), ln("Мёд", 1000, 45000, 45000, 45000))
	}
	// InSales rounding left total_price a few kopecks off Σ lines + delivery:
	// the difference is spread so the receipt still totals the payment.
	for _, diff := range []int64{1, 3, -2, -MaxSpread, MaxSpread} {
		o := base()
		o.TotalPrice += diff
		r := mustBuild(t, o, shop(), KindSale)
		checkRefund(t, r, mustRefund(t, r))
	}
	for _, diff := range []int64{MaxSpread + 1, -MaxSpread - 1, 10000} {
		o := base()
		o.TotalPrice += diff
		_, err := Build(o, shop(), KindSale, "x")
		if !errors.Is(err, ErrTotalMismatch) {
			t.Fatalf("diff %d: err %v, want ErrTotalMismatch", diff, err)
		}
		if !strings.Contains(err.Error(), "order 10452 (id 123456789)") {
			t.Fatalf("error does not name the order: %v", err)
		}
	}
	// The whole order at one kopeck over a free line and a tiny one.
	o := mkOrder(0, ln("Подарок", 1000, 0, 0, 0), ln("Пакет", 1000, 1, 1, 1))
	o.TotalPrice = 3
	r := mustBuild(t, o, shop(), KindSale)
	if r.Lines[0].Price != 0 {
		t.Fatalf("a free line got %d kopecks of the spread", r.Lines[0].Price)
	}
}

func TestBuildRejects(t *testing.T) {
	t.Parallel()
	good := func() insales.Order { return mkOrder(0, ln("Книга", 1000, 100, 100, 100)) }
	tests := []struct {
		name string
		edit func(*insales.Order)
		want string
	}{
		{"dollars", func(o *insales.Order) { o.CurrencyCode = "USD" }, `in "USD"`},
		{"zero total", func(o *insales.Order) { o.TotalPrice = 0 }, "total_price 0.00"},
		{"no lines", func(o *insales.Order) { o.Lines = nil }, "has no lines"},
		{"negative line", func(o *insales.Order) { o.Lines[0].FullTotalPrice = -100; o.TotalPrice = 100 }, "full_total_price -1.00"},
		{"negative quantity", func(o *insales.Order) { o.Lines[0].Quantity = -1000 }, "quantity -1"},
		{"quantity zero with a price", func(o *insales.Order) { o.Lines[0].Quantity = 0 }, "quantity 0 costs 1.00"},
		{"negative delivery", func(o *insales.Order) { o.FullDeliveryPrice = -5 }, "full_delivery_price -0.05"},
	}
	for _, tc := range tests {
		o := good()
		tc.edit(&o)
		_, err := Build(o, shop(), KindSale, "x")
		if !errors.Is(err, ErrInvalidOrder) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want ErrInvalidOrder with %q", tc.name, err, tc.want)
		}
	}
	for _, kind := range []Kind{KindRefund, KindPrepaymentRefund, "gift"} {
		if _, err := Build(good(), shop(), kind, "x"); err == nil {
			t.Errorf("Build %q: no error", kind)
		}
	}
	for _, id := range []string{"", strings.Repeat("x", 65)} {
		if _, err := Build(good(), shop(), KindSale, id); err == nil {
			t.Errorf("RequestId of %d characters accepted", len(id))
		}
	}
}

func TestBuildPrepaymentAndSettlement(t *testing.T) {
	t.Parallel()
	l := ln("Кофемолка", 3000, 123456, 122221, 366664)
	l.VAT = 10
	o := mkOrder(29700, l, ln("Фильтр", 1000, 9999, 9899, 9899))
	s := shop()
	s.Scheme = SchemePrepayment

	pre := mustBuild(t, o, s, KindPrepayment)
	// An advance is taxed at the calculated rate: 10% → 10/110, 22% → 22/122,
	// and none stays none.
	gotTax := []uint8{pre.Lines[0].TaxID, pre.Lines[2].TaxID, pre.Lines[3].TaxID}
	if want := []uint8{6, 12, 4}; !reflect.DeepEqual(gotTax, want) {
		t.Fatalf("prepayment TaxIds %v, want %v", gotTax, want)
	}
	set := mustBuild(t, o, s, KindSettlement)
	gotTax = []uint8{set.Lines[0].TaxID, set.Lines[2].TaxID, set.Lines[3].TaxID}
	if want := []uint8{2, 11, 4}; !reflect.DeepEqual(gotTax, want) {
		t.Fatalf("settlement TaxIds %v, want %v", gotTax, want)
	}
	if !reflect.DeepEqual(linesQP(pre), linesQP(set)) {
		t.Fatalf("settlement lines %v differ from prepayment %v", linesQP(set), linesQP(pre))
	}
	js := string(body(t, set))
	if !strings.Contains(js, `"AdvancePayment":406263`) || strings.Contains(js, "NonCash") {
		t.Fatalf("settlement payments: %s", js)
	}
	if set.RequestID != "myshop-123456789-settlement" || pre.RequestID != "myshop-123456789-prepayment" {
		t.Fatalf("RequestIds %q %q", pre.RequestID, set.RequestID)
	}
}

func TestBuildFFD12(t *testing.T) {
	t.Parallel()
	cheese := ln("Сыр", 347, 45990, 45990, 15959)
	cheese.Unit = "kgm"
	shoes := ln("Кроссовки", 3000, 333400, 333334, 1000000)
	shoes.RequiresMarking = true
	shoes.MarkingCodes = []string{"010460043993125621JgXJ5.T", "010460043993125621JgXJ5.U", "010460043993125621JgXJ5.V"}
	o := mkOrder(25000, cheese, shoes)
	s := shop()
	s.FFD = FFD12
	s.Place = "https://myshop.ru"

	r := mustBuild(t, o, s, KindSale)
	if r.Place != "https://myshop.ru" {
		t.Fatalf("Place %q", r.Place)
	}
	type got struct {
		qty, price uint64
		unit       uint8
		code       string
	}
	var lines []got
	for _, l := range r.Lines {
		if l.MeasureUnit == nil {
			t.Fatalf("FFD 1.2 line without a measure unit: %+v", l)
		}
		lines = append(lines, got{l.Qty, l.Price, *l.MeasureUnit, l.MarkingCode})
	}
	want := []got{
		{347, 45990, 11, ""},
		{1000, 333333, 0, shoes.MarkingCodes[0]},
		{1000, 333333, 0, shoes.MarkingCodes[1]},
		{1000, 333334, 0, shoes.MarkingCodes[2]},
		{1000, 25000, 0, ""},
	}
	if !reflect.DeepEqual(lines, want) {
		t.Fatalf("lines %+v, want %+v", lines, want)
	}
	if js := string(body(t, r)); !strings.Contains(js, `"Unit":0`) || !strings.Contains(js, `"Unit":11`) {
		t.Fatalf("JSON: %s", js)
	}
	checkRefund(t, r, mustRefund(t, r))

	// An advance carries no marking codes.
	s.Scheme = SchemePrepayment
	pre := mustBuild(t, o, s, KindPrepayment)
	for _, l := range pre.Lines {
		if l.MarkingCode != "" {
			t.Fatalf("prepayment line with a marking code: %+v", l)
		}
	}

	// A marked product without a code for every unit is not printed.
	o.Lines[1].MarkingCodes = o.Lines[1].MarkingCodes[:2]
	if _, err := Build(o, s, KindSettlement, "x"); !errors.Is(err, ErrInvalidOrder) || !strings.Contains(err.Error(), "2 marking codes for quantity 3") {
		t.Fatalf("err %v", err)
	}
	// FFD 1.05 registers get neither units, nor codes, nor Place.
	s.FFD = "1.05"
	r = mustBuild(t, o, s, KindSettlement)
	if js := string(body(t, r)); strings.Contains(js, `"Unit"`) || strings.Contains(js, "MarkingCode") || strings.Contains(js, "Place") {
		t.Fatalf("FFD 1.05 JSON: %s", js)
	}
}

func TestMeasureUnit(t *testing.T) {
	t.Parallel()
	for unit, want := range map[string]uint8{
		"": 0, "pce": 0, "шт.": 0, "kgm": 11, "KG": 11, "кг": 11, "grm": 10, "г": 10, "ltr": 41, "л": 41,
		"mlt": 40, "mtr": 22, "м": 22, "mtk": 32, "mtq": 42, "tne": 12, "hur": 71, "бочка": 255,
	} {
		if got := MeasureUnit(unit); got != want {
			t.Errorf("MeasureUnit(%q) = %d, want %d", unit, got, want)
		}
	}
}

func TestBuildRefund(t *testing.T) {
	t.Parallel()
	s := shop()
	s.FFD = FFD12
	sale := mustBuild(t, sixtyLines(), s, KindSale)
	id := RequestID("myshop", 123456789, KindRefund, 0)
	ref, err := BuildRefund(sale, id)
	if err != nil {
		t.Fatal(err)
	}
	checkRefund(t, sale, ref)
	if ref.RequestID != id {
		t.Fatalf("RequestId %q", ref.RequestID)
	}
	// The refund owns its lines: changing it leaves the sale alone.
	*ref.Lines[0].MeasureUnit = 99
	ref.Lines[1].Price++
	ref.NonCash[0]++
	if *sale.Lines[0].MeasureUnit == 99 || sale.Lines[1].Price == ref.Lines[1].Price || sale.NonCash[0] == ref.NonCash[0] {
		t.Fatal("the refund shares memory with the sale")
	}
	// From the recorded JSON, as the daemon does it.
	var recorded fiscal.Request
	if err := json.Unmarshal(body(t, sale), &recorded); err != nil {
		t.Fatal(err)
	}
	ref2, err := BuildRefund(recorded, id)
	if err != nil {
		t.Fatal(err)
	}
	checkRefund(t, sale, ref2)

	if _, err := BuildRefund(ref2, "other"); err == nil {
		t.Fatal("a refund of a refund was built")
	}
	if _, err := BuildRefund(sale, sale.RequestID); err == nil {
		t.Fatal("a refund with the sale's RequestId was built")
	}
	if _, err := BuildRefund(fiscal.Request{RequestID: "a"}, "b"); err == nil {
		t.Fatal("a refund of nothing was built")
	}
}

func TestTaxIDs(t *testing.T) {
	t.Parallel()
	def := DefaultTaxIDs()
	want := map[string]uint8{"vat22": 11, "vat122": 12, "vat20": 1, "vat120": 5, "vat10": 2, "vat110": 6,
		"vat5": 7, "vat105": 9, "vat7": 8, "vat107": 10, "vat0": 3, "none": 4}
	if !reflect.DeepEqual(def, want) {
		t.Fatalf("defaults %v", def)
	}
	def["vat22"] = 99 // a copy: the next call is unaffected
	got := TaxIDs(map[string]int64{"vat22": 1, "vat18": 2, "vat10": 256, "none": -1})
	if got["vat22"] != 1 || got["vat10"] != 2 || got["none"] != 4 || len(got) != 12 {
		t.Fatalf("TaxIDs with overrides %v", got)
	}
	if !KnownVAT("vat105") || KnownVAT("vat18") || len(VATNames()) != 12 {
		t.Fatal("VAT names")
	}
}
