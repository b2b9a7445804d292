package chekonlinetest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chekd/chekd/fiscal"
	"github.com/chekd/chekd/fiscal/chekonlinetest"
)

func sale(id string) fiscal.Request {
	return fiscal.Request{
		Password:     1,
		RequestID:    id,
		DocumentType: fiscal.DocSale,
		Lines: []fiscal.Line{
			{Qty: 2500, Price: 10001, PayAttribute: 4, TaxID: 11, Description: "Булочка с маком №1", LineAttribute: 1},
		},
		NonCash:            []uint64{25003}, // 2.5 × 100.01 = 250.025 → 250.03
		TaxMode:            2,
		PhoneOrEmail:       "+79991234567",
		MaxDocumentsInTurn: 0,
	}
}

type answer struct {
	Status    int
	FromCache bool
	Body      struct {
		RequestID string `json:"RequestId"`
		Response  struct {
			Error         int
			ErrorMessages []string
		}
		FiscalDocNumber uint64
		DocNumber       uint64
		TurnNumber      uint64
		GrandTotal      uint64
		QR              string
	}
	Raw string
}

func post(t *testing.T, url string, v any) answer {
	t.Helper()
	var b []byte
	switch v := v.(type) {
	case []byte:
		b = v
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.Post(url+fiscal.ComplexPath, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{Status: resp.StatusCode, FromCache: resp.Header.Get("X-From-Cache") != "", Raw: string(raw)}
	if resp.StatusCode == 200 {
		if err := json.Unmarshal(raw, &a.Body); err != nil {
			t.Fatalf("answer is not JSON: %v: %s", err, raw)
		}
	}
	return a
}

// plain serves a Handler from a plain httptest server, as a separate process would.
func plain(t *testing.T, opts chekonlinetest.Options) (*chekonlinetest.Handler, string) {
	t.Helper()
	h := chekonlinetest.NewHandler(opts)
	srv := httptest.NewServer(h)
	t.Cleanup(func() { h.Close(); srv.Close() })
	return h, srv.URL
}

func TestValidation(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("ж", 129)
	cases := []struct {
		name   string
		mutate func(*fiscal.Request)
		code   int
	}{
		{"valid", func(*fiscal.Request) {}, 0},
		{"128 characters is fine", func(r *fiscal.Request) { r.Lines[0].Description = long[:128*2] }, 0},
		{"e-mail", func(r *fiscal.Request) { r.PhoneOrEmail = "a@b.ru" }, 0},
		{"no RequestId", func(r *fiscal.Request) { r.RequestID = "" }, 51},
		{"wrong password", func(r *fiscal.Request) { r.Password = 2 }, 79},
		{"DocumentType 4", func(r *fiscal.Request) { r.DocumentType = 4 }, 51},
		{"no lines", func(r *fiscal.Request) { r.Lines = nil }, 51},
		{"Qty 0", func(r *fiscal.Request) { r.Lines[0].Qty = 0 }, 51},
		{"PayAttribute 0", func(r *fiscal.Request) { r.Lines[0].PayAttribute = 0 }, 51},
		{"PayAttribute 8", func(r *fiscal.Request) { r.Lines[0].PayAttribute = 8 }, 51},
		{"TaxId 0", func(r *fiscal.Request) { r.Lines[0].TaxID = 0 }, 51},
		{"TaxId 13", func(r *fiscal.Request) { r.Lines[0].TaxID = 13 }, 51},
		{"TaxMode two bits", func(r *fiscal.Request) { r.TaxMode = 3 }, 51},
		{"TaxMode 64", func(r *fiscal.Request) { r.TaxMode = 64 }, 51},
		{"empty description", func(r *fiscal.Request) { r.Lines[0].Description = " " }, 51},
		{"129 characters", func(r *fiscal.Request) { r.Lines[0].Description = long }, 51},
		{"not CP866", func(r *fiscal.Request) { r.Lines[0].Description = "Кофе €" }, 51},
		{"bad phone", func(r *fiscal.Request) { r.PhoneOrEmail = "+7999" }, 51},
		{"bad contact", func(r *fiscal.Request) { r.PhoneOrEmail = "buyer" }, 51},
		{"four NonCash", func(r *fiscal.Request) { r.NonCash = []uint64{25000, 3, 0, 0} }, 51},
		{"payments short", func(r *fiscal.Request) { r.NonCash = []uint64{25002} }, 69},
		{"payments over", func(r *fiscal.Request) { r.NonCash = []uint64{25004} }, 77},
		{"advance counts", func(r *fiscal.Request) { r.NonCash = []uint64{3}; r.AdvancePayment = 25000 }, 0},
		{"overflow", func(r *fiscal.Request) { r.Lines[0].Price = 1 << 62; r.Lines[0].Qty = 1 << 20 }, 51},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, url := plain(t, chekonlinetest.Options{})
			r := sale("v/1")
			tc.mutate(&r)
			a := post(t, url, r)
			if a.Status != 200 || a.Body.Response.Error != tc.code {
				t.Fatalf("status %d error %d, want 200 and %d: %s", a.Status, a.Body.Response.Error, tc.code, a.Raw)
			}
			wantPrinted := 0
			if tc.code == 0 {
				wantPrinted = 1
			} else if len(a.Body.Response.ErrorMessages) == 0 {
				t.Fatal("no error message")
			}
			if n := len(h.Ledger()); n != wantPrinted {
				t.Fatalf("printed %d", n)
			}
			// Permanent errors are cached like printed documents; 79 is not.
			again := post(t, url, r)
			wantCached := tc.code != 79 && r.RequestID != ""
			if again.FromCache != wantCached || again.Raw != a.Raw {
				t.Fatalf("repeat: from cache %v, same answer %v", again.FromCache, again.Raw == a.Raw)
			}
		})
	}
}

