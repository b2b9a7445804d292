package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/chekd/chekd/daemon"
	"github.com/chekd/chekd/fiscal/chekonlinetest"
	"github.com/chekd/chekd/insales/insalestest"
	"github.com/chekd/chekd/store"
)

// env is what every measurement shares.
type env struct {
	bin      string    // the chekd binary
	tmp      string    // a scratch directory, removed at the end
	progress io.Writer // one line per step, for the person waiting
}

// startFrom is the start_from of every config: far in the past, so orders
// already in the fake shop are read on the first poll.
const startFrom = "2020-01-01T00:00:00+03:00"

const ordersEndpoint = "GET /admin/orders.json"

// scratch makes a fresh directory under the scratch root.
func (e *env) scratch(name string) (string, error) {
	dir := filepath.Join(e.tmp, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("chekd-bench: %w", err)
	}
	return dir, nil
}

func (e *env) logf(format string, args ...any) {
	fmt.Fprintf(e.progress, "chekd-bench: "+format+"\n", args...)
}

// throughput is the end-to-end run of a backlog.
type throughput struct {
	Orders          int
	Elapsed         time.Duration // process start → the last receipt printed
	CPU             time.Duration // chekd's user+system CPU over its whole life
	MaxRSSKB        int64
	RegRequests     int // every HTTP request at the register
	Printed         int
	InSalesRequests int // order list requests for the backlog
	PerPage         int
}

// measureThroughput starts chekd on a shop with n orders already in a sale
// status and times it from process start until the register has printed
// them all.
func (e *env) measureThroughput(ctx context.Context, n int) (throughput, error) {
	dir, err := e.scratch("throughput")
	if err != nil {
		return throughput{}, err
	}
	w, err := newWorld(dir)
	if err != nil {
		return throughput{}, err
	}
	defer w.Close()
	shop, err := newShopServer(1, nil)
	if err != nil {
		return throughput{}, err
	}
	defer shop.Close()
	shop.addOrders(n, "dispatched", "t")
	listen, err := freeListen()
	if err != nil {
		return throughput{}, err
	}
	const perPage = 250
	cfg := w.yaml(shopConfig{DataDir: filepath.Join(dir, "data"), Listen: listen, ShopURLs: []string{shop.URL(0)},
		APIKey: shop.APIKey(), Password: shop.Password(), Schedule: "@every 1h", PerPage: perPage, LogLevel: "info", StartFrom: startFrom, Raised: true})
	if _, err := parseConfig(cfg); err != nil {
		return throughput{}, err
	}
	e.logf("end to end: %d orders in a sale status, chekd starting", n)
	c, err := startChild(e.bin, dir, cfg, listen)
	if err != nil {
		return throughput{}, err
	}
	if err := c.waitFor(ctx, 5*time.Minute, func() bool { return w.reg.Stats().Printed >= n }); err != nil {
		return throughput{}, fmt.Errorf("chekd-bench: end to end: %w (printed %d of %d)", err, w.reg.Stats().Printed, n)
	}
	elapsed := time.Since(c.started)
	u, err := c.stop(time.Minute)
	if err != nil {
		return throughput{}, err
	}
	st := w.reg.Stats()
	if err := checkLedger(w.reg.Ledger(), n); err != nil {
		return throughput{}, err
	}
	if st.Conflicts != 0 || st.Rejected != 0 {
		return throughput{}, fmt.Errorf("chekd-bench: end to end: the register saw %d conflicting and %d rejected requests", st.Conflicts, st.Rejected)
	}
	return throughput{Orders: n, Elapsed: elapsed, CPU: u.CPU, MaxRSSKB: u.MaxRSSKB, RegRequests: st.Requests,
		Printed: st.Printed, InSalesRequests: shop.Requests(ordersEndpoint), PerPage: perPage}, nil
}

// waitFor polls cond every 5 ms until it holds, the child exits, or limit
// passes.
func (c *child) waitFor(ctx context.Context, limit time.Duration, cond func() bool) error {
	deadline := time.Now().Add(limit)
	for !cond() {
		select {
		case <-c.exited:
			return fmt.Errorf("chekd exited (%v); its log:\n%s", c.waitErr, c.logTail())
		case <-ctx.Done():
			c.kill()
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.kill()
			return fmt.Errorf("gave up after %s; chekd's log:\n%s", limit, c.logTail())
		}
	}
	return nil
}

