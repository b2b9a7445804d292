package status

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chekd/chekd/daemon"
	"github.com/chekd/chekd/store"
)

// Secrets the answers must never contain.
const (
	testToken  = "tok-9f2c41d7e8a6b3c5d0e1"
	bodySecret = "BODY-SECRET-7f3a2e" // inside every request body in the store
)

// base is when the fixture's first receipt was made; msk is the page's zone.
var (
	base = time.Date(2024, 1, 15, 7, 30, 0, 0, time.UTC)
	msk  = time.FixedZone("MSK", 3*60*60)
)

// backend is a Backend over a real store file. Retry does what the daemon
// does to the store: a pending receipt is returned as it is, a failed or
// needs_person one is requeued under the next generation.
type backend struct {
	db      *store.DB
	metrics *daemon.Metrics
	shops   []daemon.ShopStatus

	mu      sync.Mutex
	health  error
	retried []uint64
}

func (b *backend) Store() *store.DB           { return b.db }
func (b *backend) Shops() []daemon.ShopStatus { return b.shops }
func (b *backend) Metrics() *daemon.Metrics   { return b.metrics }

func (b *backend) Healthy() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.health
}

func (b *backend) setHealth(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.health = err
}

func (b *backend) Retry(ctx context.Context, id uint64) (store.Receipt, error) {
	b.mu.Lock()
	b.retried = append(b.retried, id)
	b.mu.Unlock()
	rec, err := b.db.GetByID(id)
	if err != nil {
		return store.Receipt{}, err
	}
	switch rec.State {
	case store.StatePending:
		return rec, nil
	case store.StateFailed, store.StateNeedsPerson:
		gen := rec.Generation + 1
		return b.db.Requeue(rec.Key, gen, fmt.Sprintf("%s-g%d", rec.Key, gen), rec.Body, base.Add(time.Hour))
	}
	return store.Receipt{}, fmt.Errorf("%w: it is %s", daemon.ErrNotRetryable, rec.State)
}

func (b *backend) retries() []uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]uint64(nil), b.retried...)
}

// newBackend opens a store in a temporary directory and fills it like an
// end-to-end run of two shops: every state, sales, refunds and the
// prepayment scheme.
func newBackend(t testing.TB) *backend {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "chekd.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	populate(t, db)
	return &backend{
		db:      db,
		metrics: daemon.NewMetrics(),
		shops: []daemon.ShopStatus{
			{Name: "alpha", RegisterState: daemon.RegisterOK, Pending: 1, OldestPending: base.Add(10 * time.Minute)},
			{Name: "beta", RegisterState: daemon.RegisterHalted,
				RegisterReason: "смена превысила 24 часа", RegisterSince: base.Add(2 * time.Hour), Pending: 1, OldestPending: base.Add(70 * time.Minute)},
		},
	}
}

// fixture receipts, in creation (ID) order.
type fixture struct {
	shop        string
	orderID     int64
	number      string
	kind        store.Kind
	contact     string
	total       int64
	state       store.State // the state it ends in
	msg, reason string
}

var fixtures = []fixture{
	1: {shop: "alpha", orderID: 1001, number: "1001", kind: "sale", contact: "ivan.petrov@example.com", total: 123456, state: store.StatePrinted},
	2: {shop: "alpha", orderID: 1002, number: "1002", kind: "sale", contact: "+79991234567", total: 99900, state: store.StatePending, msg: "register: no answer in 30s"},
	3: {shop: "alpha", orderID: 1003, number: "1003", kind: "sale", contact: "anna@example.org", total: 250000, state: store.StateFailed, msg: "register: bad VAT rate <vat18>"},
	4: {shop: "alpha", orderID: 1001, number: "1001", kind: "refund", contact: "ivan.petrov@example.com", total: 123456, state: store.StatePrinted},
	5: {shop: "beta", orderID: 2001, number: "B-2001", kind: "sale", contact: "", total: 50000, state: store.StateSkipped, reason: "оплата при получении"},
	6: {shop: "beta", orderID: 2002, number: "B-2002", kind: "sale", contact: "olga@example.com", total: 1000, state: store.StateDryRun},
	7: {shop: "beta", orderID: 2003, number: "B-2003", kind: "prepayment", contact: "+79995550011", total: 777700, state: store.StateNeedsPerson, msg: "register: outcome unknown"},
	8: {shop: "beta", orderID: 2005, number: "A-17", kind: "settlement", contact: "petr@example.com", total: 100000000, state: store.StatePending},
	9: {shop: "alpha", orderID: 3001, number: "2005", kind: "sale", contact: "x@example.com", total: 5, state: store.StatePrinted},
}

