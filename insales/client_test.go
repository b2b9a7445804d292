package insales_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chekd/chekd/insales"
	"github.com/chekd/chekd/insales/insalestest"
)

const secret = "s3cret-Pa55"

func TestNewClientValidation(t *testing.T) {
	t.Parallel()
	good := insales.Config{Shop: "demo", BaseURL: "https://demo.myinsales.ru/", APIKey: "key", Password: secret}
	tests := []struct {
		name string
		edit func(*insales.Config)
		want string
	}{
		{"no shop", func(c *insales.Config) { c.Shop = "" }, "insales: shop name is empty"},
		{"no key", func(c *insales.Config) { c.APIKey = "" }, `insales: shop "demo": insales.api_key is empty`},
		{"no password", func(c *insales.Config) { c.Password = "" }, `insales: shop "demo": insales.password is empty`},
		{"no scheme", func(c *insales.Config) { c.BaseURL = "demo.myinsales.ru" }, "must start with https://"},
		{"ftp", func(c *insales.Config) { c.BaseURL = "ftp://demo.myinsales.ru" }, "must start with https://"},
		{"credentials in URL", func(c *insales.Config) { c.BaseURL = "https://key:" + secret + "@demo.myinsales.ru" }, "insales.url must not contain credentials"},
		{"query", func(c *insales.Config) { c.BaseURL = "https://demo.myinsales.ru/?a=1" }, "must not have a query"},
		{"no host", func(c *insales.Config) { c.BaseURL = "https://" }, "has no host"},
	}
	for _, tt := range tests {
		cfg := good
		tt.edit(&cfg)
		_, err := insales.NewClient(cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("%s: error leaks the password: %v", tt.name, err)
		}
	}
	if _, err := insales.NewClient(good); err != nil {
		t.Errorf("good config: %v", err)
	}
}