// checkLedger checks that the register printed exactly want distinct
// receipts, none twice.
func checkLedger(docs []chekonlinetest.Document, want int) error {
	seen := make(map[string]bool, len(docs))
	for _, d := range docs {
		if seen[d.RequestID] {
			return fmt.Errorf("chekd-bench: receipt %s printed twice", d.RequestID)
		}
		seen[d.RequestID] = true
	}
	if len(seen) != want {
		return fmt.Errorf("chekd-bench: the register printed %d receipts, want %d", len(seen), want)
	}
	return nil
}

// delays is the status-change-to-receipt delay of every order.
type delays struct {
	Orders   int
	Window   time.Duration
	Schedule string
	P50, P99 time.Duration
	Max      time.Duration
}

// measureDelay runs chekd on a 1 s schedule, moves n orders to a sale status
// at random moments over window, and measures, for each, the time from the
// status change (the order's updated_at) to the register printing its
// receipt.
func (e *env) measureDelay(ctx context.Context, n int, window time.Duration) (delays, error) {
	dir, err := e.scratch("delay")
	if err != nil {
		return delays{}, err
	}
	w, err := newWorld(dir)
	if err != nil {
		return delays{}, err
	}
	defer w.Close()
	shop, err := newShopServer(1, nil)
	if err != nil {
		return delays{}, err
	}
	defer shop.Close()
	ids := shop.addOrders(n, "new", "d")
	listen, err := freeListen()
	if err != nil {
		return delays{}, err
	}
	const schedule = "@every 1s"
	cfg := w.yaml(shopConfig{DataDir: filepath.Join(dir, "data"), Listen: listen, ShopURLs: []string{shop.URL(0)},
		APIKey: shop.APIKey(), Password: shop.Password(), Schedule: schedule, PerPage: 100, LogLevel: "info", StartFrom: startFrom, Raised: true})
	if _, err := parseConfig(cfg); err != nil {
		return delays{}, err
	}
	c, err := startChild(e.bin, dir, cfg, listen)
	if err != nil {
		return delays{}, err
	}
	if _, err := c.waitHealthy(ctx, time.Minute); err != nil {
		return delays{}, err
	}
	// The first poll reads the n new orders; changes start after it.
	if err := c.waitFor(ctx, time.Minute, func() bool { return shop.Requests(ordersEndpoint) >= 2 }); err != nil {
		return delays{}, fmt.Errorf("chekd-bench: delay: first poll: %w", err)
	}
	e.logf("delay: %d status changes at random moments over %s, schedule %q", n, window, schedule)
	rng := rand.New(rand.NewPCG(54, 2026))
	at := make([]time.Duration, n)
	for i := range at {
		at[i] = time.Duration(rng.Int64N(int64(window)))
	}
	slices.Sort(at)
	setAt := make(map[string]time.Time, n)
	start := time.Now()
	for i, id := range ids {
		if d := time.Until(start.Add(at[i])); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				c.kill()
				return delays{}, ctx.Err()
			}
		}
		if err := shop.SetStatus(id, "dispatched"); err != nil {
			c.kill()
			return delays{}, fmt.Errorf("chekd-bench: %w", err)
		}
		o, _ := shop.Order(id)
		setAt[o.Client.Email] = o.UpdatedAt.Time
	}
	if err := c.waitFor(ctx, 2*time.Minute, func() bool { return w.reg.Stats().Printed >= n }); err != nil {
		return delays{}, fmt.Errorf("chekd-bench: delay: %w (printed %d of %d)", err, w.reg.Stats().Printed, n)
	}
	if _, err := c.stop(time.Minute); err != nil {
		return delays{}, err
	}
	docs := w.reg.Ledger()
	if err := checkLedger(docs, n); err != nil {
		return delays{}, err
	}
	var ds []time.Duration
	for _, d := range docs {
		t, ok := setAt[d.PhoneOrEmail]
		if !ok {
			return delays{}, fmt.Errorf("chekd-bench: a receipt for %q, an order whose status was not changed", d.PhoneOrEmail)
		}
		ds = append(ds, d.Time.Sub(t))
	}
	return delays{Orders: n, Window: window, Schedule: schedule, P50: percentile(ds, 50), P99: percentile(ds, 99), Max: percentile(ds, 100)}, nil
}

