package fakes

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chekd/chekd/fiscal"
	"github.com/chekd/chekd/fiscal/certs"
	"github.com/chekd/chekd/insales"
)

// startWorld runs a world with its control API and a client of it.
func startWorld(t *testing.T, opts Options) (*World, *Client) {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	w, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	base, err := w.ServeControl()
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(base)
	if err != nil {
		t.Fatal(err)
	}
	return w, c
}

func cardOrder(email string) NewOrder {
	return NewOrder{
		Payment: "card", Email: email, Delivery: 30000,
		Lines: []NewLine{
			{Title: "Чайник «Уют»", Quantity: 1000, Price: 150000, VAT: -1},
			{Title: "Кружка", Quantity: 2000, Price: 50000, VAT: 22},
		},
	}
}

// insalesClient is chekd's own InSales client, configured from the ready
// line and the password file as a chekd config would be.
func insalesClient(t *testing.T, s ShopInfo) *insales.Client {
	t.Helper()
	pw, err := os.ReadFile(s.PasswordFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(s.PasswordFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("password file %s: mode %v, err %v; want 0600", s.PasswordFile, fi.Mode().Perm(), err)
	}
	c, err := insales.NewClient(insales.Config{
		Shop: s.Name, BaseURL: s.URL, APIKey: s.APIKey, Password: strings.TrimSpace(string(pw)),
		RetryMax: -1, Overlap: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func changed(t *testing.T, c *insales.Client) []insales.Order {
	t.Helper()
	var out []insales.Order
	err := c.ChangedOrders(t.Context(), insales.CursorAt(time.Now().Add(-time.Hour)), func(page []insales.Order, _ insales.Cursor) error {
		out = append(out, page...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestShopsServeOrdersAndStatusesThroughTheControlAPI(t *testing.T) {
	t.Parallel()
	w, c := startWorld(t, Options{Shops: 2, RealLimit: 1, WholeSeconds: 1})
	r := w.Ready()
	if len(r.Shops) != 2 || r.Shops[0].RateRequests != 500 || r.Shops[1].RateRequests != 100000 ||
		r.Shops[0].WholeSeconds || !r.Shops[1].WholeSeconds {
		t.Fatalf("shops %+v: want shop1 with the real limit, shop2 fast with whole seconds", r.Shops)
	}
	ctx := t.Context()
	created, err := c.CreateOrders(ctx, "shop2", []NewOrder{cardOrder("a@example.com"), {Payment: "cod", Email: "b@example.com",
		Lines: []NewLine{{Title: "Ваза", Quantity: 3000, Price: 3333, VAT: 10}}}})
	if err != nil {
		t.Fatal(err)
	}
	if created[0].Total != 280000 || created[1].Total != 9999 || created[0].Email != "a@example.com" {
		t.Fatalf("created %+v", created)
	}
	if err := c.SetStatuses(ctx, "shop2", []StatusChange{{ID: created[0].ID, Status: "accepted"}, {ID: created[0].ID, Status: "dispatched"}}); err != nil {
		t.Fatal(err)
	}
	orders := changed(t, insalesClient(t, r.Shops[1]))
	if len(orders) != 2 {
		t.Fatalf("shop2 serves %d orders, want 2", len(orders))
	}
	for _, o := range orders {
		switch o.ID {
		case created[0].ID:
			if o.FulfillmentStatus != "dispatched" || o.PaymentGatewayID != CardGateway || o.TotalPrice != 280000 || o.FinancialStatus != "paid" {
				t.Errorf("card order %+v", o)
			}
			if !strings.HasSuffix(o.UpdatedAt.Raw, ".000+03:00") {
				t.Errorf("whole-second shop wrote updated_at %q", o.UpdatedAt.Raw)
			}
		case created[1].ID:
			if o.FulfillmentStatus != "new" || o.PaymentGatewayID != CODGateway || o.Lines[0].FullTotalPrice != 9999 {
				t.Errorf("cod order %+v", o)
			}
		}
	}
	if n := len(changed(t, insalesClient(t, r.Shops[0]))); n != 0 {
		t.Errorf("shop1 serves %d orders, want none", n)
	}
	st, err := c.ShopStats(ctx, "shop2")
	if err != nil {
		t.Fatal(err)
	}
	if st.Orders != 2 || st.OrderRequests == 0 || len(st.Violations) != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestShopFaultsReachTheClient(t *testing.T) {
	t.Parallel()
	w, c := startWorld(t, Options{Shops: 1})
	ctx := t.Context()
	if _, err := c.CreateOrders(ctx, "shop1", []NewOrder{cardOrder("a@example.com")}); err != nil {
		t.Fatal(err)
	}
	on := true
	st, err := c.ShopFaults(ctx, "shop1", ShopFaults{Faults: []ShopFault{{Kind: "malformed", Count: 1}, {Kind: "503", Count: 1}}, IgnoreFromID: &on})
	if err != nil {
		t.Fatal(err)
	}
	if st.PendingFaults != 2 || !st.IgnoreFromID {
		t.Fatalf("stats after injecting %+v", st)
	}
	ic := insalesClient(t, w.Ready().Shops[0])
	err = ic.ChangedOrders(ctx, insales.CursorAt(time.Now().Add(-time.Hour)), func([]insales.Order, insales.Cursor) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "insales") {
		t.Fatalf("a malformed page must fail the scan, got %v", err)
	}
	var apiErr *insales.APIError
	err = ic.ChangedOrders(ctx, insales.CursorAt(time.Now().Add(-time.Hour)), func([]insales.Order, insales.Cursor) error { return nil })
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusServiceUnavailable {
		t.Fatalf("want the injected 503, got %v", err)
	}
	if got := changed(t, ic); len(got) != 1 {
		t.Fatalf("after the faults: %d orders, want 1", len(got))
	}
}

func TestRegisterNeedsTheWrittenClientCertificateAndKeepsItsLedger(t *testing.T) {
	t.Parallel()
	w, c := startWorld(t, Options{Shops: 1})
	r := w.Ready()
	ctx := t.Context()
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if fi, err := os.Stat(r.KeyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v, want mode 0600", fi, err)
	}
	cert, err := certs.LoadKeyPair(read(r.CertFile), read(r.KeyFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := certs.CAPool(read(r.CAFile))
	if err != nil {
		t.Fatal(err)
	}
	fc, err := fiscal.NewClient(fiscal.Config{URL: r.Register, Certificate: cert, RootCAs: pool, Rate: 100, RetryMax: -1, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	anon, err := fiscal.NewClient(fiscal.Config{URL: r.Register, RootCAs: pool, Rate: 100, RetryMax: -1, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := anon.Check(ctx); err == nil {
		t.Fatal("the register must refuse a client without a certificate")
	}
	if _, err := c.RegisterFaults(ctx, RegisterFault{Kind: "fce", Code: 18}, RegisterFault{Kind: "print_then_drop"}); err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(fiscal.Request{
		Device: "auto", Password: 1, RequestID: "shop1-1-sale", ClientID: "shop1", DocumentType: fiscal.DocSale,
		Lines:        []fiscal.Line{{Qty: 1000, Price: 12345, PayAttribute: 4, TaxID: 11, Description: "Товар", LineAttribute: 1}},
		NonCash:      []uint64{12345},
		PhoneOrEmail: "a@example.com",
	})
	if err != nil {
		t.Fatal(err)
	}
	var fe *fiscal.Error
	if _, err := fc.Send(ctx, body); !errors.As(err, &fe) || fe.Class != fiscal.ClassTransient {
		t.Fatalf("want the injected busy register, got %v", err)
	}
	if _, err := fc.Send(ctx, body); err == nil {
		t.Fatal("want the dropped answer to be an error")
	}
	res, err := fc.Send(ctx, body)
	if err != nil {
		t.Fatal(err)
	}
	if !res.FromCache || res.GrandTotal != 12345 {
		t.Fatalf("the resend must get the cached answer: %+v", res)
	}
	docs, err := c.Ledger(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 1 || docs[0].RequestID != "shop1-1-sale" || docs[0].Contact != "a@example.com" || docs[0].FiscalDocNumber != res.FiscalDocNumber {
		t.Fatalf("ledger %+v, want the one document", docs)
	}
	st, err := c.RegisterStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Printed != 1 || st.CacheHits != 1 || st.Faults != 2 || st.PendingFaults != 0 || st.Conflicts != 0 {
		t.Fatalf("register stats %+v", st)
	}
}

func TestControlAPIRefusesBadInput(t *testing.T) {
	t.Parallel()
	_, c := startWorld(t, Options{Shops: 1})
	ctx := t.Context()
	cases := []struct {
		name string
		call func() error
		want string
	}{
		{"unknown shop", func() error { _, err := c.CreateOrders(ctx, "nope", []NewOrder{cardOrder("a@b.c")}); return err }, `HTTP 404: fakes: no shop "nope"`},
		{"no orders", func() error { _, err := c.CreateOrders(ctx, "shop1", nil); return err }, "orders: 0 orders"},
		{"bad payment", func() error {
			o := cardOrder("a@b.c")
			o.Payment = "cash"
			_, err := c.CreateOrders(ctx, "shop1", []NewOrder{o})
			return err
		}, `orders[0]: payment "cash"`},
		{"huge price", func() error {
			o := cardOrder("a@b.c")
			o.Lines[1].Price = 1 << 50
			_, err := c.CreateOrders(ctx, "shop1", []NewOrder{o})
			return err
		}, "orders[0]: lines[1].price"},
		{"unknown order", func() error { return c.SetStatuses(ctx, "shop1", []StatusChange{{ID: 1, Status: "dispatched"}}) }, "changes[0] (0 applied)"},
		{"unknown shop fault", func() error {
			_, err := c.ShopFaults(ctx, "shop1", ShopFaults{Faults: []ShopFault{{Kind: "teapot", Count: 1}}})
			return err
		}, `faults[0]: unknown shop fault "teapot"`},
		{"zero count", func() error {
			_, err := c.ShopFaults(ctx, "shop1", ShopFaults{Faults: []ShopFault{{Kind: "429", Count: 0}}})
			return err
		}, "count 0 must be 1..1000"},
		{"unknown register fault", func() error { _, err := c.RegisterFaults(ctx, RegisterFault{Kind: "fire"}); return err }, `unknown register fault "fire"`},
		{"endless delay", func() error {
			_, err := c.RegisterFaults(ctx, RegisterFault{Kind: "delay", DelayMS: int64(time.Hour / time.Millisecond)})
			return err
		}, "delay_ms 3600000 must be"},
	}
	for _, tc := range cases {
		err := tc.call()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error with %q", tc.name, err, tc.want)
		}
	}
	st, err := c.RegisterStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.PendingFaults != 0 {
		t.Errorf("refused faults were queued: %+v", st)
	}
}

func TestReadReady(t *testing.T) {
	t.Parallel()
	good := `{"control":"http://127.0.0.1:1","register":"https://127.0.0.1:2","ca_file":"/x/ca.crt","cert_file":"/x/c.crt","key_file":"/x/c.key",` +
		`"shops":[{"name":"shop1","url":"http://127.0.0.1:3","api_key":"k","password_file":"/x/p","rate_requests":500,"rate_window_seconds":300,"whole_seconds":false}]}`
	r, err := ReadReady(strings.NewReader("noise\n\n" + good + "\n"))
	if err != nil || r.Shops[0].Name != "shop1" || r.Control != "http://127.0.0.1:1" {
		t.Fatalf("got %+v, %v", r, err)
	}
	for _, bad := range []string{"", "noise only\n", `{"control":"http://x"}` + "\n", `{"control":1}`, good[:40], `{"shops":[{}],"control":"a","register":"b"}`, good + `{}`, strings.Replace(good, `"name"`, `"nom"`, 1)} {
		if _, err := ReadReady(strings.NewReader(bad)); err == nil {
			t.Errorf("ReadReady(%q) accepted it", bad)
		}
	}
}

func TestStartRefusesBadOptions(t *testing.T) {
	t.Parallel()
	for _, o := range []Options{{Shops: 1}, {Dir: t.TempDir(), Shops: 0}, {Dir: t.TempDir(), Shops: 2, RealLimit: 3}, {Dir: t.TempDir(), Shops: 2, WholeSeconds: -1}} {
		if w, err := Start(o); err == nil {
			w.Close()
			t.Errorf("Start(%+v) accepted it", o)
		}
	}
	if _, err := NewClient("ftp://x"); err == nil {
		t.Error("NewClient accepted a non-http URL")
	}
}
