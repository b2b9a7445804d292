package daemon

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"sort"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/chekd/chekd/daemon/config"
	"github.com/chekd/chekd/fiscal"
	"github.com/chekd/chekd/fiscal/certs"
	"github.com/chekd/chekd/fiscal/receipt"
	"github.com/chekd/chekd/insales"
	"github.com/chekd/chekd/store"
)

// maxConcurrentPolls is how many shops poll InSales at the same time at most.
const maxConcurrentPolls = 16

// Options are what the embedding command may set.
type Options struct {
	Logger  *slog.Logger
	Version string
	// ShutdownGrace is how long a stop waits for requests already at a
	// register; default 30 s.
	ShutdownGrace time.Duration
	// OnPrinted, when set, is called after a receipt is printed and recorded.
	OnPrinted func(store.Receipt)
	// InSalesOverlap is the window re-read on every poll; 0 means the
	// client's default.
	InSalesOverlap time.Duration
	// RegisterTimeout, when set, bounds one register call instead of each
	// shop's register.timeout.
	RegisterTimeout time.Duration
	// RetryMin and RetryMax bound the delay before a receipt is resent after
	// a transient failure; defaults 5 s and 5 min.
	RetryMin, RetryMax time.Duration
}

// Daemon is a running chekd: its store, its shops and their schedules.
type Daemon struct {
	opts    Options
	log     *slog.Logger
	db      *store.DB
	metrics *Metrics

	// sendCtx carries every register call. It is cancelled only after the
	// shutdown grace, so answers already on their way are recorded.
	sendCtx    context.Context
	sendCancel context.CancelFunc

	mu      sync.Mutex
	cfg     *config.Config
	cron    *cron.Cron
	shops   map[string]*shopRunner
	entries map[string]cron.EntryID
	caPools map[[32]byte]*x509.CertPool
	running bool

	// pollSlots bounds the polls under way at once across all shops: with
	// many shops on one schedule they would otherwise all poll in the same
	// second, and the memory of all their pages would peak together.
	pollSlots chan struct{}
}

// New opens the store and prepares every shop of cfg. Call Run to start.
func New(cfg *config.Config, opts Options) (*Daemon, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ShutdownGrace <= 0 {
		opts.ShutdownGrace = 30 * time.Second
	}
	if opts.RetryMin <= 0 {
		opts.RetryMin = 5 * time.Second
	}
	if opts.RetryMax < opts.RetryMin {
		opts.RetryMax = max(opts.RetryMin, 5*time.Minute)
	}
	db, err := store.Open(filepath.Join(cfg.DataDir, "chekd.db"), store.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, err
	}
	sendCtx, sendCancel := context.WithCancel(context.Background())
	d := &Daemon{
		opts:       opts,
		log:        opts.Logger,
		db:         db,
		metrics:    NewMetrics(),
		sendCtx:    sendCtx,
		sendCancel: sendCancel,
		cfg:        cfg,
		shops:      make(map[string]*shopRunner),
		entries:    make(map[string]cron.EntryID),
		caPools:    make(map[[32]byte]*x509.CertPool),
		pollSlots:  make(chan struct{}, maxConcurrentPolls),
	}
	d.metrics.attach(d)
	return d, nil
}

// Store is the daemon's store, for the status endpoint.
func (d *Daemon) Store() *store.DB { return d.db }

// Metrics is the daemon's metrics registry.
func (d *Daemon) Metrics() *Metrics { return d.metrics }

// Config is the config in force.
func (d *Daemon) Config() *config.Config {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cfg
}