func TestAnswerAndCacheKey(t *testing.T) {
	t.Parallel()
	h, url := plain(t, chekonlinetest.Options{})
	r := sale("k/1")
	a := post(t, url, r)
	if a.Body.Response.Error != 0 || a.Body.GrandTotal != 25003 || a.Body.RequestID != "k/1" ||
		!strings.Contains(a.Body.QR, "&s=250.03&") || a.FromCache {
		t.Fatalf("answer %s", a.Raw)
	}
	// Another ClientId or Group is another document.
	r.ClientID = "shop-2"
	if b := post(t, url, r); b.FromCache || b.Body.FiscalDocNumber <= a.Body.FiscalDocNumber {
		t.Fatalf("other ClientId: %s", b.Raw)
	}
	r.Group = "g"
	if b := post(t, url, r); b.FromCache {
		t.Fatalf("other Group: %s", b.Raw)
	}
	// Same key, different body: the cached answer, and the conflict is counted.
	r.Lines[0].Description = "Другое"
	if b := post(t, url, r); !b.FromCache {
		t.Fatalf("same key: %s", b.Raw)
	}
	st := h.Stats()
	if st.Printed != 3 || st.CacheHits != 1 || st.Conflicts != 1 || st.Complex != 4 {
		t.Fatalf("stats %+v", st)
	}
}

func TestShifts(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	h, url := plain(t, chekonlinetest.Options{Now: clock})
	for i, id := range []string{"a", "b", "c", "d", "e"} {
		r := sale(id)
		r.MaxDocumentsInTurn = 2
		if i == 4 {
			r.MaxDocumentsInTurn = 0
			mu.Lock()
			now = now.Add(86000 * time.Second) // no shift is open: "e" opens shift 3
			mu.Unlock()
		}
		if a := post(t, url, r); a.Body.Response.Error != 0 {
			t.Fatal(a.Raw)
		}
	}
	r := sale("f")
	mu.Lock()
	now = now.Add(86000 * time.Second) // shift 3 has lasted 86 000 s: "f" is in shift 4
	mu.Unlock()
	post(t, url, r)

	type sd struct{ shift, doc uint64 }
	var got []sd
	var lastFD uint64
	for _, d := range h.Ledger() {
		if d.FiscalDocNumber <= lastFD {
			t.Fatalf("ФД numbers do not increase: %d after %d", d.FiscalDocNumber, lastFD)
		}
		lastFD = d.FiscalDocNumber
		got = append(got, sd{d.Shift, d.DocNumber})
	}
	want := []sd{{1, 1}, {1, 2}, {2, 1}, {2, 2}, {3, 1}, {4, 1}}
	if len(got) != len(want) {
		t.Fatalf("ledger %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("shift/doc %v, want %v", got, want)
		}
	}
}

