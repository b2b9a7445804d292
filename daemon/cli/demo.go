package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/chekd/chekd/daemon"
	"github.com/chekd/chekd/daemon/config"
	"github.com/chekd/chekd/daemon/status"
	"github.com/chekd/chekd/fiscal/certs/certstest"
	"github.com/chekd/chekd/fiscal/chekonlinetest"
	"github.com/chekd/chekd/insales"
	"github.com/chekd/chekd/insales/insalestest"
	"github.com/chekd/chekd/store"
)

type demoOpts struct {
	listen    string
	step      time.Duration
	untilDone bool
	dataDir   string
}

func newDemoCmd(g *globals) *cobra.Command {
	var o demoOpts
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run chekd against a built-in demo shop and register on this machine (no accounts, no network)",
		Long: `demo starts a fake InSales shop and a fake Chekonline register (TLS with a client
certificate) on loopback, writes a config for them, and runs the real daemon against
them. A dozen orders move through statuses every few seconds: sales, a refund, a
discounted order, a cash-on-delivery order that gets no receipt. Each receipt is
printed here as the register prints it, and the status page is served on --listen.
Stop it with Ctrl-C.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), g, o)
		},
	}
	cmd.Flags().StringVar(&o.listen, "listen", "127.0.0.1:8080", "status page address (a free port is taken if this one is busy)")
	cmd.Flags().DurationVar(&o.step, "step", 2*time.Second, "time between two order changes")
	cmd.Flags().BoolVar(&o.untilDone, "until-done", false, "exit when every order has moved and its receipts are printed")
	cmd.Flags().StringVar(&o.dataDir, "data-dir", "", "keep the demo's database here (default: a temporary directory, removed at exit)")
	return cmd
}

func runDemo(ctx context.Context, g *globals, o demoOpts) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	dir := o.dataDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "chekd-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}

	// The fake shop and the fake register, on loopback.
	shop := insalestest.NewHandler(insalestest.Options{RateRequests: 100000})
	shopSrv := httptest.NewServer(shop)
	defer shopSrv.Close()
	bundle, err := certstest.Shared()
	if err != nil {
		return fmt.Errorf("demo: make the register's test certificates: %w", err)
	}
	reg := chekonlinetest.New(chekonlinetest.Options{Certs: bundle})
	defer reg.Close()

	cfgPath, err := writeDemoConfig(dir, shopSrv.URL, shop, reg.URL(), bundle, o.listen)
	if err != nil {
		return err
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return fmt.Errorf("demo: its own config is invalid: %w", err)
	}
	log := slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	out := &syncWriter{w: g.stdout}
	d, err := daemon.New(cfg, daemon.Options{
		Logger:    log,
		Version:   Version,
		RetryMin:  time.Second,
		RetryMax:  10 * time.Second,
		OnPrinted: func(r store.Receipt) { printReceipt(out, r) },
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		_ = d.Close()
		return err
	}
	srv := &http.Server{
		Handler:           status.New(d, status.Options{Listen: ln.Addr().String(), Logger: log}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	fmt.Fprintf(out, "chekd demo: shop %s, register %s (TLS, client certificate), data in %s\n", shopSrv.URL, reg.URL(), dir)
	fmt.Fprintf(out, "status page: http://%s/   metrics: http://%s/metrics   stop: Ctrl-C\n", ln.Addr(), ln.Addr())

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- d.Run(runCtx) }()

	sc := newDemoScenario(shop)
	expected := sc.expected
	ticker := time.NewTicker(o.step)
	defer ticker.Stop()
	var finished bool
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err := <-done:
			return err
		case <-ticker.C:
			if !finished {
				line, more := sc.next()
				if line != "" {
					fmt.Fprintf(out, "  shop: %s\n", line)
				}
				finished = !more
				// The schedule polls every 2 s; a poll right after each
				// change shows every status the demo moves an order through,
				// however short --step is.
				d.PollNow("demo")
			}
			if finished && o.untilDone && demoDone(d.Store(), expected) {
				break loop
			}
		}
	}
	cancel()
	if err := <-done; err != nil {
		return err
	}
	fmt.Fprintf(out, "chekd demo: the register printed %d documents\n", len(reg.Ledger()))
	return nil
}

// demoDone reports whether every expected receipt is printed.
func demoDone(db *store.DB, want int) bool {
	counts, err := db.Counts("")
	return err == nil && counts[store.StatePrinted] >= want && counts[store.StatePending] == 0
}

// writeDemoConfig writes the certificate files and the config a merchant
// would write for this shop and register.
func writeDemoConfig(dir, shopURL string, shop *insalestest.Handler, regURL string, b *certstest.Bundle, listen string) (string, error) {
	key, err := b.ClientECDSA.KeyPEM(certstest.PKCS8, nil)
	if err != nil {
		return "", err
	}
	files := map[string][]byte{"client.crt": b.ClientECDSA.ChainPEM, "client.key": key, "ca.crt": b.CA.CertPEM}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return "", err
		}
	}
	cfg := fmt.Sprintf(`# Written by chekd demo.
data_dir: %s
log: {level: warn, format: text}
http: {listen: %q}
shops:
  - name: demo
    schedule: "@every 2s"
    insales:
      url: %s
      api_key: %s
      password: %s
      order_field: Фискальный чек
    register:
      url: %s
      certificate_file: client.crt
      private_key_file: client.key
      ca_file: ca.crt
      rate: 20
    receipts:
      tax_system: usn_income
      vat_goods: none
      vat_delivery: none
      sale_statuses: [dispatched]
      refund_statuses: [returned]
      payment_methods: [1797, "Банковской картой онлайн"]
      contact: email_then_phone
`, dir, listen, shopURL, shop.APIKey(), shop.Password(), regURL)
	path := filepath.Join(dir, "config.yaml")
	return path, os.WriteFile(path, []byte(cfg), 0o600)
}

// demoScenario is the shop's day: orders arrive and move through statuses.
type demoScenario struct {
	shop     *insalestest.Handler
	steps    []func() string
	expected int // receipts the register should print
	i        int
}

func (s *demoScenario) next() (string, bool) {
	if s.i >= len(s.steps) {
		return "", false
	}
	line := s.steps[s.i]()
	s.i++
	return line, s.i < len(s.steps)
}

// demoLine is an order line: qty in thousandths, price and total in kopecks.
func demoLine(title string, qty, price, fullTotal int64) insales.OrderLine {
	return insales.OrderLine{
		Title: title, Quantity: qty, SalePrice: price, TotalPrice: price * qty / 1000,
		FullSalePrice: fullTotal * 1000 / qty, FullTotalPrice: fullTotal, VAT: insales.NoVAT,
	}
}

func newDemoScenario(shop *insalestest.Handler) *demoScenario {
	s := &demoScenario{shop: shop}
	type order struct {
		email, phone string
		gateway      int64
		delivery     int64
		lines        []insales.OrderLine
	}
	orders := []order{
		{email: "anna@example.com", gateway: 1797, delivery: 30000, lines: []insales.OrderLine{
			demoLine("Чайник «Уют» 1,7 л", 1000, 249000, 249000), demoLine("Кружка фарфоровая", 2000, 45000, 90000)}},
		{phone: "8 (999) 123-45-67", gateway: 1797, lines: []insales.OrderLine{ // 10% discount, 10% card margin
			demoLine("Плед шерстяной", 1000, 320000, 316800), demoLine("Подушка", 2000, 150000, 297000)}},
		{email: "oleg@example.com", gateway: 1797, delivery: 25000, lines: []insales.OrderLine{ // 100 ₽ off three items
			demoLine("Свеча ароматическая", 3000, 33333, 89999)}},
		{email: "cash@example.com", gateway: 2958, delivery: 30000, lines: []insales.OrderLine{ // cash on delivery
			demoLine("Сковорода", 1000, 189000, 189000)}},
		{email: "maria@example.com", gateway: 1797, lines: []insales.OrderLine{ // weighed goods
			demoLine("Сыр пармезан, кг", 347, 280000, 97160)}},
		{email: "return@example.com", gateway: 1797, delivery: 30000, lines: []insales.OrderLine{
			demoLine("Термос 0,5 л", 1000, 159000, 159000)}},
		{email: "ivan@example.com", gateway: 1797, lines: []insales.OrderLine{
			demoLine("Набор ножей 🔪 «Шеф» — 5 предметов", 1000, 459000, 459000)}},
		{phone: "+7 912 000-11-22", gateway: 1797, delivery: 19900, lines: []insales.OrderLine{
			demoLine("Кофе в зёрнах 1 кг", 2000, 129000, 258000), demoLine("Фильтры бумажные", 1000, 19900, 19900)}},
		{email: "flip@example.com", gateway: 1797, lines: []insales.OrderLine{
			demoLine("Чайный сервиз", 1000, 699000, 699000)}},
		{email: "olga@example.com", gateway: 1797, delivery: 35000, lines: []insales.OrderLine{
			demoLine("Скатерть льняная", 1000, 210000, 210000)}},
		{email: "late@example.com", gateway: 1797, lines: []insales.OrderLine{
			demoLine("Мельница для перца", 2000, 89000, 178000)}},
		{email: "petr@example.com", gateway: 1797, delivery: 30000, lines: []insales.OrderLine{
			demoLine("Доска разделочная", 1000, 99000, 99000)}},
	}
	ids := make([]int64, len(orders))
	add := func(i int) func() string {
		return func() string {
			o := orders[i]
			var items int64
			for _, l := range o.lines {
				items += l.FullTotalPrice
			}
			title := "Банковской картой онлайн"
			if o.gateway == 2958 {
				title = "Наложенным платежом"
			}
			got := shop.AddOrder(insales.Order{
				PaymentGatewayID: o.gateway, PaymentTitle: title,
				DeliveryPrice: o.delivery, FullDeliveryPrice: o.delivery,
				ItemsPrice: items, TotalPrice: items + o.delivery,
				Client: insales.Buyer{Email: o.email, Phone: o.phone, Name: "Покупатель"},
				Lines:  o.lines,
			})
			ids[i] = got.ID
			return fmt.Sprintf("new order %s, %s, %s", got.Number, status.FormatRubles(got.TotalPrice), title)
		}
	}
	set := func(i int, st string) func() string {
		return func() string {
			if err := shop.SetStatus(ids[i], st); err != nil {
				return err.Error()
			}
			got, _ := shop.Order(ids[i])
			return fmt.Sprintf("order %s → %s", got.Number, st)
		}
	}
	// Three orders arrive, then each step moves one order along.
	s.steps = []func() string{add(0), add(1), add(2), set(0, "accepted"), set(0, "dispatched"), add(3),
		set(1, "dispatched"), add(4), set(3, "dispatched"), set(2, "dispatched"), add(5), set(5, "dispatched"),
		add(6), set(4, "dispatched"), add(7), set(5, "returned"), set(6, "dispatched"), add(8),
		set(8, "dispatched"), set(8, "accepted"), set(7, "dispatched"), set(8, "dispatched"), add(9), add(10),
		set(9, "dispatched"), add(11), set(10, "dispatched"), set(11, "dispatched")}
	// Every card order is sold once (11), and order 6 is also refunded.
	s.expected = 12
	return s
}

func printReceipt(w io.Writer, r store.Receipt) {
	fd, fp := uint64(0), uint64(0)
	if r.Fiscal != nil {
		fd, fp = r.Fiscal.FiscalDocNumber, r.Fiscal.FiscalSign
	}
	fmt.Fprintf(w, "✓ %-8s заказ %-5s %12s  ФД %-4d ФП %-10d %s\n", status.KindWord(r.Kind), r.OrderNumber, status.FormatRubles(r.Total), fd, fp, daemon.MaskContact(r.Contact))
}

// syncWriter serialises writes from the daemon's goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
