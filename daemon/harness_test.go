package daemon_test

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chekd/chekd/daemon"
	"github.com/chekd/chekd/daemon/config"
	"github.com/chekd/chekd/fiscal/certs/certstest"
	"github.com/chekd/chekd/fiscal/chekonlinetest"
	"github.com/chekd/chekd/insales"
	"github.com/chekd/chekd/insales/insalestest"
	"github.com/chekd/chekd/store"
)

// Card is the fake shop's cashless gateway; COD its cash-on-delivery one.
const (
	Card = 1797
	COD  = 2958
)

// world is one shop and one register, and a daemon run against them.
type world struct {
	t       *testing.T
	shop    *insalestest.Shop
	reg     *chekonlinetest.Register
	dataDir string
	yaml    string // the config as the merchant would write it
	files   map[string][]byte
	d       *daemon.Daemon
	cancel  context.CancelFunc
	done    chan error
	mu      sync.Mutex
	printed []store.Receipt
}

type worldOpts struct {
	shop      insalestest.Options
	extraYAML string // more keys under the shop, indented by 4 spaces
	receipts  string // replaces the receipts block
}

func newWorld(t *testing.T, o worldOpts) *world {
	t.Helper()
	b, err := certstest.Shared()
	if err != nil {
		t.Fatal(err)
	}
	w := &world{
		t:       t,
		shop:    insalestest.New(t, o.shop),
		reg:     chekonlinetest.New(chekonlinetest.Options{Certs: b}),
		dataDir: t.TempDir(),
	}
	t.Cleanup(w.reg.Close)
	keyPEM, err := b.ClientECDSA.KeyPEM(certstest.PKCS8, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.files = map[string][]byte{
		"/etc/chekd/client.crt": b.ClientECDSA.ChainPEM,
		"/etc/chekd/client.key": keyPEM,
		"/etc/chekd/ca.crt":     b.CA.CertPEM,
	}
	receipts := o.receipts
	if receipts == "" {
		receipts = `
      tax_system: osn
      vat_goods: vat22
      vat_delivery: vat22
      sale_statuses: [dispatched]
      refund_statuses: [returned]
      payment_methods: [1797]
      contact: email_then_phone`
	}
	w.yaml = fmt.Sprintf(`
data_dir: %s
http: {listen: "127.0.0.1:0"}
shops:
  - name: test
    schedule: "@every 1h"
    start_from: "2020-01-01T00:00:00+03:00"
    insales:
      url: %s
      api_key: %s
      password: %s
%s
    register:
      url: %s
      certificate_file: /etc/chekd/client.crt
      private_key_file: /etc/chekd/client.key
      ca_file: /etc/chekd/ca.crt
      rate: 1000
      max_in_flight: 4
    receipts:%s
`, w.dataDir, w.shop.URL(), w.shop.APIKey(), w.shop.Password(), o.extraYAML, w.reg.URL(), receipts)
	return w
}

func (w *world) config() *config.Config {
	w.t.Helper()
	cfg, err := config.Parse([]byte(w.yaml), config.Options{
		ReadFile: func(name string) ([]byte, error) {
			if data, ok := w.files[name]; ok {
				return data, nil
			}
			return nil, fs.ErrNotExist
		},
		Stat: func(name string) (fs.FileInfo, error) { return os.Stat(os.DevNull) },
	})
	if err != nil {
		w.t.Fatalf("config: %v\n%s", err, w.yaml)
	}
	return cfg
}

// start runs a daemon on the world's data dir.
func (w *world) start() {
	w.t.Helper()
	d, err := daemon.New(w.config(), daemon.Options{
		Logger:          testLogger(w.t),
		Version:         "test",
		ShutdownGrace:   5 * time.Second,
		RetryMin:        20 * time.Millisecond,
		RetryMax:        200 * time.Millisecond,
		RegisterTimeout: 2 * time.Second,
		OnPrinted: func(r store.Receipt) {
			w.mu.Lock()
			w.printed = append(w.printed, r)
			w.mu.Unlock()
		},
	})
	if err != nil {
		w.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w.d, w.cancel, w.done = d, cancel, make(chan error, 1)
	go func() { w.done <- d.Run(ctx) }()
	waitFor(w.t, "the daemon to run", func() bool { return d.Running() })
	w.t.Cleanup(w.stop)
}

// stop stops the daemon gracefully and waits for it.
func (w *world) stop() {
	if w.cancel == nil {
		return
	}
	w.cancel()
	if err := <-w.done; err != nil {
		w.t.Errorf("daemon stopped with %v", err)
	}
	w.cancel = nil
}

// poll runs polls until one ran (a scheduled one may be under way).
func (w *world) poll() {
	w.t.Helper()
	waitFor(w.t, "a poll", func() bool { return w.d.PollNow("test") })
}

// settle polls until the ledger holds n documents and nothing is pending.
func (w *world) settle(n int) {
	w.t.Helper()
	waitFor(w.t, fmt.Sprintf("%d documents and no pending receipt", n), func() bool {
		w.d.PollNow("test")
		pend, err := w.d.Store().Pending()
		if err != nil {
			w.t.Fatal(err)
		}
		return len(w.reg.Ledger()) >= n && len(pend) == 0
	})
	if got := len(w.reg.Ledger()); got != n {
		w.t.Fatalf("ledger holds %d documents, want %d:\n%s", got, n, ledgerText(w.reg.Ledger()))
	}
}

// order adds an order of two lines and delivery, paid by gateway gw.
func (w *world) order(gw int64, email string) insales.Order {
	return w.shop.AddOrder(insales.Order{
		PaymentGatewayID:  gw,
		PaymentTitle:      "Банковской картой онлайн",
		FullDeliveryPrice: 30000,
		DeliveryPrice:     30000,
		ItemsPrice:        250000,
		TotalPrice:        280000,
		Client:            insales.Buyer{Email: email, Phone: "+7 999 123 45 67", Name: "Иван"},
		Lines: []insales.OrderLine{
			{Title: "Чайник «Уют»", Quantity: 1000, SalePrice: 150000, FullSalePrice: 150000, TotalPrice: 150000, FullTotalPrice: 150000, VAT: insales.NoVAT},
			{Title: "Кружка", Quantity: 2000, SalePrice: 50000, FullSalePrice: 50000, TotalPrice: 100000, FullTotalPrice: 100000, VAT: 22},
		},
	})
}

func (w *world) status(id int64, status string) {
	w.t.Helper()
	if err := w.shop.SetStatus(id, status); err != nil {
		w.t.Fatal(err)
	}
}

// ledgerCount counts documents per RequestId and document type.
func ledgerCount(docs []chekonlinetest.Document) map[string]int {
	out := map[string]int{}
	for _, d := range docs {
		out[fmt.Sprintf("%s/%d", d.RequestID, d.DocumentType)]++
	}
	return out
}

func ledgerText(docs []chekonlinetest.Document) string {
	var b strings.Builder
	for _, d := range docs {
		fmt.Fprintf(&b, "  ФД %d %s type %d total %d\n", d.FiscalDocNumber, d.RequestID, d.DocumentType, d.Total)
	}
	return b.String()
}

// receiptsOf lists the records of one order.
func (w *world) receiptsOf(id int64) map[store.Kind]store.Receipt {
	w.t.Helper()
	recs, err := w.d.Store().ByOrder("test", id)
	if err != nil {
		w.t.Fatal(err)
	}
	out := map[store.Kind]store.Receipt{}
	for _, r := range recs {
		out[r.Kind] = r
	}
	return out
}

// waitFor polls cond until it holds. The deadline only guards against a
// hang; it asserts nothing about speed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// testLogger writes the daemon's log into the test's log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
