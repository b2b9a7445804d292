package fakes

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/chekd/chekd/fiscal/certs/certstest"
	"github.com/chekd/chekd/fiscal/chekonlinetest"
	"github.com/chekd/chekd/insales/insalestest"
)

// InSales' real limit, which the first Options.RealLimit shops keep.
const (
	realRateRequests = 500
	realRateWindow   = 300 * time.Second
)

// Options configure a World.
type Options struct {
	// Dir receives the certificate, key and password files. Required.
	Dir string
	// Shops is how many fake shops to serve (named shop1, shop2, ...).
	Shops int
	// RealLimit is how many shops, from the first, keep InSales' real limit
	// of 500 requests per 5 minutes; the others allow FastRate requests per
	// window, so that a long chaos run is not throttled.
	RealLimit int
	// FastRate is the per-window limit of the other shops (default 100000).
	FastRate int
	// WholeSeconds is how many shops, from the last, write updated_at with
	// whole-second resolution (the harder cursor case).
	WholeSeconds int
	// RetryAfter is the Retry-After of injected 429/503 faults (default 1 s).
	RetryAfter time.Duration
	// Logger receives what the fakes log; nil discards it.
	Logger *slog.Logger
}

// World is the running fakes: shops, register and the files that name them.
type World struct {
	opts  Options
	log   *slog.Logger
	reg   *chekonlinetest.Register
	shops map[string]*shop
	ready Ready

	mu      sync.Mutex
	servers []*http.Server
}

type shop struct {
	info ShopInfo
	h    *insalestest.Handler

	mu           sync.Mutex
	ignoreFromID bool
}

// Start starts every shop and the register on loopback listeners and writes
// the files a chekd config names. Close stops them.
func Start(opts Options) (w *World, err error) {
	if opts.Dir == "" {
		return nil, errors.New("fakes: a directory for the certificate, key and password files is required")
	}
	if opts.Shops < 1 || opts.Shops > 50 {
		return nil, fmt.Errorf("fakes: shops %d must be 1..50", opts.Shops)
	}
	if opts.RealLimit < 0 || opts.RealLimit > opts.Shops || opts.WholeSeconds < 0 || opts.WholeSeconds > opts.Shops {
		return nil, fmt.Errorf("fakes: real-limit (%d) and whole-seconds (%d) must be 0..shops (%d)", opts.RealLimit, opts.WholeSeconds, opts.Shops)
	}
	if opts.FastRate <= 0 {
		opts.FastRate = 100000
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("fakes: make %s: %w", opts.Dir, err)
	}
	w = &World{opts: opts, log: opts.Logger, shops: make(map[string]*shop)}
	defer func() {
		if err != nil {
			w.Close()
		}
	}()
	if err := w.startRegister(); err != nil {
		return nil, err
	}
	for i := 1; i <= opts.Shops; i++ {
		if err := w.startShop(i); err != nil {
			return nil, err
		}
	}
	return w, nil
}

func (w *World) startRegister() error {
	b, err := certstest.Shared()
	if err != nil {
		return fmt.Errorf("fakes: test certificates: %w", err)
	}
	keyPEM, err := b.ClientECDSA.KeyPEM(certstest.PKCS8, nil)
	if err != nil {
		return fmt.Errorf("fakes: client key: %w", err)
	}
	files := []struct {
		name *string
		base string
		data []byte
	}{
		{&w.ready.CAFile, "ca.crt", b.CA.CertPEM},
		{&w.ready.CertFile, "client.crt", b.ClientECDSA.ChainPEM},
		{&w.ready.KeyFile, "client.key", keyPEM},
	}
	for _, f := range files {
		path, err := filepath.Abs(filepath.Join(w.opts.Dir, f.base))
		if err != nil {
			return fmt.Errorf("fakes: %w", err)
		}
		if err := writeFile(path, f.data); err != nil {
			return err
		}
		*f.name = path
	}
	w.reg = chekonlinetest.New(chekonlinetest.Options{Certs: b})
	w.ready.Register = w.reg.URL()
	return nil
}

func (w *World) startShop(i int) error {
	name := "shop" + strconv.Itoa(i)
	password, err := randomHex(16)
	if err != nil {
		return err
	}
	pwFile, err := filepath.Abs(filepath.Join(w.opts.Dir, name+"-insales-password"))
	if err != nil {
		return fmt.Errorf("fakes: %w", err)
	}
	if err := writeFile(pwFile, []byte(password+"\n")); err != nil {
		return err
	}
	info := ShopInfo{
		Name:              name,
		APIKey:            "chekd-" + name,
		PasswordFile:      pwFile,
		RateRequests:      w.opts.FastRate,
		RateWindowSeconds: int(realRateWindow / time.Second),
		WholeSeconds:      i > w.opts.Shops-w.opts.WholeSeconds,
	}
	if i <= w.opts.RealLimit {
		info.RateRequests = realRateRequests
	}
	h := insalestest.NewHandler(insalestest.Options{
		APIKey:       info.APIKey,
		Password:     password,
		WholeSeconds: info.WholeSeconds,
		RateRequests: info.RateRequests,
		RateWindow:   realRateWindow,
		RetryAfter:   w.opts.RetryAfter,
	})
	url, err := w.serve(h)
	if err != nil {
		return fmt.Errorf("fakes: shop %s: %w", name, err)
	}
	info.URL = url
	w.shops[name] = &shop{info: info, h: h}
	w.ready.Shops = append(w.ready.Shops, info)
	return nil
}

// serve serves h on a fresh loopback port and returns its base URL.
func (w *World) serve(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(w.log.Handler(), slog.LevelDebug),
	}
	w.mu.Lock()
	w.servers = append(w.servers, srv)
	w.mu.Unlock()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			w.log.Error("fakes: a listener stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
	return "http://" + ln.Addr().String(), nil
}

// ServeControl serves the control API on a fresh loopback port and records
// its URL in Ready.
func (w *World) ServeControl() (string, error) {
	url, err := w.serve(NewHandler(w))
	if err != nil {
		return "", fmt.Errorf("fakes: control API: %w", err)
	}
	w.ready.Control = url
	return url, nil
}

// Ready describes the world: addresses and files.
func (w *World) Ready() Ready { return w.ready }

// Close stops every listener and the register (held answers are released).
func (w *World) Close() {
	w.mu.Lock()
	servers := w.servers
	w.servers = nil
	w.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range servers {
		_ = s.Shutdown(ctx)
	}
	if w.reg != nil {
		w.reg.Close()
	}
}

func (w *World) shop(name string) (*shop, bool) {
	s, ok := w.shops[name]
	return s, ok
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("fakes: random password: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// writeFile writes a file only its owner may read (keys and passwords).
func writeFile(path string, data []byte) error {
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("fakes: write %s: %w", path, err)
	}
	// WriteFile keeps the mode of a file that already exists.
	if err := os.Chmod(path, 0o600); err != nil {
		return fmt.Errorf("fakes: chmod %s: %w", path, err)
	}
	return nil
}
