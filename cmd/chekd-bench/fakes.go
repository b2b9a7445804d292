package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/chekd/chekd/daemon/config"
	"github.com/chekd/chekd/fiscal/certs/certstest"
	"github.com/chekd/chekd/fiscal/chekonlinetest"
	"github.com/chekd/chekd/insales/insalestest"
)

// cardGateway is the fake shop's online card payment, the one receipts are
// printed for.
const cardGateway = 1797

// shopServer serves one fake InSales shop on one or more loopback
// listeners. Every listener is a distinct host:port, so that a config may
// name it as a distinct shop (chekd refuses two shops with the same
// insales.url: every order would get two receipts).
type shopServer struct {
	*insalestest.Handler
	srv  *http.Server
	urls []string
	wg   sync.WaitGroup
}

// newShopServer starts a fake shop on n listeners. Its rate limit is raised
// far above InSales' 500 per 5 minutes: the figures measure chekd, and many
// shops share the fake's one credential pair. clock stamps the orders'
// updated_at; nil means the system clock.
func newShopServer(n int, clock insalestest.TimeSource) (*shopServer, error) {
	h := insalestest.NewHandler(insalestest.Options{RateRequests: 1 << 30, Clock: clock})
	s := &shopServer{Handler: h, srv: &http.Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0)}}
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("chekd-bench: fake shop: %w", err)
		}
		s.urls = append(s.urls, "http://"+ln.Addr().String())
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Printf("chekd-bench: fake shop: %v", err)
			}
		}()
	}
	return s, nil
}

// URL is the address of listener i.
func (s *shopServer) URL(i int) string { return s.urls[i] }

// Close stops every listener.
func (s *shopServer) Close() {
	_ = s.srv.Close()
	s.wg.Wait()
}

// addOrders adds n orders of benchOrder in status (a fulfillment status or
// custom status permalink) and returns their ids.
func (s *shopServer) addOrders(n int, status string, emailPrefix string) []int64 {
	ids := make([]int64, n)
	for i := range ids {
		o := benchOrder(i, fmt.Sprintf("%s%d@example.com", emailPrefix, i))
		o.FulfillmentStatus = status
		ids[i] = s.AddOrder(o).ID
	}
	return ids
}

// world is the files a chekd config needs: the register's client
// certificate and key, and its CA.
type world struct {
	dir      string
	reg      *chekonlinetest.Register
	certFile string
	keyFile  string
	caFile   string
}

// newWorld starts a fake TLS register that requires the test CA's client
// certificate, and writes that certificate, its key and the CA to dir.
func newWorld(dir string) (*world, error) {
	b, err := certstest.Shared()
	if err != nil {
		return nil, fmt.Errorf("chekd-bench: test certificates: %w", err)
	}
	keyPEM, err := b.ClientECDSA.KeyPEM(certstest.PKCS8, nil)
	if err != nil {
		return nil, fmt.Errorf("chekd-bench: client key: %w", err)
	}
	w := &world{
		dir:      dir,
		certFile: filepath.Join(dir, "client.crt"),
		keyFile:  filepath.Join(dir, "client.key"),
		caFile:   filepath.Join(dir, "ca.crt"),
	}
	for _, f := range []struct {
		path string
		data []byte
	}{{w.certFile, b.ClientECDSA.ChainPEM}, {w.keyFile, keyPEM}, {w.caFile, b.CA.CertPEM}} {
		if err := os.WriteFile(f.path, f.data, 0o600); err != nil {
			return nil, fmt.Errorf("chekd-bench: %w", err)
		}
	}
	w.reg = chekonlinetest.New(chekonlinetest.Options{Certs: b})
	return w, nil
}

// Close stops the register.
func (w *world) Close() { w.reg.Close() }

// shopConfig is what varies between the figures' configs.
type shopConfig struct {
	DataDir   string
	Listen    string   // http.listen
	ShopURLs  []string // one shop per URL, named bench, bench-2, ...
	APIKey    string
	Password  string
	Schedule  string
	PerPage   int
	LogLevel  string
	StartFrom string
	// Raised: register.rate 100000 and register.max_in_flight at the
	// config's maximum; else both are left at their defaults.
	Raised bool
}

// shopName is the name of the config's i-th shop.
func shopName(i int) string {
	if i == 0 {
		return "bench"
	}
	return fmt.Sprintf("bench-%d", i+1)
}

// yaml writes the config as a merchant would.
func (w *world) yaml(c shopConfig) []byte {
	raised := ""
	if c.Raised {
		raised = fmt.Sprintf("\n      rate: 100000\n      max_in_flight: %d", config.MaxInFlight)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "data_dir: %s\nlog: {level: %s, format: text}\nhttp: {listen: %q}\nshops:\n", c.DataDir, c.LogLevel, c.Listen)
	for i, u := range c.ShopURLs {
		fmt.Fprintf(&b, `  - name: %s
    schedule: %q
    start_from: %q
    insales: {url: %s, api_key: %s, password: %s, per_page: %d}
    register:
      url: %s
      certificate_file: %s
      private_key_file: %s
      ca_file: %s%s
    receipts:
      tax_system: osn
      vat_goods: vat22
      vat_delivery: vat22
      sale_statuses: [dispatched]
      refund_statuses: [returned]
      payment_methods: [%d]
      contact: email_then_phone
`, shopName(i), c.Schedule, c.StartFrom, u, c.APIKey, c.Password, c.PerPage,
			w.reg.URL(), w.certFile, w.keyFile, w.caFile, raised, cardGateway)
	}
	return []byte(b.String())
}

// parse validates a config the way chekd does.
func parseConfig(data []byte) (*config.Config, error) {
	cfg, err := config.Parse(data, config.Options{})
	if err != nil {
		return nil, fmt.Errorf("chekd-bench: the generated config: %w", err)
	}
	return cfg, nil
}

// freeListen picks a free loopback port for http.listen.
func freeListen() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("chekd-bench: %w", err)
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}
