package status

import (
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/chekd/chekd/store"
)

var update = flag.Bool("update", false, "rewrite the golden page parts in testdata/")

// part cuts the first piece of page from start to the end of end.
func part(t *testing.T, page, start, end string) string {
	t.Helper()
	i := strings.Index(page, start)
	if i < 0 {
		t.Fatalf("page lacks %q", start)
	}
	j := strings.Index(page[i:], end)
	if j < 0 {
		t.Fatalf("page lacks %q after %q", end, start)
	}
	return page[i:i+j+len(end)] + "\n"
}

// TestPageGolden compares parts of the page with testdata/page-*.golden
// (go test -run TestPageGolden -update rewrites them).
func TestPageGolden(t *testing.T) {
	t.Parallel()
	s := startServer(t, newBackend(t), "")
	a := s.get(t, "/", "")
	if a.code != http.StatusOK || a.header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("%d %q", a.code, a.header.Get("Content-Type"))
	}
	if csp := a.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	parts := map[string]string{
		"shop-alpha":  part(t, a.body, `<article class="shop" data-shop="alpha">`, "</article>"),
		"shop-beta":   part(t, a.body, `<article class="shop" data-shop="beta">`, "</article>"),
		"filter":      part(t, a.body, `<form class="filter"`, "</form>"),
		"head":        part(t, a.body, "<thead>", "</thead>"),
		"row-printed": part(t, a.body, `<tr id="r-1"`, "</tr>"),
		"row-refund":  part(t, a.body, `<tr id="r-4"`, "</tr>"),
		"row-failed":  part(t, a.body, `<tr id="r-3"`, "</tr>"),
		"row-pending": part(t, a.body, `<tr id="r-2"`, "</tr>"),
		"row-needs":   part(t, a.body, `<tr id="r-7"`, "</tr>"),
		"row-skipped": part(t, a.body, `<tr id="r-5"`, "</tr>"),
		"row-dry-run": part(t, a.body, `<tr id="r-6"`, "</tr>"),
		"more":        part(t, s.get(t, "/?limit=2&state=printed", "").body, `<p class="more">`, "</p>"),
	}
	for name, got := range parts {
		path := filepath.Join("testdata", "page-"+name+".golden")
		if *update {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -run TestPageGolden -update)", err)
		}
		if got != string(want) {
			t.Errorf("%s differs from %s:\n got:\n%s\nwant:\n%s", name, path, got, want)
		}
	}
	if strings.Contains(a.body, "<script") {
		t.Error("the page has a script")
	}
}

var rowID = regexp.MustCompile(`<tr id="r-(\d+)"`)