func TestHTTPSurface(t *testing.T) {
	t.Parallel()
	h, url := plain(t, chekonlinetest.Options{})
	resp, err := http.Get(url + fiscal.ComplexPath)
	if err != nil {
		t.Fatal(err)
	}
	desc, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(desc), "Complex") {
		t.Fatalf("GET: %d %s", resp.StatusCode, desc)
	}
	for _, tc := range []struct {
		method, path, ctype, body string
		status                    int
	}{
		{"POST", "/fr/api/v2/Other", "application/json", "{}", 404},
		{"PUT", fiscal.ComplexPath, "application/json", "{}", 405},
		{"POST", fiscal.ComplexPath, "text/plain", "{}", 415},
		{"POST", fiscal.ComplexPath, "application/json", "{", 400},
	} {
		req, _ := http.NewRequest(tc.method, url+tc.path, strings.NewReader(tc.body))
		req.Header.Set("Content-Type", tc.ctype)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Fatalf("%s %s %s: %d, want %d", tc.method, tc.path, tc.ctype, resp.StatusCode, tc.status)
		}
	}
	if st := h.Stats(); st.Checks != 1 || st.Printed != 0 || st.Requests != 5 {
		t.Fatalf("stats %+v", st)
	}
}

func TestFaultsOrderAndCache(t *testing.T) {
	t.Parallel()
	h, url := plain(t, chekonlinetest.Options{})
	h.Inject(chekonlinetest.FCE(19), chekonlinetest.HTTP502(), chekonlinetest.RegisterError(51), chekonlinetest.RegisterError(17))
	if h.Pending() != 4 {
		t.Fatal(h.Pending())
	}
	r := sale("f/1")
	if a := post(t, url, r); a.Status != 500 || !strings.Contains(a.Raw, `"FCEError":19`) || !strings.Contains(a.Raw, `"Fatal":true`) {
		t.Fatalf("FCE: %d %s", a.Status, a.Raw)
	}
	if a := post(t, url, r); a.Status != 502 || a.Raw != "" {
		t.Fatalf("502: %d %q", a.Status, a.Raw)
	}
	if a := post(t, url, r); a.Body.Response.Error != 51 {
		t.Fatalf("51: %s", a.Raw)
	}
	// 51 is permanent: it is cached, so the queued 17 meets the cached answer.
	if a := post(t, url, r); a.Body.Response.Error != 51 || !a.FromCache {
		t.Fatalf("after 51: %s", a.Raw)
	}
	r2 := sale("f/2")
	h.Inject(chekonlinetest.RegisterError(17))
	if a := post(t, url, r2); a.Body.Response.Error != 17 {
		t.Fatalf("17: %s", a.Raw)
	}
	if a := post(t, url, r2); a.Body.Response.Error != 0 || a.FromCache {
		t.Fatalf("17 is not cached: %s", a.Raw)
	}
	if st := h.Stats(); st.Printed != 1 || st.Faults != 5 || h.Pending() != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// BenchmarkPrint measures one printed receipt through the plain handler.
func BenchmarkPrint(b *testing.B) {
	h := chekonlinetest.NewHandler(chekonlinetest.Options{})
	for i := 0; b.Loop(); i++ {
		body, _ := json.Marshal(sale(fmt.Sprintf("bench/%d", i)))
		req := httptest.NewRequest("POST", fiscal.ComplexPath, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Body.String())
		}
	}
}

// FuzzHandler posts arbitrary bodies: the fake never panics, and whatever it
// prints obeys the rules it enforces (Σ lines == Σ payments, sane lines).
func FuzzHandler(f *testing.F) {
	ok, _ := json.Marshal(sale("fz/1"))
	f.Add(ok)
	f.Add([]byte(`{"RequestId":"1","Password":1,"Lines":[{"Qty":1,"Price":1,"PayAttribute":4,"TaxId":1,"Description":"x"}],"Cash":0,"NonCash":[1]}`))
	f.Add([]byte(`{"RequestId":"1","Password":1,"Lines":[{"Qty":18446744073709551615,"Price":18446744073709551615}]}`))
	f.Add([]byte(`{"RequestId":1}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		h := chekonlinetest.NewHandler(chekonlinetest.Options{})
		defer h.Close()
		req := httptest.NewRequest("POST", fiscal.ComplexPath, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 && w.Code != 400 {
			t.Fatalf("status %d", w.Code)
		}
		for _, d := range h.Ledger() {
			var paid uint64
			for _, v := range d.NonCash {
				paid += v
			}
			if d.Total != paid+d.AdvancePayment && !bytes.Contains(body, []byte("Cash")) {
				t.Fatalf("printed a document whose payments %d+%d differ from its total %d", paid, d.AdvancePayment, d.Total)
			}
			for _, l := range d.Lines {
				if l.Qty == 0 || l.PayAttribute < 1 || l.PayAttribute > 7 || l.TaxID < 1 || l.TaxID > 12 {
					t.Fatalf("printed a bad line %+v", l)
				}
			}
		}
	})
}
