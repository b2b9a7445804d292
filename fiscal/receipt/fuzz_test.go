package receipt

import (
	"errors"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/chekd/chekd/insales"
)

// gen draws values from fuzz bytes and, past their end, from a generator
// seeded by them, so that short inputs still make full orders.
type gen struct {
	b       []byte
	i       int
	rest    *rand.Rand
	palette []rune
}

func newGen(b []byte) *gen {
	var seed uint64 = 0x9e3779b97f4a7c15
	for _, c := range b {
		seed = (seed ^ uint64(c)) * 0x100000001b3
	}
	return &gen{b: b, rest: rand.New(rand.NewPCG(seed, uint64(len(b)))), palette: []rune(palette)}
}

func (g *gen) byte() byte {
	if g.i >= len(g.b) {
		return byte(g.rest.UintN(256))
	}
	c := g.b[g.i]
	g.i++
	return c
}

// n is a number in [0, max).
func (g *gen) n(max int64) int64 {
	v := uint64(0)
	for range 4 {
		v = v<<8 | uint64(g.byte())
	}
	return int64(v % uint64(max))
}

// palette mixes what shop titles contain: Cyrillic, Latin, digits, quotes,
// dashes, emoji, combining marks, controls, odd spaces.
const palette = ("абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВЁЖЯ abcXYZ 0123456789 .,;:!?%№()\"'«»“”„—–-…" +
	"éüçñ Ґґ Іі Єє Ўў ²½ ™®© ₽€ 🔥😀🎁👍🏻 \u0301\u200b\u200d\ufe0f\u00a0\t\n\x00\x7f")

func (g *gen) text(max int64) string {
	n := g.n(max + 1)
	var b strings.Builder
	for range n {
		b.WriteRune(g.palette[g.n(int64(len(g.palette)))])
	}
	return b.String()
}

// randomOrder makes a real-shaped order from fuzz bytes: mostly consistent
// totals, sometimes a few kopecks off, rarely far off.
func randomOrder(g *gen) insales.Order {
	nLines := 1 + g.n(8)
	if g.n(8) == 0 {
		nLines = 1 + g.n(70)
	}
	vats := []int{insales.NoVAT, 0, 5, 7, 10, 18, 20, 22}
	units := []string{"pce", "kgm", "grm", "ltr", "", "бочка"}
	o := insales.Order{
		ID:                1 + g.n(1<<40),
		Number:            "1001",
		FulfillmentStatus: "delivered",
		FinancialStatus:   "paid",
		PaymentGatewayID:  4211,
		CurrencyCode:      []string{"RUR", "RUR", "RUR", "RUR", "RUR", "RUB", "RUB", "", "", "", "", "USD"}[g.n(12)],
		DeliveryTitle:     g.text(40),
		Client:            insales.Buyer{Email: []string{"buyer@example.ru", "", "bad@"}[g.n(3)], Phone: g.text(16)},
	}
	marked := g.n(5) == 0 // an order with marked goods, some perhaps without codes
	var sum int64
	for i := range nLines {
		title := g.text(60)
		if g.n(10) == 0 {
			title = g.text(300)
		}
		l := insales.OrderLine{ID: i + 1, Title: title, SKU: g.text(5), VAT: vats[g.n(int64(len(vats)))], Unit: units[g.n(int64(len(units)))]}
		switch g.n(4) {
		case 0: // weighed goods
			l.Quantity = 1 + g.n(5000)
		default:
			l.Quantity = (1 + g.n(20)) * 1000
		}
		unit := g.n(10_000_000)
		exact := unit * l.Quantity / 1000
		switch g.n(5) {
		case 0:
			l.FullTotalPrice = 0
		case 1:
			l.FullTotalPrice = g.n(100_000_000)
		default:
			l.FullTotalPrice = exact - g.n(exact/10+1) // a discount that need not divide
		}
		l.FullSalePrice = unit
		if g.n(3) == 0 {
			l.FullSalePrice = l.FullTotalPrice * 1000 / l.Quantity
		}
		if marked && g.n(4) == 0 {
			l.RequiresMarking = g.n(2) == 0
			if l.Quantity%1000 == 0 && g.n(3) != 0 {
				for c := range l.Quantity / 1000 {
					l.MarkingCodes = append(l.MarkingCodes, "010460043993125621code"+string(rune('A'+c%26)))
				}
			}
		}
		if g.n(6) == 0 {
			l.FiscalProductType = int(g.n(15))
		}
		sum += l.FullTotalPrice
		o.Lines = append(o.Lines, l)
	}
	if g.n(2) == 0 {
		o.FullDeliveryPrice = g.n(100_000)
	}
	o.ItemsPrice = sum
	o.TotalPrice = sum + o.FullDeliveryPrice
	switch g.n(6) {
	case 0:
		o.TotalPrice += g.n(2*MaxSpread+1) - MaxSpread
	case 1:
		o.TotalPrice += g.n(1_000_000) - 500_000
	}
	return o
}