func TestLookups(t *testing.T) {
	t.Parallel()
	shop, c, _ := newShop(t, insalestest.Options{}, nil)
	ctx := context.Background()
	a, err := c.Account(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != 12345 || a.Subdomain != "shop-test" || a.MainHost != "shop-test.myinsales.ru" {
		t.Errorf("account %+v", a)
	}
	shop.SetCustomStatuses([]insales.CustomStatus{{Permalink: "vydan", Title: "Выдан", SystemStatus: "delivered"}})
	st, err := c.CustomStatuses(ctx)
	if err != nil || len(st) != 1 || st[0] != (insales.CustomStatus{Permalink: "vydan", Title: "Выдан", SystemStatus: "delivered"}) {
		t.Errorf("custom statuses %+v, %v", st, err)
	}
	gw, err := c.PaymentGateways(ctx)
	if err != nil || len(gw) != 3 || gw[1] != (insales.PaymentGateway{ID: 2958, Title: "Наложенным платежом", Type: "PaymentGateway::Cod", Margin: 400}) {
		t.Errorf("gateways %+v, %v", gw, err)
	}
	fields, err := c.Fields(ctx)
	if err != nil || len(fields) != 2 || fields[0].ID != 511497 || fields[0].Handle != "fiscal_receipt" || fields[0].Destiny != 3 {
		t.Errorf("fields %+v, %v", fields, err)
	}
	if _, err := c.Order(ctx, 424242); err == nil {
		t.Error("Order of a missing id: no error")
	} else {
		var apiErr *insales.APIError
		if !errors.As(err, &apiErr) || apiErr.Status != 404 || apiErr.Message != "Not found" {
			t.Errorf("Order of a missing id: %v", err)
		}
	}
}

func TestOrderRoundTrip(t *testing.T) {
	t.Parallel()
	for _, numbers := range []bool{false, true} {
		shop, c, _ := newShop(t, insalestest.Options{MoneyAsNumbers: numbers}, nil)
		in := order("Книга «Мастер и Маргарита»")
		in.Lines[0].RequiresMarking = true
		in.Lines[0].MarkingCodes = []string{"0104600439931256215Mn\x1d93dGVz"}
		in.Discounts = []insales.Discount{{ID: 1, Description: "Скидка", Amount: 1050, Discount: "5.0", Type: "1"}}
		in.FieldsValues = []insales.FieldValue{{ID: 3, FieldID: 511498, Handle: "delivery_time", Name: "Время доставки", Value: "10-12"}}
		in.CustomStatus = insales.CustomStatusRef{Permalink: "approved", Title: "Согласован"}
		stored := shop.AddOrder(in)
		got, err := c.Order(context.Background(), stored.ID)
		if err != nil {
			t.Fatal(err)
		}
		gj, _ := json.Marshal(got)
		sj, _ := json.Marshal(stored)
		// Timestamps compare by text; their parsed times are equal instants.
		if string(gj) != string(sj) && !sameOrder(got, stored) {
			t.Errorf("money as numbers %v: round trip changed the order:\n got %s\nwant %s", numbers, gj, sj)
		}
	}
}

func sameOrder(a, b insales.Order) bool {
	norm := func(o insales.Order) string {
		o.CreatedAt.Time, o.UpdatedAt.Time, o.PaidAt.Time = time.Time{}, time.Time{}, time.Time{}
		j, _ := json.Marshal(o)
		return string(j)
	}
	return norm(a) == norm(b) && a.UpdatedAt.Time.Equal(b.UpdatedAt.Time)
}

func TestSetOrderField(t *testing.T) {
	t.Parallel()
	shop, c, clk := newShop(t, insalestest.Options{}, nil)
	o := shop.AddOrder(order("x"))
	clk.Advance(time.Minute)
	value := "Чек №12, ФН 9999078900004312, ФД 345, ФП 1234567890"
	if err := c.SetOrderField(context.Background(), o.ID, 511497, value); err != nil {
		t.Fatal(err)
	}
	after, _ := shop.Order(o.ID)
	if len(after.FieldsValues) != 1 || after.FieldsValues[0].FieldID != 511497 || after.FieldsValues[0].Value != value {
		t.Fatalf("fields after write: %+v", after.FieldsValues)
	}
	if !after.UpdatedAt.Time.After(o.UpdatedAt.Time) {
		t.Errorf("the write did not bump updated_at")
	}
	if after.FulfillmentStatus != o.FulfillmentStatus || after.CustomStatus != o.CustomStatus {
		t.Errorf("the write changed the status")
	}
	// The write shows up in the next scan (the poller sees its own writes).
	var s scan
	if err := s.run(context.Background(), c, insales.Cursor{UpdatedAt: o.UpdatedAt.Raw, ID: o.ID}); err != nil {
		t.Fatal(err)
	}
	if s.count(o.ID) != 1 || s.orders[len(s.orders)-1].FieldsValues[0].Value != value {
		t.Errorf("written order not seen again: %+v", s.orders)
	}
	// Unknown field: the server's 422 message is kept; writes are never retried.
	before := shop.Requests("PUT /admin/orders/:id.json")
	err := c.SetOrderField(context.Background(), o.ID, 1, "x")
	var apiErr *insales.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 422 || !strings.Contains(apiErr.Message, "field not found") {
		t.Errorf("unknown field: %v", err)
	}
	if n := shop.Requests("PUT /admin/orders/:id.json") - before; n != 1 {
		t.Errorf("422 write sent %d times", n)
	}
}

// TestRequestsOnTheWire checks the exact requests: auth, User-Agent, query,
// and the body and Content-Type of a write.
func TestRequestsOnTheWire(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var problems []string
	fail := func(format string) { mu.Lock(); problems = append(problems, format); mu.Unlock() }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "key-1" || p != secret {
			fail("bad auth")
		}
		if r.UserAgent() != "chekd/1.2.3" {
			fail("User-Agent " + r.UserAgent())
		}
		switch {
		case r.Method == "GET" && r.URL.Path == "/base/admin/account.json":
			io.WriteString(w, `{"id": 1, "title": "t", "unknown": [1]}`)
		case r.Method == "PUT" && r.URL.Path == "/base/admin/orders/77.json":
			if r.Header.Get("Content-Type") != "application/json" {
				fail("Content-Type " + r.Header.Get("Content-Type"))
			}
			body, _ := io.ReadAll(r.Body)
			if string(body) != `{"order":{"fields_values_attributes":[{"field_id":5,"value":"ФД \"1\""}]}}` {
				fail("body " + string(body))
			}
			io.WriteString(w, `{"id": 77}`)
		default:
			fail("unexpected " + r.Method + " " + r.URL.String())
			w.WriteHeader(404)
		}
	}))
	t.Cleanup(srv.Close)
	c, err := insales.NewClient(insales.Config{Shop: "demo", BaseURL: srv.URL + "/base/", APIKey: "key-1", Password: secret, UserAgent: "chekd/1.2.3", HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Account(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := c.SetOrderField(context.Background(), 77, 5, `ФД "1"`); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Fatal(problems)
	}
}

func TestUnauthorized(t *testing.T) {
	t.Parallel()
	shop, _, _ := newShop(t, insalestest.Options{}, nil)
	cfg := shop.Config("Мой магазин")
	cfg.Password = secret
	c, err := insales.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Account(context.Background())
	var apiErr *insales.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 401 {
		t.Fatalf("err = %v, want a 401 APIError", err)
	}
	msg := err.Error()
	for _, want := range []string{`shop "Мой магазин"`, "GET /admin/account.json", "HTTP 401", "insales.api_key", "insales.password", "insales.url"} {
		if !strings.Contains(msg, want) {
			t.Errorf("401 message %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, secret) {
		t.Errorf("401 message leaks the password")
	}
	if n := shop.Requests(""); n != 1 {
		t.Errorf("401 sent %d times, want 1 (no retry)", n)
	}
}

func TestServerMessagesKept(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		status int
		body   string
		want   string
	}{
		{403, `{"status":"error","message":"Приложение не имеет доступа к заказам"}`, "Приложение не имеет доступа к заказам"},
		{404, `{"status":"error","message":"Not found"}`, "Not found"},
		{422, `{"message":"incorrect Content-Type, should be application/json"}`, "incorrect Content-Type, should be application/json"},
		{400, `bad request`, "bad request"},
	} {
		calls := 0
		var mu sync.Mutex
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			calls++
			mu.Unlock()
			w.WriteHeader(tt.status)
			io.WriteString(w, tt.body)
		}))
		c, err := insales.NewClient(insales.Config{Shop: "demo", BaseURL: srv.URL, APIKey: "k", Password: secret, HTTPClient: srv.Client(), RetryWaitMin: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.CustomStatuses(context.Background())
		srv.Close()
		var apiErr *insales.APIError
		if !errors.As(err, &apiErr) || apiErr.Status != tt.status || apiErr.Message != tt.want {
			t.Errorf("HTTP %d: err = %v", tt.status, err)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "GET /admin/custom_statuses.json") {
			t.Errorf("HTTP %d: message %q", tt.status, err)
		}
		if calls != 1 {
			t.Errorf("HTTP %d retried: %d calls", tt.status, calls)
		}
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	type result struct {
		status      int // APIError status wanted; 0 means success
		errContains string
	}
	tests := []struct {
		name     string
		faults   []insalestest.Fault
		n        int
		put      bool
		want     result
		requests int           // requests the fake should see (0: don't check)
		waited   time.Duration // fake-clock time the client must have waited, at least
	}{
		{name: "500 twice then ok", faults: []insalestest.Fault{insalestest.Fault500}, n: 2, requests: 3},
		{name: "503 twice then ok", faults: []insalestest.Fault{insalestest.Fault503}, n: 2, requests: 3},
		{name: "500 beyond retries", faults: []insalestest.Fault{insalestest.Fault500}, n: 10, want: result{status: 500}, requests: 5},
		{name: "429 with Retry-After", faults: []insalestest.Fault{insalestest.Fault429}, n: 2, requests: 3, waited: 2 * 30 * time.Second},
		{name: "429 without Retry-After waits the window", faults: []insalestest.Fault{insalestest.Fault429NoRetryAfter}, n: 1, requests: 2, waited: 300 * time.Second},
		{name: "503 rate limit (old servers)", faults: []insalestest.Fault{insalestest.Fault503RateLimited}, n: 1, requests: 2, waited: 30 * time.Second},
		{name: "429 forever", faults: []insalestest.Fault{insalestest.Fault429}, n: 20, want: result{status: 429, errContains: "rate limit exceeded (retry after 30s)"}, requests: 6, waited: 5 * 30 * time.Second},
		{name: "malformed body", faults: []insalestest.Fault{insalestest.FaultMalformed}, n: 1, want: result{errContains: `shop "demo": GET /admin/orders.json: malformed answer`}, requests: 1},
		{name: "dropped connection", faults: []insalestest.Fault{insalestest.FaultDrop}, n: 2},
		{name: "slow but in time", faults: []insalestest.Fault{insalestest.FaultSlow}, n: 1, requests: 1},
		{name: "PUT 500 is not retried", faults: []insalestest.Fault{insalestest.Fault500}, n: 1, put: true, want: result{status: 500}, requests: 1},
		{name: "PUT 429 is waited out", faults: []insalestest.Fault{insalestest.Fault429}, n: 1, put: true, requests: 2, waited: 30 * time.Second},
		{name: "PUT dropped is not retried", faults: []insalestest.Fault{insalestest.FaultDrop}, n: 1, put: true, want: result{errContains: `shop "demo": PUT /admin/orders/`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			shop, c, clk := newShop(t, insalestest.Options{RetryAfter: 30 * time.Second, SlowDelay: 20 * time.Millisecond}, nil)
			o := shop.AddOrder(order("x"))
			for _, f := range tt.faults {
				shop.Fail(tt.n, f)
			}
			before := clk.Now()
			var err error
			var got []insales.Order
			if tt.put {
				err = c.SetOrderField(context.Background(), o.ID, 511497, "v")
			} else {
				err = c.ChangedOrders(context.Background(), start, func(page []insales.Order, _ insales.Cursor) error {
					got = append(got, page...)
					return nil
				})
			}
			switch {
			case tt.want.status == 0 && tt.want.errContains == "":
				if err != nil {
					t.Fatalf("err = %v, want success", err)
				}
				if !tt.put && (len(got) != 1 || got[0].ID != o.ID) {
					t.Fatalf("got %d orders", len(got))
				}
			default:
				if err == nil {
					t.Fatal("no error")
				}
				var apiErr *insales.APIError
				if tt.want.status != 0 && (!errors.As(err, &apiErr) || apiErr.Status != tt.want.status) {
					t.Fatalf("err = %v, want HTTP %d", err, tt.want.status)
				}
				if !strings.Contains(err.Error(), tt.want.errContains) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.want.errContains)
				}
			}
			// The last request of a successful scan is the empty answer that ends it.
			extra := 0
			if err == nil && !tt.put {
				extra = 1
			}
			if tt.requests != 0 {
				if n := shop.Requests(""); n != tt.requests+extra {
					t.Errorf("fake saw %d requests, want %d", n, tt.requests+extra)
				}
			}
			if waited := clk.Now().Sub(before); waited < tt.waited {
				t.Errorf("waited %s on the fake clock, want at least %s", waited, tt.waited)
			}
			if tt.waited == 0 && clk.Now() != before {
				t.Errorf("waited %s without a rate limit", clk.Now().Sub(before))
			}
		})
	}
}