// Run recovers every shop's pending intents, resends them, schedules the
// polls and blocks until ctx is done; then it stops scheduling, waits for
// requests already at a register up to the grace period, records their
// results and closes the store.
func (d *Daemon) Run(ctx context.Context) error {
	d.mu.Lock()
	// Jobs are wrapped per shop (see startShop), so the cron has no chain.
	d.cron = cron.New(cron.WithLogger(cronLogger{d.log}))
	pending, err := d.db.Pending()
	if err != nil {
		d.mu.Unlock()
		d.close()
		return fmt.Errorf("daemon: read pending receipts: %w", err)
	}
	d.warnOrphans(pending)
	for _, sc := range d.cfg.Shops {
		if err := d.startShop(sc, pending); err != nil {
			d.mu.Unlock()
			d.stopAll()
			d.close()
			return err
		}
	}
	d.cron.Start()
	d.running = true
	d.mu.Unlock()
	d.log.Info("chekd running", "shops", len(d.cfg.Shops), "pending", len(pending), "version", d.opts.Version)
	n := newNotifier()
	n.send("READY=1")
	if every := watchdogInterval(); every > 0 {
		go d.watchdog(ctx, n, every)
	}

	<-ctx.Done()
	n.send("STOPPING=1")
	d.log.Info("stopping: no new polls; waiting for requests at the registers", "grace", d.opts.ShutdownGrace)
	d.stopAll()
	return d.close()
}

// Running reports whether the scheduler runs.
func (d *Daemon) Running() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.running
}

func (d *Daemon) warnOrphans(pending []store.Receipt) {
	known := make(map[string]bool, len(d.cfg.Shops))
	for _, s := range d.cfg.Shops {
		known[s.Name] = true
	}
	orphans := map[string]int{}
	for _, rec := range pending {
		if !known[rec.Shop] {
			orphans[rec.Shop]++
		}
	}
	for shop, n := range orphans {
		d.log.Warn("pending receipts of a shop that is not in the config; they are kept and sent when the shop comes back",
			"shop", shop, "pending", n)
	}
}

// startShop builds a shop's runner, recovers its pending intents, starts its
// sender and schedules its polls, with a first poll right away. d.mu is held.
func (d *Daemon) startShop(sc config.Shop, pending []store.Receipt) error {
	r, err := d.newRunner(sc)
	if err != nil {
		return err
	}
	n := r.recoverPending(pending)
	if n > 0 {
		r.log.Info("resending pending receipts before the first poll", "pending", n)
	}
	r.ensureSender()
	if r.writer != nil {
		r.wg.Add(1)
		go r.writer.run(r.ctx, &r.wg)
	}
	// Recover and SkipIfStillRunning: a panic in a poll is logged, and a
	// poll never overlaps the previous one of the same shop.
	r.job = cron.NewChain(cron.Recover(cronLogger{d.log}), cron.SkipIfStillRunning(cronLogger{d.log})).Then(cron.FuncJob(r.poll))
	id, err := d.cron.AddJob(sc.Schedule, r.job)
	if err != nil {
		r.cancel()
		r.wg.Wait()
		return fmt.Errorf("daemon: shops[%s].schedule: %w", sc.Name, err)
	}
	d.shops[sc.Name] = r
	d.entries[sc.Name] = id
	// The first poll runs now, through the same chain, so it never overlaps
	// a scheduled one.
	go r.job.Run()
	return nil
}