// percentile is the nearest-rank percentile p (0 < p <= 100) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(p/100*float64(len(s)) + 0.999999999)
	rank = min(max(rank, 1), len(s))
	return s[rank-1]
}

// idle is the memory of chekd with many idle shops.
type idle struct {
	Shops    int
	Duration time.Duration // how long chekd ran after it was healthy
	VmHWM    int64         // bytes
	Requests int           // order list requests the shops made in that time
	Go       goStats       // chekd's Go runtime at the end
}

// measureIdle runs chekd with shops shops, each on its own fake-shop
// listener, none with any order, for d after it is healthy, and reads its
// peak resident set.
func (e *env) measureIdle(ctx context.Context, shops int, d time.Duration) (idle, error) {
	dir, err := e.scratch("idle")
	if err != nil {
		return idle{}, err
	}
	w, err := newWorld(dir)
	if err != nil {
		return idle{}, err
	}
	defer w.Close()
	shop, err := newShopServer(shops, nil)
	if err != nil {
		return idle{}, err
	}
	defer shop.Close()
	listen, err := freeListen()
	if err != nil {
		return idle{}, err
	}
	cfg := w.yaml(shopConfig{DataDir: filepath.Join(dir, "data"), Listen: listen, ShopURLs: shop.urls,
		APIKey: shop.APIKey(), Password: shop.Password(), Schedule: "@every 1m", PerPage: 100, LogLevel: "info", StartFrom: startFrom})
	if _, err := parseConfig(cfg); err != nil {
		return idle{}, err
	}
	e.logf("idle: %d shops, chekd running for %s", shops, d)
	c, err := startChild(e.bin, dir, cfg, listen)
	if err != nil {
		return idle{}, err
	}
	if _, err := c.waitHealthy(ctx, 2*time.Minute); err != nil {
		return idle{}, err
	}
	select {
	case <-time.After(d):
	case <-ctx.Done():
		c.kill()
		return idle{}, ctx.Err()
	}
	// Every shop has made its first poll (a burst at start-up) by now.
	if err := c.waitFor(ctx, time.Minute, func() bool { return shop.Requests(ordersEndpoint) >= shops }); err != nil {
		return idle{}, fmt.Errorf("chekd-bench: idle: first polls: %w", err)
	}
	hwm, err := c.vmHWM()
	if err != nil {
		c.kill()
		return idle{}, err
	}
	gs, err := c.scrapeGoStats(ctx)
	if err != nil {
		c.kill()
		return idle{}, err
	}
	if _, err := c.stop(time.Minute); err != nil {
		return idle{}, err
	}
	return idle{Shops: shops, Duration: d, VmHWM: hwm, Requests: shop.Requests(ordersEndpoint), Go: gs}, nil
}

// startup is the time from process start to a healthy chekd on a large store.
type startup struct {
	Receipts, Pending int
	FileBytes         int64
	Build             time.Duration
	Runs              []time.Duration // the first with the pending backlog, then plain restarts
}

