package insalestest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chekd/chekd/insales"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

type raw struct {
	t   *testing.T
	srv *httptest.Server
	h   *Handler
}

func newRaw(t *testing.T, opts Options) (*raw, *Clock) {
	t.Helper()
	clk := NewClock(t0)
	if opts.Clock == nil {
		opts.Clock = clk
	}
	h := NewHandler(opts)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &raw{t: t, srv: srv, h: h}, clk
}

// do sends a request with the fake's credentials (unless user is given).
func (r *raw) do(method, target, contentType, body string, user ...string) (*http.Response, string) {
	r.t.Helper()
	req, err := http.NewRequest(method, r.srv.URL+target, strings.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	login, pass := r.h.APIKey(), r.h.Password()
	if len(user) == 2 {
		login, pass = user[0], user[1]
	}
	req.SetBasicAuth(login, pass)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := r.srv.Client().Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, string(data)
}

type listed struct {
	ID        int64  `json:"id"`
	UpdatedAt string `json:"updated_at"`
}

func (r *raw) list(query url.Values) []listed {
	r.t.Helper()
	resp, body := r.do("GET", "/admin/orders.json?"+query.Encode(), "", "")
	if resp.StatusCode != 200 {
		r.t.Fatalf("list: HTTP %d %s", resp.StatusCode, body)
	}
	var out []listed
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		r.t.Fatal(err)
	}
	return out
}

func ids(l []listed) []int64 {
	out := make([]int64, len(l))
	for i, o := range l {
		out[i] = o.ID
	}
	return out
}