// newRunner makes the clients of one shop.
func (d *Daemon) newRunner(sc config.Shop) (*shopRunner, error) {
	log := d.log.With("shop", sc.Name)
	ic, err := insales.NewClient(d.insalesConfig(sc, log))
	if err != nil {
		return nil, fmt.Errorf("daemon: shop %s: %w", sc.Name, err)
	}
	roots, err := d.rootCAs(sc.Register.CAPEM)
	if err != nil {
		return nil, fmt.Errorf("daemon: shop %s: %w", sc.Name, err)
	}
	timeout := sc.Register.TimeoutDuration
	if d.opts.RegisterTimeout > 0 {
		timeout = d.opts.RegisterTimeout
	}
	fc, err := NewRegisterClient(sc.Register, roots, log, timeout, d.metrics.registerObserver(sc.Name))
	if err != nil {
		return nil, fmt.Errorf("daemon: shop %s: %w", sc.Name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &shopRunner{
		d:        d,
		cfg:      sc,
		settings: Settings(sc),
		log:      log,
		orders:   ic,
		reg:      fc,
		workers:  max(1, sc.Register.MaxInFlight),
		kick:     make(chan struct{}, 1),
		pending:  make(map[store.Key]store.Receipt),

		inflight: make(map[store.Key]bool),
		regState: RegisterOK,
		ctx:      ctx,
		cancel:   cancel,
	}
	if sc.InSales.OrderField != "" && !sc.DryRun {
		r.writer = newFieldWriter(r, ic)
	}
	return r, nil
}

func (d *Daemon) insalesConfig(sc config.Shop, log *slog.Logger) insales.Config {
	c := InSalesConfig(sc, d.opts.Version)
	c.Overlap = d.opts.InSalesOverlap
	c.Logger = log
	c.Observer = d.metrics.insalesObserver(sc.Name)
	return c
}

// InSalesConfig is the InSales client configuration of one shop.
func InSalesConfig(sc config.Shop, version string) insales.Config {
	return insales.Config{
		Shop:      sc.Name,
		BaseURL:   sc.InSales.URL,
		APIKey:    sc.InSales.APIKey,
		Password:  sc.InSales.Password,
		UserAgent: "chekd/" + version,
		PerPage:   sc.InSales.PerPage,
	}
}

// rootCAs is the pool trusting the system's CAs and the extra CA of
// register.ca_file, shared by every shop naming the same CA: a copy of the
// system pool per shop would cost tens of kilobytes each. nil when there is
// no extra CA. d.mu is held.
func (d *Daemon) rootCAs(caPEM []byte) (*x509.CertPool, error) {
	if len(caPEM) == 0 {
		return nil, nil
	}
	sum := sha256.Sum256(caPEM)
	if p, ok := d.caPools[sum]; ok {
		return p, nil
	}
	p, err := certs.CAPool(caPEM)
	if err != nil {
		return nil, err
	}
	d.caPools[sum] = p
	return p, nil
}

// NewRegisterClient makes the register client of one shop's settings.
// roots, when not nil, is the pool for the register's server certificate;
// else it is made from register.ca_file.
func NewRegisterClient(rc config.Register, roots *x509.CertPool, log *slog.Logger, timeout time.Duration, obs fiscal.Observer) (*fiscal.Client, error) {
	fc := fiscal.Config{
		URL:         rc.URL,
		Timeout:     timeout,
		Rate:        rc.Rate,
		MaxInFlight: max(1, rc.MaxInFlight),
		Logger:      log,
		Observer:    obs,
	}
	if len(rc.CertificatePEM) > 0 {
		cert, err := certs.LoadKeyPair(rc.CertificatePEM, rc.PrivateKeyPEM, []byte(rc.KeyPassword))
		if err != nil {
			return nil, err
		}
		fc.Certificate = cert
	}
	fc.RootCAs = roots
	if roots == nil && len(rc.CAPEM) > 0 {
		// The extra CA is trusted beside the system's, not instead of them.
		pool, err := certs.CAPool(rc.CAPEM)
		if err != nil {
			return nil, err
		}
		fc.RootCAs = pool
	}
	return fiscal.NewClient(fc)
}

// Settings turns a shop's config into the receipt rules' settings.
func Settings(sc config.Shop) receipt.Settings {
	place := sc.Receipts.Place
	if place == "" {
		place = sc.InSales.URL
	}
	return receipt.Settings{
		ShopName:           sc.Name,
		Scheme:             sc.Receipts.Scheme,
		SaleStatuses:       sc.Receipts.SaleStatuses,
		RefundStatuses:     sc.Receipts.RefundStatuses,
		PrepaymentStatuses: sc.Receipts.PrepaymentStatuses,
		GatewayIDs:         sc.Receipts.GatewayIDs,
		GatewayTitles:      sc.Receipts.GatewayTitles,
		TaxSystem:          sc.Receipts.TaxSystem,
		VATGoods:           sc.Receipts.VATGoods,
		VATDelivery:        sc.Receipts.VATDelivery,
		TaxIDs:             sc.Receipts.TaxIDs,
		Contact:            sc.Receipts.Contact,
		ClientID:           sc.Register.ClientID,
		Group:              sc.Register.Group,
		CashierPassword:    uint32(sc.Register.CashierPassword),
		MaxDocumentsInTurn: uint16(sc.Register.MaxDocumentsInShift),
		FFD:                sc.Receipts.FFD,
		Place:              place,
	}
}

// Reload applies a new config: removed shops stop, added shops start,
// changed shops restart with their new settings; unchanged shops go on
// untouched. The data_dir, log and http settings need a restart.
func (d *Daemon) Reload(cfg *config.Config) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.running {
		return errors.New("daemon: not running")
	}
	if cfg.DataDir != d.cfg.DataDir {
		d.log.Warn("data_dir changed: it takes effect at the next restart", "data_dir", d.cfg.DataDir)
		cfg.DataDir = d.cfg.DataDir
	}
	next := make(map[string]config.Shop, len(cfg.Shops))
	for _, s := range cfg.Shops {
		next[s.Name] = s
	}
	var stopped []string
	for name, r := range d.shops {
		if s, ok := next[name]; ok && reflect.DeepEqual(s, r.cfg) {
			r.resume() // a reload is a person acting: a halted register is called again
			continue
		}
		d.stopShop(name)
		stopped = append(stopped, name)
	}
	pending, err := d.db.Pending()
	if err != nil {
		return fmt.Errorf("daemon: read pending receipts: %w", err)
	}
	var started []string
	for _, s := range cfg.Shops {
		if _, ok := d.shops[s.Name]; ok {
			continue
		}
		if err := d.startShop(s, pending); err != nil {
			d.log.Error("shop not started", "shop", s.Name, "err", err)
			continue
		}
		started = append(started, s.Name)
	}
	d.cfg = cfg
	sort.Strings(stopped)
	sort.Strings(started)
	d.log.Info("config reloaded", "stopped", stopped, "started", started, "shops", len(d.shops))
	return nil
}

// stopShop unschedules a shop and waits for its sends. d.mu is held.
func (d *Daemon) stopShop(name string) {
	if id, ok := d.entries[name]; ok {
		d.cron.Remove(id)
		delete(d.entries, name)
	}
	r := d.shops[name]
	if r == nil {
		return
	}
	delete(d.shops, name)
	r.stop()
}

// stopAll stops scheduling, lets sends already at a register finish within
// the grace period, and stops every shop.
func (d *Daemon) stopAll() {
	d.mu.Lock()
	if d.cron != nil {
		<-d.cron.Stop().Done()
	}
	d.running = false
	runners := make([]*shopRunner, 0, len(d.shops))
	for _, r := range d.shops {
		r.cancel() // every shop stops starting work at once
		runners = append(runners, r)
	}
	d.shops = map[string]*shopRunner{}
	d.entries = map[string]cron.EntryID{}
	d.mu.Unlock()

	done := make(chan struct{})
	go func() {
		for _, r := range runners {
			r.stop()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(d.opts.ShutdownGrace):
		d.log.Warn("grace period over: cancelling requests still at a register; their receipts stay pending and are resent at the next start")
		d.sendCancel()
		<-done
	}
}

// watchdog tells systemd chekd is alive while it is healthy; a chekd whose
// store stops answering is restarted by systemd.
func (d *Daemon) watchdog(ctx context.Context, n *notifier, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := d.Healthy(); err != nil {
				d.log.Error("unhealthy: not feeding the systemd watchdog", "err", err)
				continue
			}
			n.send("WATCHDOG=1")
		}
	}
}

// Close releases a daemon that was made but never run.
func (d *Daemon) Close() error { return d.close() }

func (d *Daemon) close() error {
	d.sendCancel()
	if err := d.db.Close(); err != nil {
		return fmt.Errorf("daemon: close the store: %w", err)
	}
	return nil
}

// PollNow runs one poll of the shop now and returns when it is done. It
// returns false when the shop is not running or a poll of it is already under
// way (then nothing was done).
func (d *Daemon) PollNow(shop string) bool {
	r := d.runner(shop)
	if r == nil {
		return false
	}
	before := r.polls.Load()
	r.job.Run()
	return r.polls.Load() > before
}

// runner finds a running shop.
func (d *Daemon) runner(shop string) *shopRunner {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.shops[shop]
}

// cronLogger adapts slog to cron's logger.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug("cron: "+msg, kv...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append(kv, "err", err)...)
}
