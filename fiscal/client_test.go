package fiscal_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chekd/chekd/fiscal"
	"github.com/chekd/chekd/fiscal/chekonlinetest"
)

func receipt(id string) fiscal.Request {
	return fiscal.Request{
		Device:       "auto",
		Password:     1,
		RequestID:    id,
		ClientID:     "shop-1",
		DocumentType: fiscal.DocSale,
		Lines: []fiscal.Line{
			{Qty: 2500, Price: 10000, PayAttribute: fiscal.PayFullSettlement, TaxID: 11, Description: "Булочка с маком", LineAttribute: fiscal.SubjectGoods},
			{Qty: 1000, Price: 30000, PayAttribute: fiscal.PayFullSettlement, TaxID: 11, Description: "Доставка", LineAttribute: fiscal.SubjectService},
		},
		NonCash:            []uint64{55000},
		TaxMode:            1,
		PhoneOrEmail:       "buyer@example.com",
		Place:              "https://shop.example.com",
		MaxDocumentsInTurn: 5000,
	}
}

func body(t testing.TB, r fiscal.Request) []byte {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type observer struct {
	mu      sync.Mutex
	classes []string
}

func (o *observer) OnRequest(_ time.Duration, class string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.classes = append(o.classes, class)
}

func (o *observer) got() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.classes...)
}

