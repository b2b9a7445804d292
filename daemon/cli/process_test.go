package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chekd/chekd/fiscal/certs/certstest"
	"github.com/chekd/chekd/fiscal/chekonlinetest"
	"github.com/chekd/chekd/insales"
	"github.com/chekd/chekd/insales/insalestest"
	"github.com/chekd/chekd/store"
)

// The test binary doubles as chekd: with this variable set it runs the
// command line it was given instead of the tests, so process tests run the
// real `chekd run` as a child they can signal and kill.
const asChekd = "CHEKD_TEST_AS_CHEKD"

func TestMain(m *testing.M) {
	if os.Getenv(asChekd) == "1" {
		os.Exit(Execute(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// procWorld is fake shops and a fake register in this process, and a config
// file for a chekd child.
type procWorld struct {
	t       *testing.T
	dir     string
	listen  string
	reg     *chekonlinetest.Register
	shops   map[string]*insalestest.Shop
	cfgPath string
}

func newProcWorld(t *testing.T, shops ...string) *procWorld {
	t.Helper()
	b, err := certstest.Shared()
	if err != nil {
		t.Fatal(err)
	}
	w := &procWorld{t: t, dir: t.TempDir(), shops: map[string]*insalestest.Shop{}, listen: freeAddr(t)}
	w.reg = chekonlinetest.New(chekonlinetest.Options{Certs: b})
	t.Cleanup(w.reg.Close)
	key, err := b.ClientECDSA.KeyPEM(certstest.PKCS8, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"client.crt": b.ClientECDSA.ChainPEM, "client.key": key, "ca.crt": b.CA.CertPEM} {
		if err := os.WriteFile(filepath.Join(w.dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range shops {
		w.shops[s] = insalestest.New(t, insalestest.Options{})
	}
	w.cfgPath = filepath.Join(w.dir, "config.yaml")
	w.writeConfig(shops...)
	return w
}

// writeConfig writes a config with the named shops.
func (w *procWorld) writeConfig(shops ...string) {
	w.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "data_dir: %s\nhttp: {listen: %q}\nlog: {level: debug}\nshops:\n", filepath.Join(w.dir, "data"), w.listen)
	for _, name := range shops {
		s := w.shops[name]
		fmt.Fprintf(&b, `  - name: %s
    schedule: "@every 1s"
    start_from: "2020-01-01T00:00:00+03:00"
    insales: {url: %s, api_key: %s, password: %s}
    register:
      url: %s
      certificate_file: client.crt
      private_key_file: client.key
      ca_file: ca.crt
      rate: 100
    receipts:
      tax_system: osn
      vat_goods: vat22
      vat_delivery: vat22
      sale_statuses: [dispatched]
      refund_statuses: [returned]
      payment_methods: [1797]
`, name, s.URL(), s.APIKey(), s.Password(), w.reg.URL())
	}
	if err := os.WriteFile(w.cfgPath, []byte(b.String()), 0o600); err != nil {
		w.t.Fatal(err)
	}
}

// sale adds a card order already in the sale status.
func (w *procWorld) sale(shop string) insales.Order {
	w.t.Helper()
	s := w.shops[shop]
	o := s.AddOrder(insales.Order{
		PaymentGatewayID: 1797, ItemsPrice: 100000, TotalPrice: 100000,
		Client: insales.Buyer{Email: "buyer@example.com"},
		Lines: []insales.OrderLine{{Title: "Товар", Quantity: 1000, SalePrice: 100000, FullSalePrice: 100000,
			TotalPrice: 100000, FullTotalPrice: 100000, VAT: insales.NoVAT}},
	})
	if err := s.SetStatus(o.ID, "dispatched"); err != nil {
		w.t.Fatal(err)
	}
	return o
}

// child is a running `chekd run`.
type child struct {
	t    *testing.T
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan error
}

func (w *procWorld) start() *child {
	w.t.Helper()
	cmd := exec.Command(os.Args[0], "run", "--config", w.cfgPath)
	cmd.Env = append(os.Environ(), asChekd+"=1")
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	c := &child{t: w.t, cmd: cmd, out: out, done: make(chan error, 1)}
	go func() { c.done <- cmd.Wait() }()
	w.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-c.done
		if w.t.Failed() {
			w.t.Logf("chekd output:\n%s", out.String())
		}
	})
	waitUntil(w.t, "chekd to answer /healthz", func() bool {
		resp, err := http.Get("http://" + w.listen + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return c
}

// signal sends sig and waits for the exit; it returns the exit code.
func (c *child) signal(sig syscall.Signal) int {
	c.t.Helper()
	if err := c.cmd.Process.Signal(sig); err != nil {
		c.t.Fatal(err)
	}
	select {
	case <-c.done:
	case <-time.After(90 * time.Second):
		c.t.Fatalf("chekd did not exit after %v", sig)
	}
	c.done <- nil // for the cleanup
	return c.cmd.ProcessState.ExitCode()
}

// receipts asks the running chekd's API.
func (w *procWorld) receipts(query string) []apiReceipt {
	w.t.Helper()
	resp, err := http.Get("http://" + w.listen + "/api/receipts?" + query)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var out struct {
		Receipts []apiReceipt `json:"receipts"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		w.t.Fatal(err)
	}
	return out.Receipts
}

// openStore opens the stopped chekd's store and checks it.
func (w *procWorld) openStore() *store.DB {
	w.t.Helper()
	db, err := store.Open(filepath.Join(w.dir, "data", "chekd.db"), store.Options{})
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { db.Close() })
	if err := db.Check(); err != nil {
		w.t.Fatal(err)
	}
	return db
}

func TestKillBetweenIntentAndAnswerPrintsOnce(t *testing.T) {
	w := newProcWorld(t, "shop")
	// The register prints the document and holds its answer: chekd has sent
	// the intent and waits for the answer when it is killed.
	w.reg.Inject(chekonlinetest.Delay(5 * time.Minute))
	c := w.start()
	w.sale("shop")
	waitUntil(t, "the register to print", func() bool { return len(w.reg.Ledger()) == 1 })
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-c.done
	c.done <- nil

	c = w.start()
	waitUntil(t, "the receipt to be recorded as printed", func() bool {
		return len(w.receipts("state=printed")) == 1
	})
	if code := c.signal(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}
	if n := len(w.reg.Ledger()); n != 1 {
		t.Fatalf("the register printed %d documents, want exactly 1", n)
	}
	if st := w.reg.Stats(); st.CacheHits == 0 {
		t.Errorf("the resend after the kill must be answered from the register's cache: %+v", st)
	}
	recs, _, err := w.openStore().List(store.Filter{})
	if err != nil || len(recs) != 1 || recs[0].State != store.StatePrinted || recs[0].Fiscal == nil {
		t.Fatalf("store: %+v, %v", recs, err)
	}
}

func TestGracefulShutdownRecordsTheAnswerInFlight(t *testing.T) {
	w := newProcWorld(t, "shop")
	w.reg.Inject(chekonlinetest.Delay(2 * time.Second))
	c := w.start()
	w.sale("shop")
	waitUntil(t, "the register to print", func() bool { return len(w.reg.Ledger()) == 1 })
	// The answer is still held by the register: SIGTERM must wait for it.
	if code := c.signal(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}
	recs, _, err := w.openStore().List(store.Filter{})
	if err != nil || len(recs) != 1 || recs[0].State != store.StatePrinted {
		t.Fatalf("the answer in flight was not recorded: %+v, %v\n%s", recs, err, c.out.String())
	}
	if n := len(w.reg.Ledger()); n != 1 {
		t.Fatalf("%d documents", n)
	}
}

func TestSIGHUPReloadsShopsAndKeepsAGoodConfigOverABadOne(t *testing.T) {
	w := newProcWorld(t, "first", "second")
	w.writeConfig("first")
	c := w.start()
	w.sale("first")
	waitUntil(t, "the first shop's receipt", func() bool { return len(w.receipts("shop=first&state=printed")) == 1 })

	// Add a shop: it starts without a restart.
	w.writeConfig("first", "second")
	if err := c.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	w.sale("second")
	waitUntil(t, "the added shop's receipt", func() bool { return len(w.receipts("shop=second&state=printed")) == 1 })

	// A config with errors is refused; the running one goes on.
	if err := os.WriteFile(w.cfgPath, []byte("data_dir: relative/path\nshops: []\nbogus: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the refusal in the log", func() bool { return strings.Contains(c.out.String(), "config rejected") })
	w.sale("first")
	waitUntil(t, "a receipt after the refused reload", func() bool { return len(w.receipts("shop=first&state=printed")) == 2 })
	if !strings.Contains(c.out.String(), "bogus") {
		t.Errorf("every problem of the refused config must be logged:\n%s", c.out.String())
	}

	// Remove a shop: it stops; its records stay.
	w.writeConfig("first")
	if err := c.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the second shop to stop", func() bool { return strings.Contains(c.out.String(), `stopped=[second]`) })
	if code := c.signal(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if n := len(w.reg.Ledger()); n != 3 {
		t.Fatalf("%d documents, want 3", n)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitUntil polls cond; the deadline only guards against a hang.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