// measureStartup builds a store of total receipts (pending of them pending)
// and times `chekd run` on it from process start until /healthz answers 200,
// runs times.
func (e *env) measureStartup(ctx context.Context, total, pending, runs int) (startup, error) {
	dir, err := e.scratch("startup")
	if err != nil {
		return startup{}, err
	}
	w, err := newWorld(dir)
	if err != nil {
		return startup{}, err
	}
	defer w.Close()
	shop, err := newShopServer(1, nil)
	if err != nil {
		return startup{}, err
	}
	defer shop.Close()
	listen, err := freeListen()
	if err != nil {
		return startup{}, err
	}
	dataDir := filepath.Join(dir, "data")
	cfg := w.yaml(shopConfig{DataDir: dataDir, Listen: listen, ShopURLs: []string{shop.URL(0)},
		APIKey: shop.APIKey(), Password: shop.Password(), Schedule: "@every 1m", PerPage: 100, LogLevel: "info", StartFrom: startFrom, Raised: true})
	parsed, err := parseConfig(cfg)
	if err != nil {
		return startup{}, err
	}
	e.logf("start-up: building a store of %d receipts (%d pending)", total, pending)
	built := time.Now()
	dbPath := filepath.Join(dataDir, "chekd.db")
	if err := buildStore(ctx, dbPath, storeSpec{Shop: shopName(0), Total: total, Pending: pending, Settings: parsed.Shops[0]}, e.progress); err != nil {
		return startup{}, err
	}
	res := startup{Receipts: total, Pending: pending, Build: time.Since(built)}
	if fi, err := os.Stat(dbPath); err == nil {
		res.FileBytes = fi.Size()
	}
	for i := range runs {
		c, err := startChild(e.bin, dir, cfg, listen)
		if err != nil {
			return startup{}, err
		}
		took, err := c.waitHealthy(ctx, time.Minute)
		if err != nil {
			return startup{}, err
		}
		res.Runs = append(res.Runs, took)
		if i == 0 {
			// Let the backlog go out, so the restarts measure a store at rest.
			if err := c.waitFor(ctx, 2*time.Minute, func() bool { return w.reg.Stats().Printed >= pending }); err != nil {
				return startup{}, fmt.Errorf("chekd-bench: start-up: backlog: %w", err)
			}
		}
		if _, err := c.stop(time.Minute); err != nil {
			return startup{}, err
		}
	}
	return res, nil
}

// counts are request counts read at the fakes around single polls of an
// in-process daemon.
type counts struct {
	PerPage        int
	IdleEmpty      int // one idle poll of a shop with no orders
	IdleLone       int // an idle poll of a shop whose last change is alone, in the steady state
	IdleFirst      int // the first idle poll after that change (it re-reads the overlap once)
	IdleAfterBurst int // an idle poll after a burst of Changed changes, in the steady state
	Changed        int // orders changed before the counted poll
	ChangedPoll    int // requests of the poll that read them
	OverlapReReads int // orders that poll handed over again from the overlap window
}

// measureCounts runs the daemon in this process (as `chekd run` does, with
// the same defaults) so single polls can be run with PollNow, and counts the
// order-list requests each makes. The fake shop stamps updated_at from a
// clock moved by hand, so which orders fall in the overlap window before the
// cursor is exact.
func (e *env) measureCounts(ctx context.Context, changed int) (counts, error) {
	dir, err := e.scratch("counts")
	if err != nil {
		return counts{}, err
	}
	w, err := newWorld(dir)
	if err != nil {
		return counts{}, err
	}
	defer w.Close()
	clock := insalestest.NewClock(time.Now().Add(-time.Hour).Truncate(time.Second))
	busy, err := newShopServer(1, clock)
	if err != nil {
		return counts{}, err
	}
	defer busy.Close()
	empty, err := newShopServer(1, clock)
	if err != nil {
		return counts{}, err
	}
	defer empty.Close()
	ids := busy.addOrders(changed, "new", "c")
	const perPage = 250
	cfg, err := parseConfig(w.yaml(shopConfig{DataDir: filepath.Join(dir, "data"), Listen: "127.0.0.1:0",
		ShopURLs: []string{busy.URL(0), empty.URL(0)}, APIKey: busy.APIKey(), Password: busy.Password(),
		Schedule: "@every 1h", PerPage: perPage, LogLevel: "info", StartFrom: startFrom, Raised: true}))
	if err != nil {
		return counts{}, err
	}
	e.logf("request counts: single polls of an in-process daemon, %d changed orders", changed)
	d, err := daemon.New(cfg, daemon.Options{Logger: slog.New(slog.DiscardHandler), Version: "bench", ShutdownGrace: 10 * time.Second})
	if err != nil {
		return counts{}, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(runCtx) }()
	res, err := pollCounts(ctx, d, clock, busy, empty, ids, perPage)
	cancel()
	if serr := <-done; err == nil && serr != nil {
		err = serr
	}
	if err != nil {
		return counts{}, err
	}
	if got := w.reg.Stats().Printed; got != changed {
		return counts{}, fmt.Errorf("chekd-bench: counts: %d receipts printed, want %d", got, changed)
	}
	return res, nil
}