func TestOrderListSemantics(t *testing.T) {
	t.Parallel()
	r, clk := newRaw(t, Options{WholeSeconds: true, MaxPerPage: 3})
	var a []insales.Order
	for i := 0; i < 3; i++ {
		a = append(a, r.h.AddOrder(insales.Order{}))
	}
	clk.Advance(1500 * time.Millisecond)
	b := r.h.AddOrder(insales.Order{})
	if a[0].UpdatedAt.Raw != "2026-03-02T13:00:00.000+03:00" || b.UpdatedAt.Raw != "2026-03-02T13:00:01.000+03:00" {
		t.Fatalf("timestamps %s, %s", a[0].UpdatedAt.Raw, b.UpdatedAt.Raw)
	}
	T := a[0].UpdatedAt.Raw
	// Inclusive updated_since, sorted by (updated_at, id), clamped per_page.
	got := ids(r.list(url.Values{"updated_since": {T}, "per_page": {"100"}}))
	if len(got) != 3 || got[0] != a[0].ID || got[2] != a[2].ID {
		t.Errorf("inclusive list = %v", got)
	}
	// from_id drops records at T with id <= from_id only.
	got = ids(r.list(url.Values{"updated_since": {T}, "from_id": {itoa(a[1].ID)}, "per_page": {"3"}}))
	if len(got) != 2 || got[0] != a[2].ID || got[1] != b.ID {
		t.Errorf("from_id list = %v", got)
	}
	// Ignored from_id repeats.
	r.h.IgnoreFromID(true)
	got = ids(r.list(url.Values{"updated_since": {T}, "from_id": {itoa(a[1].ID)}, "per_page": {"2"}}))
	if len(got) != 2 || got[0] != a[0].ID {
		t.Errorf("ignored from_id list = %v", got)
	}
	r.h.IgnoreFromID(false)
	// A change moves an order to the end.
	clk.Advance(time.Second)
	if err := r.h.SetStatus(a[0].ID, "delivered"); err != nil {
		t.Fatal(err)
	}
	got = ids(r.list(url.Values{"updated_since": {b.UpdatedAt.Raw}}))
	if len(got) != 2 || got[0] != b.ID || got[1] != a[0].ID {
		t.Errorf("after change = %v", got)
	}
	// An unencoded "+" arrives as a space: 400.
	resp, _ := r.do("GET", "/admin/orders.json?updated_since=2026-03-02T13:00:00.000+03:00", "", "")
	if resp.StatusCode != 400 {
		t.Errorf("unencoded +: HTTP %d", resp.StatusCode)
	}
	if n := r.h.Requests("GET /admin/orders.json"); n != 5 {
		t.Errorf("counted %d list requests", n)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestOrderJSONLooksLikeInSales(t *testing.T) {
	t.Parallel()
	r, _ := newRaw(t, Options{})
	o := r.h.AddOrder(insales.Order{
		TotalPrice: 1247400, ItemsPrice: 6059,
		Client: insales.Buyer{Email: "a@example.com"},
		Lines:  []insales.OrderLine{{Title: "Сыр", Quantity: 347, SalePrice: 6059, VAT: insales.NoVAT}},
	})
	_, body := r.do("GET", "/admin/orders/"+itoa(o.ID)+".json", "", "")
	for _, want := range []string{`"total_price":"12474.0"`, `"items_price":"60.59"`, `"quantity":"0.347"`, `"vat":-1`,
		`"number":1001`, `"paid_at":null`, `"phone":null`, `"custom_status":{"permalink":"new","title":"Новый","system_status":"new"}`,
		`"fulfillment_status":"new"`, `"currency_code":"RUR"`} {
		if !strings.Contains(body, want) {
			t.Errorf("order JSON lacks %s:\n%s", want, body)
		}
	}
	r2, _ := newRaw(t, Options{MoneyAsNumbers: true})
	o = r2.h.AddOrder(insales.Order{TotalPrice: 1247400})
	_, body = r2.do("GET", "/admin/orders/"+itoa(o.ID)+".json", "", "")
	if !strings.Contains(body, `"total_price":12474.0`) {
		t.Errorf("numeric money missing: %s", body)
	}
}

func TestAuthAndRateLimit(t *testing.T) {
	t.Parallel()
	r, clk := newRaw(t, Options{RateRequests: 3, RateWindow: 10 * time.Second})
	resp, body := r.do("GET", "/admin/account.json", "", "", r.h.APIKey(), "wrong")
	if resp.StatusCode != 401 || resp.Header.Get("API-Usage-Limit") != "1/3" || !strings.Contains(body, "Access denied") {
		t.Fatalf("wrong password: HTTP %d, usage %q, %q", resp.StatusCode, resp.Header.Get("API-Usage-Limit"), body)
	}
	for i := 2; i <= 3; i++ {
		resp, _ = r.do("GET", "/admin/account.json", "", "")
		if resp.StatusCode != 200 || resp.Header.Get("API-Usage-Limit") != itoa(int64(i))+"/3" {
			t.Fatalf("request %d: HTTP %d usage %q", i, resp.StatusCode, resp.Header.Get("API-Usage-Limit"))
		}
	}
	clk.Advance(4 * time.Second)
	resp, body = r.do("GET", "/admin/account.json", "", "")
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "6" || body != "" || resp.Header.Get("API-Usage-Limit") != "3/3" {
		t.Fatalf("over the limit: HTTP %d, Retry-After %q, body %q", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if r.h.RateLimited() != 1 {
		t.Errorf("RateLimited = %d", r.h.RateLimited())
	}
	clk.Advance(6 * time.Second) // the window started at the first request
	resp, _ = r.do("GET", "/admin/account.json", "", "")
	if resp.StatusCode != 200 || resp.Header.Get("API-Usage-Limit") != "1/3" {
		t.Fatalf("new window: HTTP %d usage %q", resp.StatusCode, resp.Header.Get("API-Usage-Limit"))
	}
}

func TestViolations(t *testing.T) {
	t.Parallel()
	r, _ := newRaw(t, Options{})
	o := r.h.AddOrder(insales.Order{})
	path := "/admin/orders/" + itoa(o.ID) + ".json"
	if resp, _ := r.do("GET", "/admin/orders.json?page=2", "", ""); resp.StatusCode != 500 {
		t.Errorf("page=: HTTP %d", resp.StatusCode)
	}
	if resp, body := r.do("PUT", path, "text/plain", `{"order":{}}`); resp.StatusCode != 422 || !strings.Contains(body, "incorrect Content-Type") {
		t.Errorf("wrong Content-Type: HTTP %d %s", resp.StatusCode, body)
	}
	if resp, _ := r.do("PUT", path, "application/json", `{"order":{"fulfillment_status":"delivered"}}`); resp.StatusCode != 422 {
		t.Errorf("status change: HTTP %d", resp.StatusCode)
	}
	if v := r.h.Violations(); len(v) != 3 {
		t.Errorf("violations %q", v)
	}
	after, _ := r.h.Order(o.ID)
	if after.FulfillmentStatus != "new" || after.UpdatedAt != o.UpdatedAt {
		t.Errorf("a refused write changed the order")
	}
}

func TestPutFieldByHandle(t *testing.T) {
	t.Parallel()
	r, clk := newRaw(t, Options{})
	o := r.h.AddOrder(insales.Order{})
	clk.Advance(time.Second)
	resp, body := r.do("PUT", "/admin/orders/"+itoa(o.ID)+".json", "application/json; charset=utf-8",
		`{"order":{"fields_values_attributes":[{"handle":"fiscal_receipt","value":"ФД 1"}]}}`)
	if resp.StatusCode != 200 || !strings.Contains(body, `"value":"ФД 1"`) {
		t.Fatalf("HTTP %d %s", resp.StatusCode, body)
	}
	after, _ := r.h.Order(o.ID)
	if !after.UpdatedAt.Time.After(o.UpdatedAt.Time) || len(after.FieldsValues) != 1 || after.FieldsValues[0].FieldID != 511497 {
		t.Errorf("after PUT: %+v", after)
	}
	if resp, _ := r.do("PUT", "/admin/orders/999.json", "application/json", `{"order":{"fields_values_attributes":[{"field_id":511497,"value":"x"}]}}`); resp.StatusCode != 404 {
		t.Errorf("missing order: HTTP %d", resp.StatusCode)
	}
}

func TestFaultQueue(t *testing.T) {
	t.Parallel()
	r, _ := newRaw(t, Options{RetryAfter: 7 * time.Second})
	r.h.Fail(1, Fault503)
	r.h.Fail(1, Fault429)
	r.h.Fail(1, Fault503RateLimited)
	r.h.Fail(1, FaultMalformed)
	r.h.Fail(1, Fault500)
	want := []struct {
		status     int
		retryAfter string
	}{{503, ""}, {429, "7"}, {503, "7"}, {200, ""}, {500, ""}, {200, ""}}
	for i, w := range want {
		resp, body := r.do("GET", "/admin/account.json", "", "")
		if resp.StatusCode != w.status || resp.Header.Get("Retry-After") != w.retryAfter {
			t.Errorf("answer %d: HTTP %d Retry-After %q, want %d %q", i, resp.StatusCode, resp.Header.Get("Retry-After"), w.status, w.retryAfter)
		}
		if i == 3 && json.Valid([]byte(body)) {
			t.Errorf("malformed fault sent valid JSON")
		}
	}
	r.h.Fail(1, FaultDrop)
	req, _ := http.NewRequest("GET", r.srv.URL+"/admin/account.json", nil)
	req.SetBasicAuth(r.h.APIKey(), r.h.Password())
	tr := &http.Transport{DisableKeepAlives: true} // no silent retry on a fresh connection
	defer tr.CloseIdleConnections()
	if resp, err := (&http.Client{Transport: tr}).Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("dropped connection answered HTTP %d", resp.StatusCode)
	}
	if r.h.PendingFaults() != 0 {
		t.Errorf("%d faults left", r.h.PendingFaults())
	}
	for _, f := range []Fault{Fault500, Fault503, Fault503RateLimited, Fault429, Fault429NoRetryAfter, FaultMalformed, FaultSlow, FaultDrop} {
		if g, ok := ParseFault(f.String()); !ok || g != f {
			t.Errorf("ParseFault(%q) = %v, %v", f.String(), g, ok)
		}
	}
}

func TestDecimalText(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		v     int64
		scale int
		want  string
	}{{1247400, 2, "12474.0"}, {6059, 2, "60.59"}, {6050, 2, "60.5"}, {5, 2, "0.05"}, {-125, 2, "-1.25"}, {347, 3, "0.347"}, {2500, 3, "2.5"}, {0, 2, "0.0"}} {
		if got := decimalText(tt.v, tt.scale); got != tt.want {
			t.Errorf("decimalText(%d, %d) = %q, want %q", tt.v, tt.scale, got, tt.want)
		}
	}
}