func TestSlowAnswerRespectsContext(t *testing.T) {
	t.Parallel()
	shop, c, _ := newShop(t, insalestest.Options{SlowDelay: time.Hour}, nil)
	shop.Fail(1, insalestest.FaultSlow)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.Account(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
}

func TestRateLimitWaitRespectsContext(t *testing.T) {
	t.Parallel()
	// A real clock and a Retry-After of an hour (capped at 5 minutes):
	// cancelling must end the wait.
	shop := insalestest.New(t, insalestest.Options{RetryAfter: time.Hour})
	shop.Fail(1, insalestest.Fault429)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	obs := &observer{onLimited: cancel}
	cfg := shop.Config("demo")
	cfg.Observer = obs
	c, err := insales.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Account(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if len(obs.rateLimited) != 1 || obs.rateLimited[0] != insales.DefaultMaxRetryAfter {
		t.Errorf("OnRateLimited got %v, want one wait of 5m", obs.rateLimited)
	}
}

func TestMaxRetryAfterCaps(t *testing.T) {
	t.Parallel()
	shop, c, clk := newShop(t, insalestest.Options{RetryAfter: 2 * time.Hour}, func(cfg *insales.Config) { cfg.MaxRetryAfter = time.Minute })
	shop.Fail(1, insalestest.Fault429)
	before := clk.Now()
	if _, err := c.Account(context.Background()); err != nil {
		t.Fatal(err)
	}
	if waited := clk.Now().Sub(before); waited != time.Minute {
		t.Errorf("waited %s, want the 1m cap", waited)
	}
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	shop, c, _ := newShop(t, insalestest.Options{}, func(cfg *insales.Config) { cfg.MaxBodyBytes = 4000 })
	for i := 0; i < 5; i++ {
		shop.AddOrder(order("x"))
	}
	err := c.ChangedOrders(context.Background(), start, func([]insales.Order, insales.Cursor) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "larger than 4000 bytes") || !strings.Contains(err.Error(), "GET /admin/orders.json") {
		t.Fatalf("err = %v", err)
	}
}

// TestBurstStaysUnderLimit makes 2,000 calls against the fake's real limit of
// 500 per 300 s (on a shared fake clock): the client must never cause a 429.
func TestBurstStaysUnderLimit(t *testing.T) {
	t.Parallel()
	obs := &observer{}
	shop, c, clk := newShop(t, insalestest.Options{}, func(cfg *insales.Config) { cfg.Observer = obs })
	before := clk.Now()
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				if _, err := c.Account(ctx); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := shop.RateLimited(); n != 0 {
		t.Fatalf("the fake refused %d requests with 429", n)
	}
	if n := shop.Requests("GET /admin/account.json"); n != 2000 {
		t.Errorf("fake saw %d requests, want 2000", n)
	}
	if elapsed := clk.Now().Sub(before); elapsed < 3*300*time.Second {
		t.Errorf("2000 requests took %s of fake time, want at least 3 windows", elapsed)
	}
	if len(obs.rateLimited) != 0 || obs.requests["GET /admin/account.json"] != 2000 || len(obs.usage) != 2000 {
		t.Errorf("observer: %d rate limited, %d requests, %d usage reports", len(obs.rateLimited), obs.requests["GET /admin/account.json"], len(obs.usage))
	}
}

// TestUsageHeaderSlowsDown: someone else (or this program before a restart)
// already used most of the window; the client learns it from API-Usage-Limit.
func TestUsageHeaderSlowsDown(t *testing.T) {
	t.Parallel()
	shop, c, _ := newShop(t, insalestest.Options{}, nil)
	other, err := insales.NewClient(shop.Config("other"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < 480; i++ {
		if _, err := other.Account(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 300; i++ {
		if _, err := c.Account(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := shop.RateLimited(); n != 0 {
		t.Fatalf("the fake refused %d requests with 429", n)
	}
}

// TestLogsKeepSecrets drives rounding, rate limiting and errors with debug
// logging on: no log line may hold the password or a buyer's contact.
func TestLogsKeepSecrets(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	shop, c, _ := newShop(t, insalestest.Options{Password: secret}, func(cfg *insales.Config) { cfg.Logger = log })
	shop.AddOrder(order("x"))
	shop.Fail(1, insalestest.Fault429)
	shop.Fail(1, insalestest.Fault500)
	if err := c.ChangedOrders(context.Background(), start, func([]insales.Order, insales.Cursor) error { return nil }); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "rate limited") {
		t.Errorf("the 429 was not logged: %q", out)
	}
	for _, s := range []string{secret, "buyer@example.com", "79001234567"} {
		if strings.Contains(out, s) {
			t.Errorf("log holds %q:\n%s", s, out)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