func rowIDs(page string) []string {
	out := []string{}
	for _, m := range rowID.FindAllStringSubmatch(page, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestPageFilters(t *testing.T) {
	t.Parallel()
	s := startServer(t, newBackend(t), "")
	tests := []struct {
		query string
		rows  []string
		shows []string
	}{
		{"", []string{"9", "8", "7", "6", "5", "4", "3", "2", "1"}, []string{`<option value="" selected>Все статусы</option>`}},
		{"?state=failed", []string{"3"}, []string{`<option value="failed" selected>Ошибка</option>`, `<a href="/">Сбросить фильтр</a>`}},
		{"?shop=beta", []string{"8", "7", "6", "5"}, []string{`<option value="beta" selected>beta</option>`}},
		{"?order=2005", []string{"9", "8"}, []string{`<input name="order" value="2005"`}},
		{"?order=1001&state=printed&shop=alpha", []string{"4", "1"}, nil},
		{"?order=%3Cb%3E", []string{}, []string{`value="&lt;b&gt;"`, "Чеков нет по этому фильтру."}},
		{"?limit=4", []string{"9", "8", "7", "6"}, []string{`<a href="/?before=6&amp;limit=4">Показать ещё</a>`}},
		{"?limit=4&before=6", []string{"5", "4", "3", "2"}, []string{`<a href="/?before=2&amp;limit=4">Показать ещё</a>`}},
		{"?limit=4&before=2", []string{"1"}, nil},
	}
	for _, tt := range tests {
		a := s.get(t, "/"+tt.query, "")
		if a.code != http.StatusOK {
			t.Errorf("%s: %d", tt.query, a.code)
			continue
		}
		if got := rowIDs(a.body); !reflect.DeepEqual(got, tt.rows) {
			t.Errorf("%s: rows %v, want %v", tt.query, got, tt.rows)
		}
		for _, frag := range tt.shows {
			if !strings.Contains(a.body, frag) {
				t.Errorf("%s: page lacks %s", tt.query, frag)
			}
		}
		if tt.query == "" && strings.Contains(a.body, "Показать ещё") {
			t.Errorf("a next-page link on a whole listing")
		}
	}

	a := s.get(t, "/?state=done", "")
	if a.code != http.StatusBadRequest || !strings.Contains(a.body, `Неверный фильтр: bad query: state &#34;done&#34; is not one of`) {
		t.Errorf("bad filter: %d\n%s", a.code, a.body)
	}
	if !strings.Contains(a.body, `<article class="shop" data-shop="alpha">`) {
		t.Error("the shops are not shown with a bad filter")
	}
}

func TestPageRetry(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	s := startServer(t, b, "")

	a := s.do(t, "POST", "/receipts/3/retry", "", form("back", "state=failed&order=1003&before=7"), nil)
	if a.code != http.StatusSeeOther || a.header.Get("Location") != "/?before=7&order=1003&retried=3&state=failed" {
		t.Fatalf("retry: %d %q %s", a.code, a.header.Get("Location"), a.body)
	}
	if rec, _ := b.db.GetByID(3); rec.State != store.StatePending || rec.Generation != 2 {
		t.Fatalf("receipt 3 after retry: %s gen %d", rec.State, rec.Generation)
	}
	a = s.get(t, "/?order=1003&retried=3", "")
	if !strings.Contains(a.body, `<p class="notice" role="status">Чек 3 поставлен в очередь на повторную печать.</p>`) {
		t.Errorf("no notice:\n%s", a.body)
	}
	row := part(t, a.body, `<tr id="r-3"`, "</tr>")
	if !strings.Contains(row, `<span class="state">Ожидает</span>`) || strings.Contains(row, "Повторить") {
		t.Errorf("row 3 after retry:\n%s", row)
	}

	// Refused: the page with the reason, the filter kept.
	a = s.do(t, "POST", "/receipts/1/retry", "", form("back", "shop=alpha"), nil)
	if a.code != http.StatusConflict || !strings.Contains(a.body, "Повторить не удалось: daemon: this receipt cannot be retried: it is printed") ||
		!strings.Contains(a.body, `<option value="alpha" selected>alpha</option>`) {
		t.Errorf("refused retry: %d\n%s", a.code, a.body)
	}
	if got := rowIDs(a.body); !reflect.DeepEqual(got, []string{"9", "4", "3", "2", "1"}) {
		t.Errorf("rows on the refusal page: %v", got)
	}
	if a := s.do(t, "POST", "/receipts/77/retry", "", form(), nil); a.code != http.StatusNotFound {
		t.Errorf("unknown receipt: %d", a.code)
	}
	// The way back is always this page, whatever the form says.
	for _, back := range []string{"//evil.example/x", "https://evil.example", "state=bogus", "%zz"} {
		a := s.do(t, "POST", "/receipts/7/retry", "", form("back", back), nil)
		if loc := a.header.Get("Location"); a.code != http.StatusSeeOther || !strings.HasPrefix(loc, "/?") || strings.Contains(loc, "evil") {
			t.Errorf("back %q: %d %q", back, a.code, loc)
		}
	}
	if got, want := b.retries(), []uint64{3, 1, 77, 7, 7, 7, 7}; !reflect.DeepEqual(got, want) {
		t.Errorf("backend retries %v, want %v", got, want)
	}
}

func TestFormatRubles(t *testing.T) {
	t.Parallel()
	for k, want := range map[int64]string{
		0: "0,00 ₽", 5: "0,05 ₽", 99: "0,99 ₽", 100: "1,00 ₽", 123456: "1 234,56 ₽",
		100000000: "1 000 000,00 ₽", 99999: "999,99 ₽", -150: "-1,50 ₽",
		-9223372036854775808: "-92 233 720 368 547 758,08 ₽",
	} {
		if got := strings.ReplaceAll(FormatRubles(k), nbsp, " "); got != want {
			t.Errorf("%d: %q, want %q", k, got, want)
		}
	}
	if got := FormatRubles(123456); got != "1\u00a0234,56\u00a0₽" {
		t.Errorf("spaces are not non-breaking: %q", got)
	}
}

func TestWords(t *testing.T) {
	t.Parallel()
	for s, want := range map[store.State]string{
		"printed": "Напечатан", "pending": "Ожидает", "failed": "Ошибка", "skipped": "Пропущен",
		"dry_run": "Пробный", "needs_person": "Требует внимания", "new_state": "new_state",
	} {
		if got := stateWord(s); got != want {
			t.Errorf("state %s: %q", s, got)
		}
	}
	for _, s := range store.States {
		if _, ok := stateWords[s]; !ok {
			t.Errorf("state %s has no word", s)
		}
	}
	for k, want := range map[store.Kind]string{
		"sale": "Продажа", "refund": "Возврат", "prepayment": "Предоплата",
		"settlement": "Полный расчёт", "prepayment_refund": "Возврат предоплаты", "other": "other",
	} {
		if got := KindWord(k); got != want {
			t.Errorf("kind %s: %q", k, got)
		}
	}
}

func TestCheckURL(t *testing.T) {
	t.Parallel()
	qr := "t=20170715T1438&s=1250.00&fn=9999078900004792&i=31&fp=2882396480&n=1"
	if got := checkURL(qr); got != checkBaseURL+qr {
		t.Errorf("checkURL: %q", got)
	}
	for _, bad := range []string{"", `t=1"><script>`, "t=1 2", "javascript:alert(1)//&x=<", strings.Repeat("a", 513)} {
		if got := checkURL(bad); got != "" {
			t.Errorf("checkURL(%q) = %q, want no link", bad, got)
		}
	}
}