// overlapGap moves the fake shop's clock past the client's 5 s overlap.
const overlapGap = 10 * time.Second

func pollCounts(ctx context.Context, d *daemon.Daemon, clock *insalestest.Clock, busy, empty *shopServer, ids []int64, perPage int) (counts, error) {
	res := counts{PerPage: perPage, Changed: len(ids)}
	if err := waitCond(ctx, d.Running); err != nil {
		return res, err
	}
	// pollOnce runs one poll of a shop (a scheduled one may be under way:
	// wait for it) and returns the order-list requests it made.
	pollOnce := func(name string, s *shopServer) (int, error) {
		for {
			before := s.Requests(ordersEndpoint)
			if d.PollNow(name) {
				return s.Requests(ordersEndpoint) - before, nil
			}
			if err := sleepCtx(ctx, 10*time.Millisecond); err != nil {
				return 0, err
			}
		}
	}
	// idlePolls runs three polls with nothing changed, the server's clock
	// moving on between them as it does between scheduled polls, and returns
	// the requests of the first and of the last (the steady state).
	idlePolls := func(name string, s *shopServer) (first, steady int, err error) {
		for i := range 3 {
			clock.Advance(overlapGap)
			n, err := pollOnce(name, s)
			if err != nil {
				return 0, 0, err
			}
			if i == 0 {
				first = n
			}
			steady = n
		}
		return first, steady, nil
	}
	// The first polls read the orders (all "new": no receipt).
	if _, err := pollOnce(shopName(0), busy); err != nil {
		return res, err
	}
	var err error
	if _, res.IdleEmpty, err = idlePolls(shopName(1), empty); err != nil {
		return res, err
	}
	// One lone change, well after the others: the usual state of a shop.
	clock.Advance(overlapGap)
	if err := busy.SetStatus(ids[0], "accepted"); err != nil {
		return res, fmt.Errorf("chekd-bench: %w", err)
	}
	if _, err := pollOnce(shopName(0), busy); err != nil {
		return res, err
	}
	if res.IdleFirst, res.IdleLone, err = idlePolls(shopName(0), busy); err != nil {
		return res, err
	}
	// A burst of changes, all to a sale status, read by one poll.
	clock.Advance(overlapGap)
	for _, id := range ids {
		if err := busy.SetStatus(id, "dispatched"); err != nil {
			return res, fmt.Errorf("chekd-bench: %w", err)
		}
	}
	seenBefore := orderCount(d)
	if res.ChangedPoll, err = pollOnce(shopName(0), busy); err != nil {
		return res, err
	}
	res.OverlapReReads = orderCount(d) - seenBefore - len(ids)
	if _, res.IdleAfterBurst, err = idlePolls(shopName(0), busy); err != nil {
		return res, err
	}
	// The receipts go out; the caller checks that each was printed once.
	err = waitCond(ctx, func() bool {
		p, err := d.Store().Pending()
		return err == nil && len(p) == 0 && countState(d, store.StatePrinted) == len(ids)
	})
	return res, err
}

// orderCount is the orders the busy shop's polls have read so far
// (re-reads included), from the daemon's metrics.
func orderCount(d *daemon.Daemon) int {
	mfs, err := d.Metrics().Registry.Gather()
	if err != nil {
		return 0
	}
	for _, mf := range mfs {
		if mf.GetName() != "chekd_orders_seen_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "shop" && l.GetValue() == shopName(0) {
					return int(m.GetCounter().GetValue())
				}
			}
		}
	}
	return 0
}

func countState(d *daemon.Daemon, s store.State) int {
	c, err := d.Store().Counts(shopName(0))
	if err != nil {
		return -1
	}
	return c[s]
}

// waitCond polls cond every 10 ms until it holds; the minute is a guard
// against a hang, not a measurement.
func waitCond(ctx context.Context, cond func() bool) error {
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			return errors.New("chekd-bench: gave up waiting for the daemon")
		}
		if err := sleepCtx(ctx, 10*time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