func randomSettings(g *gen) Settings {
	s := shop()
	if g.n(2) == 0 {
		s.FFD = FFD12
		s.Place = "https://myshop.ru"
	}
	if g.n(3) == 0 {
		s.VATDelivery = ""
	}
	s.Contact = ContactModes()[g.n(int64(len(ContactModes())))]
	if g.n(2) == 0 {
		s.Scheme = SchemePrepayment
	}
	return s
}

// checkOrder builds every receipt kind of a random order and checks every
// invariant: exact totals, sane lines, refunds equal to their receipts.
// It returns how many receipts were built and how many Build refused.
func checkOrder(t *testing.T, data []byte) (built, refused int) {
	g := newGen(data)
	o := randomOrder(g)
	s := randomSettings(g)
	for _, kind := range []Kind{KindSale, KindPrepayment, KindSettlement} {
		r, err := Build(o, s, kind, RequestID(s.ShopName, o.ID, kind, 0))
		if err != nil {
			if !errors.Is(err, ErrTotalMismatch) && !errors.Is(err, ErrInvalidOrder) {
				t.Fatalf("Build %s: unexpected error %v", kind, err)
			}
			refused++
			continue
		}
		built++
		checkReceipt(t, r, kind, o.TotalPrice)
		for _, l := range r.Lines {
			if (l.MeasureUnit != nil) != (s.FFD == FFD12) || (l.MarkingCode != "" && (s.FFD != FFD12 || kind == KindPrepayment)) {
				t.Fatalf("FFD %q %s line %+v", s.FFD, kind, l)
			}
		}
		ref, err := BuildRefund(decodeBody(t, body(t, r)), RequestID(s.ShopName, o.ID, KindRefund, 0))
		if err != nil {
			t.Fatal(err)
		}
		checkRefund(t, r, ref)
	}
	// Decide never panics and settles once its actions are recorded.
	var recorded []Recorded
	for _, st := range []string{"new", "accepted", "delivered", "returned", "delivered"} {
		o.FulfillmentStatus = st
		for range 3 {
			acts := Decide(o, s, recorded)
			if len(acts) == 0 {
				break
			}
			for _, a := range acts {
				switch a.Op {
				case OpPrint:
					var err error
					r := Recorded{Kind: a.Kind, State: StatePrinted}
					if a.Kind.IsRefund() {
						ref, e := RefundFor(recorded, a, "r")
						r.Body, err = body(t, ref), e
					} else {
						req, e := Build(o, s, a.Kind, "s")
						r.Body, err = body(t, req), e
					}
					if err != nil {
						r = Recorded{Kind: a.Kind, State: StateNeedsPerson, Reason: err.Error()}
					}
					recorded = append(recorded, r)
				case OpSkip, OpNeedsPerson:
					recorded = append(recorded, Recorded{Kind: a.Kind, State: reportState(a.Op), Reason: a.Reason})
				default:
					t.Fatalf("action %+v", a)
				}
			}
		}
	}
	printed := map[Kind]int{}
	for _, r := range recorded {
		if r.State == StatePrinted {
			printed[r.Kind]++
		}
	}
	for k, n := range printed {
		if n > 1 {
			t.Fatalf("%d %s receipts printed: %+v", n, k, recorded)
		}
	}
	if printed[KindSale]+printed[KindSettlement] > 1 || printed[KindRefund]+printed[KindPrepaymentRefund] > 1 {
		t.Fatalf("more than one final receipt or refund: %+v", printed)
	}
	return built, refused
}