// newClient makes a client for reg with fast retries; mod adjusts the config.
func newClient(t testing.TB, reg *chekonlinetest.Register, mod func(*fiscal.Config)) *fiscal.Client {
	t.Helper()
	cfg := fiscal.Config{
		URL:          reg.URL(),
		Certificate:  reg.ClientCert(),
		RootCAs:      reg.RootCAs(),
		Timeout:      5 * time.Second,
		Rate:         1e6,
		RetryMax:     2,
		RetryWaitMin: time.Millisecond,
		RetryWaitMax: 5 * time.Millisecond,
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := fiscal.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newRegister(t testing.TB, opts chekonlinetest.Options) *chekonlinetest.Register {
	t.Helper()
	reg := chekonlinetest.New(opts)
	t.Cleanup(reg.Close)
	return reg
}

func classOf(t testing.TB, err error) *fiscal.Error {
	t.Helper()
	var e *fiscal.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not *fiscal.Error", err, err)
	}
	return e
}

func TestSendPrintsAndCacheAnswersRepeat(t *testing.T) {
	t.Parallel()
	reg := newRegister(t, chekonlinetest.Options{})
	obs := &observer{}
	c := newClient(t, reg, func(c *fiscal.Config) { c.Observer = obs })
	b := body(t, receipt("shop-1/1001/sale"))

	res, err := c.Send(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	ledger := reg.Ledger()
	if len(ledger) != 1 {
		t.Fatalf("ledger holds %d documents", len(ledger))
	}
	d := ledger[0]
	if res.FiscalDocNumber != d.FiscalDocNumber || res.FiscalSign != d.FiscalSign || res.Shift != d.Shift ||
		res.DocNumber != d.DocNumber || res.GrandTotal != 55000 || d.Total != 55000 || res.FromCache {
		t.Fatalf("result %+v does not match document %+v", res, d)
	}
	if res.FNSerial == "" || res.RegistrationNumber == "" || res.DeviceSerial == "" || res.Date.IsZero() ||
		!strings.Contains(res.QR, fmt.Sprintf("&i=%d&", d.FiscalDocNumber)) {
		t.Fatalf("result lacks register data: %+v", res)
	}
	if d.RequestID != "shop-1/1001/sale" || d.ClientID != "shop-1" || d.PhoneOrEmail != "buyer@example.com" || len(d.Lines) != 2 {
		t.Fatalf("document %+v", d)
	}

	again, err := c.Send(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	if !again.FromCache || again.FiscalDocNumber != res.FiscalDocNumber {
		t.Fatalf("repeat: %+v", again)
	}
	if n := len(reg.Ledger()); n != 1 {
		t.Fatalf("repeat printed again: %d documents", n)
	}
	if got := obs.got(); len(got) != 2 || got[0] != "" || got[1] != "" {
		t.Fatalf("observer saw %q", got)
	}
}

// TestSendClasses drives every class of answer through the fake register.
// RetryMax is 2, so a retryable fault queued three times exhausts the call.
func TestSendClasses(t *testing.T) {
	t.Parallel()
	three := func(f chekonlinetest.Fault) []chekonlinetest.Fault { return []chekonlinetest.Fault{f, f, f} }
	cases := []struct {
		name      string
		faults    []chekonlinetest.Fault
		mutate    func(*fiscal.Request)
		class     fiscal.Class // -1: success
		fromCache bool
		requests  int // Complex POSTs the register saw
		printed   int
		code, fce int
	}{
		{name: "printed", class: -1, requests: 1, printed: 1},
		{name: "FCE 5 then printed", faults: []chekonlinetest.Fault{chekonlinetest.FCE(5)}, class: -1, requests: 2, printed: 1},
		{name: "FCE 5 exhausts retries", faults: three(chekonlinetest.FCE(5)), class: fiscal.ClassTransient, requests: 3, fce: 5},
		{name: "FCE 18 exhausts retries", faults: three(chekonlinetest.FCE(18)), class: fiscal.ClassTransient, requests: 3, fce: 18},
		{name: "FCE 24 in progress", faults: three(chekonlinetest.FCE(24)), class: fiscal.ClassInProgress, requests: 3, fce: 24},
		{name: "FCE 24 then printed", faults: []chekonlinetest.Fault{chekonlinetest.FCE(24), chekonlinetest.FCE(24)}, class: -1, requests: 3, printed: 1},
		{name: "FCE 6 ambiguous, not retried", faults: three(chekonlinetest.FCE(6)), class: fiscal.ClassAmbiguous, requests: 1, fce: 6},
		{name: "FCE 19 halt", faults: []chekonlinetest.Fault{chekonlinetest.FCE(19)}, class: fiscal.ClassHalt, requests: 1, fce: 19},
		{name: "FCE 20 halt", faults: []chekonlinetest.Fault{chekonlinetest.FCE(20)}, class: fiscal.ClassHalt, requests: 1, fce: 20},
		{name: "unlisted fatal FCE halts", faults: []chekonlinetest.Fault{chekonlinetest.FCEFatal(33)}, class: fiscal.ClassHalt, requests: 1, fce: 33},
		{name: "register 17 no OFD link", faults: three(chekonlinetest.RegisterError(17)), class: fiscal.ClassTransient, requests: 3, code: 17},
		{name: "register 22 then printed", faults: []chekonlinetest.Fault{chekonlinetest.RegisterError(22)}, class: -1, requests: 2, printed: 1},
		{name: "register 51 permanent, not retried", faults: []chekonlinetest.Fault{chekonlinetest.RegisterError(51)}, class: fiscal.ClassPermanent, requests: 1, code: 51},
		{name: "register 79 config", faults: []chekonlinetest.Fault{chekonlinetest.RegisterError(79)}, class: fiscal.ClassConfig, requests: 1, code: 79},
		{name: "wrong cashier password", mutate: func(r *fiscal.Request) { r.Password = 30 }, class: fiscal.ClassConfig, requests: 1, code: 79},
		{name: "Qty 0 permanent", mutate: func(r *fiscal.Request) { r.Lines[0].Qty = 0 }, class: fiscal.ClassPermanent, requests: 1, code: 51},
		{name: "payments short permanent", mutate: func(r *fiscal.Request) { r.NonCash = []uint64{54999} }, class: fiscal.ClassPermanent, requests: 1, code: 69},
		{name: "not CP866 permanent", mutate: func(r *fiscal.Request) { r.Lines[0].Description = "Торт 🎂" }, class: fiscal.ClassPermanent, requests: 1, code: 51},
		{name: "HTTP 502 unknown", faults: three(chekonlinetest.HTTP502()), class: fiscal.ClassUnknown, requests: 3},
		{name: "HTTP 502 then printed", faults: []chekonlinetest.Fault{chekonlinetest.HTTP502()}, class: -1, requests: 2, printed: 1},
		{name: "HTTP 401 config", faults: []chekonlinetest.Fault{chekonlinetest.HTTPStatus(401)}, class: fiscal.ClassConfig, requests: 1},
		{name: "HTTP 403 config", faults: []chekonlinetest.Fault{chekonlinetest.HTTPStatus(403)}, class: fiscal.ClassConfig, requests: 1},
		{name: "print then drop, retry hits the cache", faults: []chekonlinetest.Fault{chekonlinetest.PrintThenDrop()}, class: -1, fromCache: true, requests: 2, printed: 1},
		{name: "print then drop every time", faults: three(chekonlinetest.PrintThenDrop()), class: fiscal.ClassUnknown, requests: 3, printed: 1},
		{name: "truncated answer, retry hits the cache", faults: []chekonlinetest.Fault{chekonlinetest.Truncated()}, class: -1, fromCache: true, requests: 2, printed: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg := newRegister(t, chekonlinetest.Options{})
			obs := &observer{}
			c := newClient(t, reg, func(c *fiscal.Config) { c.Observer = obs })
			r := receipt("shop-1/42/sale")
			if tc.mutate != nil {
				tc.mutate(&r)
			}
			reg.Inject(tc.faults...)
			res, err := c.Send(context.Background(), body(t, r))
			st := reg.Stats()
			if st.Complex != tc.requests || st.Printed != tc.printed {
				t.Fatalf("register saw %d requests and printed %d, want %d and %d", st.Complex, st.Printed, tc.requests, tc.printed)
			}
			if st.Conflicts != 0 {
				t.Fatal("a retry changed the body")
			}
			if got := obs.got(); len(got) != tc.requests {
				t.Fatalf("observer saw %d attempts, want %d", len(got), tc.requests)
			}
			if tc.class < 0 {
				if err != nil {
					t.Fatalf("want printed, got %v", err)
				}
				if res.FromCache != tc.fromCache || res.FiscalDocNumber != reg.Ledger()[0].FiscalDocNumber {
					t.Fatalf("result %+v", res)
				}
				return
			}
			e := classOf(t, err)
			if e.Class != tc.class || e.Code != tc.code || e.FCE != tc.fce {
				t.Fatalf("got %v (class %v code %d fce %d), want class %v code %d fce %d", err, e.Class, e.Code, e.FCE, tc.class, tc.code, tc.fce)
			}
			if (tc.code != 0 || tc.fce != 0) && len(e.Messages) == 0 {
				t.Fatal("the register's message was not kept")
			}
			if got := obs.got(); got[len(got)-1] != tc.class.String() {
				t.Fatalf("observer's last class %q", got[len(got)-1])
			}
		})
	}
}

// TestPrintThenDropThenRetryLedger is the duplicate-receipt scenario: the
// register prints, the answer is lost, and every later attempt (in-call and
// from the caller's own loop) reuses the RequestId, so one document exists.
func TestPrintThenDropThenRetryLedger(t *testing.T) {
	t.Parallel()
	reg := newRegister(t, chekonlinetest.Options{})
	c := newClient(t, reg, func(c *fiscal.Config) { c.RetryMax = -1 })
	b := body(t, receipt("shop-1/77/sale"))
	reg.Inject(chekonlinetest.PrintThenDrop())
	_, err := c.Send(context.Background(), b)
	if e := classOf(t, err); e.Class != fiscal.ClassUnknown || !e.Class.Retryable() {
		t.Fatalf("dropped connection: %v", err)
	}
	if n := len(reg.Ledger()); n != 1 {
		t.Fatalf("ledger after drop: %d", n)
	}
	res, err := c.Send(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	ledger := reg.Ledger()
	if len(ledger) != 1 || !res.FromCache || res.FiscalDocNumber != ledger[0].FiscalDocNumber {
		t.Fatalf("after retry: ledger %d, result %+v", len(ledger), res)
	}
}

func TestDelayPastTimeoutRetriesIntoCache(t *testing.T) {
	t.Parallel()
	reg := newRegister(t, chekonlinetest.Options{})
	c := newClient(t, reg, func(c *fiscal.Config) { c.Timeout = 300 * time.Millisecond; c.RetryMax = 4 })
	reg.Inject(chekonlinetest.Delay(time.Minute))
	res, err := c.Send(context.Background(), body(t, receipt("shop-1/5/sale")))
	if err != nil {
		t.Fatal(err)
	}
	if !res.FromCache || len(reg.Ledger()) != 1 || reg.Stats().CacheHits != 1 {
		t.Fatalf("result %+v, stats %+v", res, reg.Stats())
	}

	// Without retries the timeout is an unknown outcome.
	c = newClient(t, reg, func(c *fiscal.Config) { c.Timeout = 100 * time.Millisecond; c.RetryMax = -1 })
	reg.Inject(chekonlinetest.Delay(time.Minute))
	_, err = c.Send(context.Background(), body(t, receipt("shop-1/6/sale")))
	if e := classOf(t, err); e.Class != fiscal.ClassUnknown || !strings.Contains(err.Error(), "no answer within") {
		t.Fatalf("timeout: %v", err)
	}
}

func TestSendContextCancelled(t *testing.T) {
	t.Parallel()
	reg := newRegister(t, chekonlinetest.Options{})
	c := newClient(t, reg, nil)
	ctx, cancel := context.WithCancel(context.Background())
	reg.Inject(chekonlinetest.Delay(time.Minute))
	go func() {
		// Cancel once the register holds the request.
		for reg.Stats().Printed == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	_, err := c.Send(ctx, body(t, receipt("shop-1/7/sale")))
	e := classOf(t, err)
	if e.Class != fiscal.ClassUnknown || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	if st := reg.Stats(); st.Complex != 1 {
		t.Fatalf("retried after cancel: %+v", st)
	}
}

func TestSendRejectsBadBody(t *testing.T) {
	t.Parallel()
	reg := newRegister(t, chekonlinetest.Options{})
	c := newClient(t, reg, nil)
	for _, b := range []string{"", "[]", `{"Lines":[]}`, `{"RequestId":""}`} {
		_, err := c.Send(context.Background(), []byte(b))
		if e := classOf(t, err); e.Class != fiscal.ClassPermanent {
			t.Fatalf("%q: %v", b, err)
		}
	}
	if reg.Stats().Requests != 0 {
		t.Fatal("a bad body was sent")
	}
}

// TestRateLimit runs the limiter on a clock that stands still: every
// reservation is made at the same instant, so the delays it hands out must be
// 0, 1/Rate, 2/Rate, ... — one request per 1/Rate, retries included.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	reg := newRegister(t, chekonlinetest.Options{})
	c := newClient(t, reg, func(c *fiscal.Config) { c.Rate = 4; c.MaxInFlight = 4 })
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	var delays []time.Duration
	fiscal.UseClock(c,
		func() time.Time { return t0 },
		func(_ context.Context, d time.Duration) error {
			mu.Lock()
			defer mu.Unlock()
			delays = append(delays, d)
			return nil
		})
	const n = 12
	reg.Inject(chekonlinetest.FCE(18), chekonlinetest.FCE(18)) // two retries also pass the limiter
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if _, err := c.Send(context.Background(), body(t, receipt(fmt.Sprintf("shop-1/%d/sale", i)))); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	attempts := reg.Stats().Complex
	if attempts != n+2 || reg.Stats().Printed != n {
		t.Fatalf("%d attempts, %d printed", attempts, reg.Stats().Printed)
	}
	// The first attempt goes at once; each later one waits its turn.
	if len(delays) != attempts-1 {
		t.Fatalf("%d of %d attempts waited, want all but the first", len(delays), attempts)
	}
	sort.Slice(delays, func(i, j int) bool { return delays[i] < delays[j] })
	prev := time.Duration(0)
	for i, d := range delays {
		if gap := d - prev; gap < 250*time.Millisecond-time.Microsecond {
			t.Fatalf("attempt %d released %v after the one before, want ≥ 250ms (delays %v)", i+1, gap, delays)
		}
		prev = d
	}
}

// TestMaxInFlight holds each answer briefly so that concurrent requests
// would overlap at the register if the client let them.
func TestMaxInFlight(t *testing.T) {
	t.Parallel()
	for _, limit := range []int{1, 2} {
		reg := newRegister(t, chekonlinetest.Options{})
		c := newClient(t, reg, func(c *fiscal.Config) { c.MaxInFlight = limit })
		const n = 6
		for range n {
			reg.Inject(chekonlinetest.Delay(20 * time.Millisecond))
		}
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				if _, err := c.Send(context.Background(), body(t, receipt(fmt.Sprintf("s/%d", i)))); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		st := reg.Stats()
		if st.MaxConcurrent > limit || st.Printed != n {
			t.Fatalf("limit %d: register saw %d at once, printed %d", limit, st.MaxConcurrent, st.Printed)
		}
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	reg := newRegister(t, chekonlinetest.Options{})
	c := newClient(t, reg, nil)
	if err := c.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := reg.Stats()
	if st.Checks != 1 || st.Printed != 0 || st.Complex != 0 {
		t.Fatalf("check: %+v", st)
	}
}

func TestPlainHTTPRegister(t *testing.T) {
	t.Parallel()
	reg := newRegister(t, chekonlinetest.Options{Plain: true})
	if !strings.HasPrefix(reg.URL(), "http://") {
		t.Fatal(reg.URL())
	}
	c := newClient(t, reg, nil)
	if err := c.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(context.Background(), body(t, receipt("p/1"))); err != nil {
		t.Fatal(err)
	}
	if c.URL() != reg.URL()+fiscal.ComplexPath {
		t.Fatalf("URL %q", c.URL())
	}
}

// TestTLSFailures: each way TLS can go wrong gives a configuration error
// with a message that says what to fix, and prints nothing.
func TestTLSFailures(t *testing.T) {
	t.Parallel()
	reg := newRegister(t, chekonlinetest.Options{})
	plain := newRegister(t, chekonlinetest.Options{Plain: true})
	b := reg.Certs()
	cases := []struct {
		name string
		mod  func(*fiscal.Config)
		want string
	}{
		{"certificate from another CA", func(c *fiscal.Config) { c.Certificate = b.Stranger.TLS() },
			"the register rejected the TLS handshake: check register.certificate and register.private_key"},
		{"no client certificate", func(c *fiscal.Config) { c.Certificate = tls.Certificate{} },
			"the register rejected the TLS handshake: no client certificate is configured"},
		{"server not trusted", func(c *fiscal.Config) { c.RootCAs = nil },
			"the register's TLS certificate is not trusted (set register.ca_file"},
		{"https to a plain register", func(c *fiscal.Config) { c.URL = strings.Replace(plain.URL(), "http://", "https://", 1) },
			"the register did not answer with TLS: use http://"},
		{"http to a TLS register", func(c *fiscal.Config) {
			c.URL = strings.Replace(reg.URL(), "https://", "http://", 1)
			c.Certificate = tls.Certificate{}
		}, "the register expects https://"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newClient(t, reg, tc.mod)
			for _, call := range []string{"Send", "Check"} {
				var err error
				if call == "Send" {
					_, err = c.Send(context.Background(), body(t, receipt("tls/1")))
				} else {
					err = c.Check(context.Background())
				}
				e := classOf(t, err)
				if e.Class != fiscal.ClassConfig || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("%s: %v (class %v), want config error containing %q", call, err, e.Class, tc.want)
				}
			}
		})
	}
	if n := len(reg.Ledger()) + len(plain.Ledger()); n != 0 {
		t.Fatalf("%d documents printed", n)
	}
}

func TestRSAClientCertificate(t *testing.T) {
	t.Parallel()
	reg := newRegister(t, chekonlinetest.Options{})
	c := newClient(t, reg, func(c *fiscal.Config) { c.Certificate = reg.Certs().ClientRSA.TLS() })
	if err := c.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestForbiddenWithoutCertificateIsConfig(t *testing.T) {
	t.Parallel()
	reg := newRegister(t, chekonlinetest.Options{ClientAuth: tls.RequestClientCert})
	c := newClient(t, reg, func(c *fiscal.Config) { c.Certificate = tls.Certificate{} })
	_, err := c.Send(context.Background(), body(t, receipt("x/1")))
	if e := classOf(t, err); e.Class != fiscal.ClassConfig || e.HTTPStatus != 403 {
		t.Fatalf("%v", err)
	}
	if reg.Stats().Requests != 1 {
		t.Fatal("a 403 was retried")
	}
}

func TestNewClientConfig(t *testing.T) {
	t.Parallel()
	reg := newRegister(t, chekonlinetest.Options{})
	cases := []struct {
		cfg  fiscal.Config
		want string
	}{
		{fiscal.Config{URL: "ftp://x"}, "scheme must be https or http"},
		{fiscal.Config{URL: "https://"}, "has no host"},
		{fiscal.Config{URL: "http://127.0.0.1:4444", Certificate: reg.ClientCert()}, "plain http but a client certificate"},
		{fiscal.Config{URL: "https://u:p@kkt.example"}, "must not carry a user"},
	}
	for _, tc := range cases {
		_, err := fiscal.NewClient(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "fiscal: ") {
			t.Fatalf("%+v: %v, want %q", tc.cfg.URL, err, tc.want)
		}
	}
	for in, want := range map[string]string{
		"https://kkt.chekonline.ru":                     "https://kkt.chekonline.ru/fr/api/v2/Complex",
		"https://kkt.chekonline.ru/":                    "https://kkt.chekonline.ru/fr/api/v2/Complex",
		"http://10.0.0.5:4444/fr/api/v2/Complex":        "http://10.0.0.5:4444/fr/api/v2/Complex",
		" https://fce.chekonline.ru:4443/?x=1 ":         "https://fce.chekonline.ru:4443/fr/api/v2/Complex",
		"https://kkt4.chekonline.ru/fr/api/v2/Complex/": "https://kkt4.chekonline.ru/fr/api/v2/Complex",
	} {
		c, err := fiscal.NewClient(fiscal.Config{URL: in})
		if err != nil || c.URL() != want {
			t.Fatalf("%q: %v %v, want %q", in, c, err, want)
		}
	}
}

// TestLogsKeepBuyersPrivate: the body (with the buyer's e-mail) never reaches
// a log line, at any level, even across retries.
func TestLogsKeepBuyersPrivate(t *testing.T) {
	t.Parallel()
	reg := newRegister(t, chekonlinetest.Options{})
	var buf bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewJSONHandler(&lockedWriter{w: &buf, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := newClient(t, reg, func(c *fiscal.Config) { c.Logger = log })
	reg.Inject(chekonlinetest.FCE(18), chekonlinetest.PrintThenDrop())
	if _, err := c.Send(context.Background(), body(t, receipt("log/1"))); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	if !strings.Contains(out, "retrying") {
		t.Fatalf("retries were not logged: %s", out)
	}
	if strings.Contains(out, "buyer@example.com") || strings.Contains(out, "Булочка") {
		t.Fatalf("log carries the request body: %s", out)
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func BenchmarkSend(b *testing.B) {
	reg := chekonlinetest.New(chekonlinetest.Options{})
	defer reg.Close()
	c := newClient(b, reg, nil)
	for i := 0; b.Loop(); i++ {
		if _, err := c.Send(context.Background(), body(b, receipt(fmt.Sprintf("b/%d", i)))); err != nil {
			b.Fatal(err)
		}
	}
}