func qrOf(id int) string {
	return fmt.Sprintf("t=20240115T1%03d&s=1234.56&fn=9999078900012345&i=%d&fp=38263801%02d&n=1", id, 100+id, id)
}

func populate(t testing.TB, db *store.DB) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, shop := range []string{"alpha", "beta"} {
		_, err := db.InitShop(shop, store.Cursor{UpdatedAt: "2024-01-15T10:00:00.000+03:00", ID: 0}, base)
		must(err)
	}
	must(db.SetCursor("alpha", store.Cursor{UpdatedAt: "2024-01-15T12:59:58.000+03:00", ID: 3001}))
	must(db.SetPollResult("alpha", base.Add(3*time.Hour), ""))
	must(db.SetPollResult("beta", base.Add(3*time.Hour), "insales: 401 Unauthorized: check the API key"))
	for id := 1; id < len(fixtures); id++ {
		f := fixtures[id]
		at := base.Add(time.Duration(id) * 10 * time.Minute)
		k := store.Key{Shop: f.shop, OrderID: f.orderID, Kind: f.kind}
		created := f.state
		if created == store.StatePrinted || created == store.StateFailed || created == store.StateNeedsPerson {
			created = store.StatePending
		}
		rec, err := db.Create(store.Receipt{
			Key: k, OrderNumber: f.number, RequestID: k.String() + "-g1", State: created,
			Body:    []byte(fmt.Sprintf(`{"Password":31337,"note":%q}`, bodySecret)),
			Contact: f.contact, Total: f.total, Reason: f.reason, CreatedAt: at,
		})
		must(err)
		if rec.ID != uint64(id) {
			t.Fatalf("fixture %d got id %d", id, rec.ID)
		}
		switch f.state {
		case store.StatePrinted:
			must(db.MarkPrinted(k, store.Fiscal{
				FiscalDocNumber: uint64(100 + id), FiscalSign: uint64(3826380100 + id),
				FNSerial: "9999078900012345", RegistrationNumber: "0000000001012345",
				DocNumber: uint64(id), Shift: 7, Date: at, QR: qrOf(id), Total: uint64(f.total),
			}, at.Add(time.Minute)))
		case store.StatePending:
			if f.msg != "" {
				must(db.RecordAttempt(k, "network", f.msg, at.Add(5*time.Minute), at.Add(time.Minute)))
			}
		case store.StateFailed:
			must(db.MarkFailed(k, "rejected", f.msg, at.Add(time.Minute)))
		case store.StateNeedsPerson:
			must(db.MarkNeedsPerson(k, "ambiguous", f.msg, at.Add(time.Minute)))
		}
	}
}

// testServer serves New(b, opts) over real HTTP on 127.0.0.1, with the
// listen address set to the server's own. logs collects the log lines.
type testServer struct {
	*httptest.Server
	b    *backend
	logs *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
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

func startServer(t testing.TB, b *backend, token string) *testServer {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	logs := &syncBuffer{}
	srv.Config.Handler = New(b, Options{
		Token: token, Listen: srv.Listener.Addr().String(), Location: msk,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	srv.Start()
	t.Cleanup(srv.Close)
	return &testServer{Server: srv, b: b, logs: logs}
}

// answer is a response read whole.
type answer struct {
	code   int
	header http.Header
	body   string
}

// do sends a request; token "" sends no Authorization header. Redirects are
// not followed.
func (s *testServer) do(t testing.TB, method, path, token string, body io.Reader, hdr map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	c := s.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{code: resp.StatusCode, header: resp.Header, body: string(b)}
}

func (s *testServer) get(t testing.TB, path, token string) answer {
	t.Helper()
	return s.do(t, http.MethodGet, path, token, nil, nil)
}

func form(kv ...string) io.Reader {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(kv[i] + "=" + url.QueryEscape(kv[i+1]))
	}
	return strings.NewReader(b.String())
}
