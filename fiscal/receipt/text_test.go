package receipt

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/chekd/chekd/insales"
)

func TestCleanText(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"Ёлочная игрушка «Шар» — 10 см", `Ёлочная игрушка "Шар" - 10 см`},
		{"Футболка 🔥 красная", "Футболка красная"},
		{"  Чай\tзелёный\n\r 100 г  ", "Чай зелёный 100 г"},
		{"Crème brûlée №5", "Creme brulee №5"},
		{"‘Quoted’ “double” „low“ 1–2 …", `'Quoted' "double" "low" 1-2 ...`},
		{"Кава «Ґрінка» і чай", `Кава "Грiнка" i чай`}, // і → Latin i: CP866 has no і
		{"Таблетки ½ шт ±5%", "Таблетки 1/2 шт +/-5%"},
		{"ﬁlter Ｆｕｌｌ", "filter Full"},
		{"Кабель 2×1.5 мм², 20 °C", "Кабель 2x1.5 мм2, 20 °C"},
		{"🎁🎉", ""},
		{"a\x00b\u200bc\ufe0fd", "a bcd"},
		{"bad \xff\xfe utf8", "bad utf8"},
		{"Сумка ™ ® © 500 ₽ 5 €", "Сумка TM (R) (c) 500 руб. 5 EUR"},
	}
	for _, tc := range tests {
		got := CleanText(tc.in, MaxDescription)
		if got != tc.want {
			t.Errorf("CleanText(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if !Encodable(got) {
			t.Errorf("CleanText(%q) = %q is not CP866", tc.in, got)
		}
	}
	if Encodable("«Шар»") || Encodable("a\nb") || !Encodable("Ёж №1 5° Єє Її Ўў") || Encodable("±") || Encodable("\xff") {
		t.Fatal("Encodable")
	}
}

func TestCleanTextCut(t *testing.T) {
	t.Parallel()
	// Cut on characters, never bytes; a replacement longer than the room left
	// stops the text rather than half-printing it; no trailing space.
	s := strings.Repeat("ж", 127) + "…"
	if got := CleanText(s, MaxDescription); got != strings.Repeat("ж", 127) {
		t.Fatalf("got %d characters %q", utf8.RuneCountInString(got), got)
	}
	s = strings.Repeat("я", 127) + " хвост"
	if got := CleanText(s, MaxDescription); got != strings.Repeat("я", 127) {
		t.Fatalf("trailing space kept: %q", got)
	}
	s = strings.Repeat("ёё 🔥", 200)
	got := CleanText(s, MaxDescription)
	if n := utf8.RuneCountInString(got); n != MaxDescription && n != MaxDescription-1 {
		t.Fatalf("%d characters", n)
	}
	if Description("🔥", "") != "Товар" || Description("", "Доставка") != "Доставка" {
		t.Fatal("Description fallback")
	}
}