func FuzzBuild(f *testing.F) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 8 {
		b := make([]byte, 600)
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte("\x00\x00\x00\x05\x00\x00\x00\x01"))
	f.Fuzz(func(t *testing.T, data []byte) { checkOrder(t, data) })
}

// TestBuildProperties runs the fuzz property over many random orders in
// every ordinary test run.
func TestBuildProperties(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 11))
	n := 2000
	if testing.Short() {
		n = 300
	}
	var built, refused int
	for range n {
		b := make([]byte, 400+rng.IntN(3000))
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		bu, re := checkOrder(t, b)
		built += bu
		refused += re
	}
	// The generator must mostly make printable orders, or the property
	// proves little.
	if built < 2*refused {
		t.Fatalf("%d receipts built, %d refused", built, refused)
	}
	t.Logf("%d receipts built, %d refused", built, refused)
}

func FuzzText(f *testing.F) {
	phoneRe := regexp.MustCompile(`^\+7[3489][0-9]{9}$`)
	for _, s := range []string{"Ёлочная игрушка «Шар» — 10 см", "🔥", "8 (999) 123-45-67", "+7 999 123 45 67", "buyer@example.ru",
		"a\x00b", "\xff\xfe", strings.Repeat("ж…", 100), "Crème ﬁ ½ ²"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, max := range []int{1, 5, MaxDescription} {
			c := CleanText(s, max)
			if utf8.RuneCountInString(c) > max || !Encodable(c) || strings.TrimSpace(c) != c || strings.Contains(c, "  ") {
				t.Fatalf("CleanText(%q, %d) = %q", s, max, c)
			}
			if CleanText(c, max) != c {
				t.Fatalf("CleanText is not stable on %q", c)
			}
		}
		if d := Description(s, s); d == "" || utf8.RuneCountInString(d) > MaxDescription || !Encodable(d) {
			t.Fatalf("Description(%q) = %q", s, d)
		}
		if p, ok := NormalizePhone(s); ok {
			if !phoneRe.MatchString(p) {
				t.Fatalf("NormalizePhone(%q) = %q", s, p)
			}
			if again, ok := NormalizePhone(p); !ok || again != p {
				t.Fatalf("NormalizePhone(%q) = %q, not stable", p, again)
			}
		} else if p != "" {
			t.Fatalf("NormalizePhone(%q) = %q with false", s, p)
		}
		if ValidEmail(s) && (len(s) > 64 || strings.Count(s, "@") != 1 || !Encodable(s) || strings.ContainsAny(s, " <>\"")) {
			t.Fatalf("ValidEmail(%q) = true", s)
		}
		o := insales.Order{Client: insales.Buyer{Email: s, Phone: s}}
		for _, mode := range ContactModes() {
			if c := Contact(o, mode); c != "" && !ValidEmail(c) && !phoneRe.MatchString(c) {
				t.Fatalf("Contact(%q, %s) = %q", s, mode, c)
			}
		}
		if u := MeasureUnit(s); u > 73 && u != 255 {
			t.Fatalf("MeasureUnit(%q) = %d", s, u)
		}
	})
}

func BenchmarkBuild60Lines(b *testing.B) {
	o := sixtyLines()
	s := shop()
	s.FFD = FFD12
	id := RequestID(s.ShopName, o.ID, KindSale, 0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Build(o, s, KindSale, id); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecide(b *testing.B) {
	o := sixtyLines()
	s := prepaymentShop()
	pre, err := Build(o, s, KindPrepayment, "p")
	if err != nil {
		b.Fatal(err)
	}
	recorded := []Recorded{{Kind: KindPrepayment, State: StatePrinted, Body: body(b, pre)}}
	b.ReportAllocs()
	for b.Loop() {
		if a := Decide(o, s, recorded); len(a) != 1 || a[0].Kind != KindSettlement {
			b.Fatalf("actions %+v", a)
		}
	}
}