func TestNormalizePhone(t *testing.T) {
	t.Parallel()
	good := map[string]string{
		"8 (999) 123-45-67":  "+79991234567",
		"+7 999 123 45 67":   "+79991234567",
		"79991234567":        "+79991234567",
		"89991234567":        "+79991234567",
		"+7(999)123-45-67":   "+79991234567",
		"999 123-45-67":      "+79991234567",
		" 8-495-123-45-67 ":  "+74951234567",
		"7.999.123.45.67":    "+79991234567",
		"+7 (812) 555-00-11": "+78125550011",
	}
	for in, want := range good {
		if got, ok := NormalizePhone(in); !ok || got != want {
			t.Errorf("NormalizePhone(%q) = %q %v, want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "123", "+1 415 555 2671", "+8 999 123 45 67", "8 999 123 45 67 доб. 12",
		"8 (999) 123-45-6", "812 555-00-11", "8 (999) 123-45-678", "+375 29 123 45 67", "1234567890", "phone", "++79991234567", "79991234567+"} {
		if got, ok := NormalizePhone(in); ok {
			t.Errorf("NormalizePhone(%q) = %q, want no phone", in, got)
		}
	}
}

func TestValidEmail(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"buyer@example.ru", "a.b+tag@mail.co.uk", "x_y-z@sub-domain.example.com", "o'neil@example.org", "a@xn--p1ai.xn--p1ai"} {
		if !ValidEmail(s) {
			t.Errorf("ValidEmail(%q) = false", s)
		}
	}
	for _, s := range []string{"", "buyer", "@example.ru", "buyer@", "buyer@example", "buyer@@example.ru", "a b@example.ru",
		"Анна <anna@example.ru>", "анна@пример.рф", "a..b@example.ru", ".a@example.ru", "a@-example.ru", "a@example.r",
		"a@example..ru", strings.Repeat("a", 60) + "@example.ru", "a@example.r1"} {
		if ValidEmail(s) {
			t.Errorf("ValidEmail(%q) = true", s)
		}
	}
}

func TestContact(t *testing.T) {
	t.Parallel()
	both := insales.Order{Client: insales.Buyer{Email: " buyer@example.ru ", Phone: "8 (999) 123-45-67"}}
	onlyPhone := insales.Order{Client: insales.Buyer{Email: "нет", Phone: "+7 999 123 45 67"}}
	onlyEmail := insales.Order{Client: insales.Buyer{Email: "buyer@example.ru", Phone: "123"}}
	none := insales.Order{Client: insales.Buyer{Email: "-", Phone: "-"}}
	tests := []struct {
		o    insales.Order
		mode string
		want string
	}{
		{both, ContactEmailThenPhone, "buyer@example.ru"},
		{both, "", "buyer@example.ru"},
		{both, ContactPhoneThenEmail, "+79991234567"},
		{both, ContactEmail, "buyer@example.ru"},
		{both, ContactPhone, "+79991234567"},
		{both, ContactNone, ""},
		{both, "fax", ""},
		{onlyPhone, ContactEmailThenPhone, "+79991234567"},
		{onlyPhone, ContactEmail, ""},
		{onlyEmail, ContactPhoneThenEmail, "buyer@example.ru"},
		{onlyEmail, ContactPhone, ""},
		{none, ContactEmailThenPhone, ""},
		{none, ContactPhoneThenEmail, ""},
	}
	for _, tc := range tests {
		if got := Contact(tc.o, tc.mode); got != tc.want {
			t.Errorf("Contact(%+v, %q) = %q, want %q", tc.o.Client, tc.mode, got, tc.want)
		}
	}
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	if got := RequestID("myshop", 123456789, KindSale, 0); got != "myshop-123456789-sale" {
		t.Fatalf("got %q", got)
	}
	if got := RequestID("myshop", 123456789, KindSale, 2); got != "myshop-123456789-sale-2" {
		t.Fatalf("got %q", got)
	}
	if RequestID("myshop", 1, KindSale, -3) != RequestID("myshop", 1, KindSale, 1) || RequestID("myshop", 1, KindSale, 0) != RequestID("myshop", 1, KindSale, 1) {
		t.Fatal("generations below 1 are not the first")
	}
	readable := regexp.MustCompile(`^my-shop-[0-9a-f]{6}-42-prepayment_refund-2$`)
	if got := RequestID("My Shop", 42, KindPrepaymentRefund, 2); !readable.MatchString(got) {
		t.Fatalf("got %q", got)
	}
	type in struct {
		shop string
		id   int64
		kind Kind
		gen  int
	}
	seen := map[string]in{}
	shops := []string{"myshop", "MyShop", "My Shop", "my shop", "Мой магазин", "Твой магазин", "", "a", strings.Repeat("long-name", 20)}
	for _, sh := range shops {
		for _, id := range []int64{1, 12, 123456789, 9223372036854775807} {
			for _, k := range Kinds() {
				for _, g := range []int{1, 2, 10, 1 << 40} {
					got := RequestID(sh, id, k, g)
					if len(got) > MaxRequestID || got == "" || !Encodable(got) || strings.ContainsAny(got, " \"\\") {
						t.Fatalf("RequestID(%q,%d,%s,%d) = %q", sh, id, k, g, got)
					}
					if got != RequestID(sh, id, k, g) {
						t.Fatal("not deterministic")
					}
					this := in{sh, id, k, g}
					if prev, dup := seen[got]; dup && prev != this {
						t.Fatalf("RequestID %q for both %+v and %+v", got, prev, this)
					}
					seen[got] = this
				}
			}
		}
	}
}
