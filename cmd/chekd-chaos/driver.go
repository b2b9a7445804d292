package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chekd/chekd/cmd/chekd-fakes/fakes"
	"github.com/chekd/chekd/store"
)

// options are the run's knobs (flags in main).
type options struct {
	orders, shops, kills int
	seed                 uint64
	chekdBin, fakesBin   string // built into the work dir when empty
	dir                  string // work dir; a temporary one when empty
	keep                 bool   // keep the work dir even when the run passes
	// timeoutFault holds one register answer past chekd's register timeout
	// while no kill interrupts it.
	timeoutFault bool
	realLimit    int           // shops keeping InSales' real 500/300 s limit
	wholeSeconds int           // shops with whole-second updated_at
	minLife      time.Duration // a chekd life lasts minLife..maxLife before its SIGKILL
	maxLife      time.Duration
	stall        time.Duration // give up waiting when nothing moved for this long
	deadline     time.Duration // hang protection for the whole run
}

// chekdRegisterTimeout is the register.timeout the run gives chekd: short,
// so that an answer held past it costs seconds, not a minute.
const chekdRegisterTimeout = 5 * time.Second

// overlap is chekd's InSales re-read window (insales.DefaultOverlap): the
// quiet period lasts past it so every last change was read again.
const overlap = 5 * time.Second

// result is what a run found.
type result struct {
	kills int
	verdict
	workDir string
}

func (r result) line() string {
	return fmt.Sprintf("kills=%d expected=%d printed=%d duplicates=%d missing=%d",
		r.kills, r.expected, r.printed, r.duplicates, r.missing)
}

func (r result) ok() bool {
	return r.duplicates == 0 && r.missing == 0 && r.extra == 0 && len(r.problems) == 0
}

type driver struct {
	o     options
	log   *slog.Logger
	dir   string
	ready fakes.Ready
	fc    *fakes.Client
	ck    *chekd

	// Written by the mover only, read after it ends.
	orders     []*order
	lastChange time.Time
	printed    map[string]map[kind]bool // email → kinds in the ledger

	mu       sync.Mutex
	progress time.Time // the ledger grew or an order moved
	problems []string
	kills    int
	slowDone bool
}

func (d *driver) problem(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	d.log.Error("problem", "what", msg)
	d.mu.Lock()
	d.problems = append(d.problems, msg)
	d.mu.Unlock()
}

func (d *driver) moved() {
	d.mu.Lock()
	d.progress = time.Now()
	d.mu.Unlock()
}

func (d *driver) sinceProgress() time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	return time.Since(d.progress)
}

// run plays one chaos run. An error means the run could not be set up or
// driven; what chekd did wrong is in the result.
func run(ctx context.Context, o options, log *slog.Logger) (res result, err error) {
	ctx, cancel := context.WithTimeout(ctx, o.deadline)
	defer cancel()
	d := &driver{o: o, log: log, printed: map[string]map[kind]bool{}, progress: time.Now()}
	if d.dir = o.dir; d.dir == "" {
		if d.dir, err = os.MkdirTemp("", "chekd-chaos-"); err != nil {
			return res, fmt.Errorf("chaos: work dir: %w", err)
		}
	} else if err := os.MkdirAll(d.dir, 0o700); err != nil {
		return res, fmt.Errorf("chaos: work dir: %w", err)
	}
	if d.dir, err = filepath.Abs(d.dir); err != nil {
		return res, fmt.Errorf("chaos: work dir: %w", err)
	}
	res.workDir = d.dir
	defer func() {
		if err == nil && res.ok() && !o.keep && o.dir == "" {
			_ = os.RemoveAll(d.dir)
			res.workDir = ""
		}
	}()
	log.Info("work dir", "dir", d.dir)

	if err := d.binaries(ctx); err != nil {
		return res, err
	}
	stopFakes, err := d.startFakes(ctx)
	if err != nil {
		return res, err
	}
	defer stopFakes()
	cfg, err := d.writeConfig()
	if err != nil {
		return res, err
	}
	logFile, err := os.Create(filepath.Join(d.dir, "chekd.log"))
	if err != nil {
		return res, fmt.Errorf("chaos: %w", err)
	}
	defer logFile.Close()
	d.ck = &chekd{bin: d.o.chekdBin, config: cfg, logFile: logFile, stats: &logStats{}}
	if err := d.ck.start(); err != nil {
		return res, err
	}
	defer func() {
		if d.ck.running() {
			_, _ = d.ck.kill()
		}
	}()

	// The killer and the mover run side by side; each stops on its own
	// terms, and an error of either stops both.
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	runCtx, stopAll := context.WithCancel(ctx)
	defer stopAll()
	for _, fn := range []func(context.Context) error{d.killer, d.mover} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(runCtx); err != nil {
				errs <- err
				stopAll()
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return res, err
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("chaos: the run took longer than -deadline %s: %w", o.deadline, err)
	}

	if err := d.quiet(ctx); err != nil {
		return res, err
	}
	if err := d.ck.stop(45 * time.Second); err != nil {
		d.problem("graceful stop: %v", err)
	}
	for _, s := range d.ck.exitedAlone {
		d.problem("chekd %s", s)
	}
	if err := d.verify(ctx, &res); err != nil {
		return res, err
	}
	return res, nil
}

// binaries builds chekd and chekd-fakes with the go command on PATH unless
// they were given.
func (d *driver) binaries(ctx context.Context) error {
	for _, b := range []struct {
		path *string
		pkg  string
	}{{&d.o.chekdBin, "github.com/chekd/chekd/cmd/chekd"}, {&d.o.fakesBin, "github.com/chekd/chekd/cmd/chekd-fakes"}} {
		if *b.path != "" {
			abs, err := filepath.Abs(*b.path)
			if err != nil {
				return fmt.Errorf("chaos: %w", err)
			}
			*b.path = abs
			continue
		}
		out := filepath.Join(d.dir, "bin", filepath.Base(b.pkg))
		cmd := exec.CommandContext(ctx, "go", "build", "-o", out, b.pkg)
		if msg, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("chaos: go build %s: %w\n%s", b.pkg, err, msg)
		}
		*b.path = out
	}
	return nil
}

// startFakes starts chekd-fakes and reads its ready line. The returned
// function stops it (closing its stdin is enough; a kill follows a hang).
func (d *driver) startFakes(ctx context.Context) (func(), error) {
	errLog, err := os.Create(filepath.Join(d.dir, "fakes.log"))
	if err != nil {
		return nil, fmt.Errorf("chaos: %w", err)
	}
	cmd := exec.Command(d.o.fakesBin, "-dir", filepath.Join(d.dir, "fakes"),
		"-shops", strconv.Itoa(d.o.shops), "-real-limit", strconv.Itoa(d.o.realLimit),
		"-whole-seconds", strconv.Itoa(d.o.wholeSeconds), "-exit-with-stdin")
	cmd.Stderr = errLog
	cmd.SysProcAttr = childAttr()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		errLog.Close()
		return nil, fmt.Errorf("chaos: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		errLog.Close()
		return nil, fmt.Errorf("chaos: %w", err)
	}
	if err := cmd.Start(); err != nil {
		errLog.Close()
		return nil, fmt.Errorf("chaos: start chekd-fakes: %w", err)
	}
	exited := make(chan struct{})
	stop := func() {
		stdin.Close()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		errLog.Close()
	}
	type readyOrErr struct {
		r   fakes.Ready
		err error
	}
	got := make(chan readyOrErr, 1)
	go func() {
		r, err := fakes.ReadReady(stdout)
		got <- readyOrErr{r, err}
		_, _ = io.Copy(io.Discard, stdout)
		_ = cmd.Wait()
		close(exited)
	}()
	select {
	case g := <-got:
		if g.err != nil {
			stop()
			return nil, fmt.Errorf("chaos: chekd-fakes did not start (see %s): %w", errLog.Name(), g.err)
		}
		d.ready = g.r
	case <-time.After(2 * time.Minute):
		stop()
		return nil, fmt.Errorf("chaos: chekd-fakes printed no ready line within 2 minutes (see %s)", errLog.Name())
	case <-ctx.Done():
		stop()
		return nil, ctx.Err()
	}
	fc, err := fakes.NewClient(d.ready.Control)
	if err != nil {
		stop()
		return nil, err
	}
	d.fc = fc
	names := make([]string, len(d.ready.Shops))
	for i, s := range d.ready.Shops {
		names[i] = fmt.Sprintf("%s(limit %d/%ds, whole_seconds=%t)", s.Name, s.RateRequests, s.RateWindowSeconds, s.WholeSeconds)
	}
	d.log.Info("fakes ready", "register", d.ready.Register, "shops", strings.Join(names, " "))
	return stop, nil
}

// schedule is how often chekd polls a shop. A shop that keeps InSales' real
// limit of 500 requests per 5 minutes is polled every 3 s: a poll costs two
// requests (the re-read overlap is never empty), and restarts and injected
// faults cost more, so 1 s would exhaust the limit by design.
func schedule(s fakes.ShopInfo) string {
	if s.RateRequests <= 500 {
		return "@every 3s"
	}
	return "@every 1s"
}

// orderField is the title of the fake shops' additional order field for
// receipts (insalestest's field 511497).
const orderField = "Фискальный чек"

// writeConfig writes chekd's config for the fakes and checks it with
// `chekd check-config`.
func (d *driver) writeConfig() (string, error) {
	data := filepath.Join(d.dir, "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		return "", fmt.Errorf("chaos: %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# chekd config written by chekd-chaos for its fake shops and register.\n")
	fmt.Fprintf(&b, "data_dir: %s\nlog: {level: info, format: json}\nhttp: {listen: \"127.0.0.1:0\"}\nshops:\n", strconv.Quote(data))
	start := time.Now().Add(-time.Hour).Format(time.RFC3339)
	for i, s := range d.ready.Shops {
		// The second shop writes each receipt back into an order field:
		// every write bumps updated_at, and the re-read must print nothing.
		field := ""
		if i == 1 {
			field = "\n      order_field: " + strconv.Quote(orderField)
		}
		fmt.Fprintf(&b, `  - name: %s
    schedule: %q
    start_from: %q
    insales:
      url: %s
      api_key: %s
      password_file: %s
      per_page: 50%s
    register:
      url: %s
      client_id: %s
      certificate_file: %s
      private_key_file: %s
      ca_file: %s
      rate: 500
      max_in_flight: 4
      timeout: 5s
    receipts:
      tax_system: osn
      vat_goods: vat22
      vat_delivery: vat22
      sale_statuses: [dispatched]
      refund_statuses: [returned]
      payment_methods: [%d]
      contact: email_then_phone
`, s.Name, schedule(s), start, strconv.Quote(s.URL), strconv.Quote(s.APIKey), strconv.Quote(s.PasswordFile), field,
			strconv.Quote(d.ready.Register), strconv.Quote(s.Name), strconv.Quote(d.ready.CertFile),
			strconv.Quote(d.ready.KeyFile), strconv.Quote(d.ready.CAFile), fakes.CardGateway)
	}
	path := filepath.Join(d.dir, "chekd.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return "", fmt.Errorf("chaos: %w", err)
	}
	out, err := exec.Command(d.o.chekdBin, "check-config", "--config", path).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("chaos: chekd check-config refused %s: %w\n%s", path, err, out)
	}
	return path, nil
}

// killer SIGKILLs chekd at random moments and restarts it on the same data
// dir, o.kills times. Most lives last minLife..maxLife, so kills land in
// polls, in sends and in start-up recovery; every sixth or so lasts a little
// longer so that work gets done. With timeoutFault, once, a third of the way
// in, it holds a register answer past chekd's timeout and lets chekd live
// until its retry got the cached answer.
func (d *driver) killer(ctx context.Context) error {
	rng := rand.New(rand.NewPCG(d.o.seed, 1))
	slowAt := -1
	if d.o.timeoutFault {
		slowAt = d.o.kills / 3
	}
	for n := 0; n < d.o.kills; n++ {
		if err := d.ensureRunning(); err != nil {
			return err
		}
		life := d.o.minLife + time.Duration(rng.Int64N(int64(d.o.maxLife-d.o.minLife)+1))
		if rng.IntN(6) == 0 {
			life = time.Second + time.Duration(rng.Int64N(int64(1500*time.Millisecond)))
		}
		if n == slowAt {
			if err := d.slowPastTimeout(ctx); err != nil {
				return err
			}
		}
		if !sleep(ctx, life) {
			return nil
		}
		alive, err := d.ck.kill()
		if err != nil {
			return err
		}
		if alive {
			d.mu.Lock()
			d.kills++
			k := d.kills
			d.mu.Unlock()
			if k%10 == 0 {
				d.log.Info("kills", "done", k, "of", d.o.kills)
			}
		}
	}
	return d.ensureRunning()
}

// ensureRunning starts a life unless one runs; a life that ended without a
// kill is recorded (chekd must not exit on its own).
func (d *driver) ensureRunning() error {
	if d.ck.running() {
		return nil
	}
	d.ck.reap()
	return d.ck.start()
}

// slowPastTimeout injects one register answer held past chekd's timeout
// while there is work, waits until a send took it, and lets that chekd life
// run until its retry must have been answered from the register's cache.
func (d *driver) slowPastTimeout(ctx context.Context) error {
	hold := chekdRegisterTimeout + 30*time.Second
	if _, err := d.fc.RegisterFaults(ctx, fakes.RegisterFault{Kind: "delay", DelayMS: hold.Milliseconds()}); err != nil {
		return err
	}
	d.log.Info("register: one answer held past chekd's timeout; no kills until chekd's retry got it", "hold", hold)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st, err := d.fc.RegisterStats(ctx)
		if err != nil {
			return err
		}
		if st.PendingFaults == 0 {
			break
		}
		if time.Now().After(deadline) {
			d.log.Warn("register: no send took the held answer within 2 minutes; the run goes on")
			return nil
		}
		if !sleep(ctx, 200*time.Millisecond) {
			return nil
		}
	}
	if !sleep(ctx, chekdRegisterTimeout+5*time.Second) {
		return nil
	}
	d.mu.Lock()
	d.slowDone = true
	d.mu.Unlock()
	return nil
}

func sleep(ctx context.Context, dur time.Duration) bool {
	t := time.NewTimer(dur)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// quiet waits, with chekd running and no faults injected, until every
// receipt is in the ledger, chekd holds nothing pending, and every shop was
// polled past the overlap after the last change; then a little more, to
// catch anything printed late.
func (d *driver) quiet(ctx context.Context) error {
	d.log.Info("quiet period: no more faults or kills; waiting for chekd to settle")
	var settledAt time.Time
	var lastLen int
	for {
		if err := d.ensureRunning(); err != nil {
			return err
		}
		if d.sinceProgress() > d.o.stall {
			d.problem("chekd did not settle: nothing moved for %s", d.o.stall)
			return nil
		}
		ledger, err := d.fc.Ledger(ctx)
		if err != nil {
			return err
		}
		if len(ledger) != lastLen {
			lastLen, settledAt = len(ledger), time.Time{}
			d.moved()
		}
		v := judge(d.orders, ledger)
		shops, err := d.ck.shops(ctx)
		why := ""
		switch {
		case err != nil:
			why = err.Error()
		case v.missing > 0:
			why = fmt.Sprintf("%d receipts missing", v.missing)
		case len(shops) != len(d.ready.Shops):
			why = fmt.Sprintf("chekd runs %d shops", len(shops))
		}
		for _, s := range shops {
			polled, perr := time.Parse(time.RFC3339, s.LastPollAt)
			switch {
			case perr != nil:
				why = fmt.Sprintf("%s: last poll at %q", s.Name, s.LastPollAt)
			case s.Receipts.Pending > 0:
				why = fmt.Sprintf("%s: %d pending", s.Name, s.Receipts.Pending)
			case s.Register.State != "ok":
				why = fmt.Sprintf("%s: register %s: %s", s.Name, s.Register.State, s.Register.Reason)
			case polled.Before(d.lastChange.Add(overlap + time.Second)):
				why = fmt.Sprintf("%s: not polled since the last change and the overlap", s.Name)
			}
		}
		ok := why == ""
		if !ok {
			d.log.Debug("not settled", "why", why)
		}
		switch {
		case !ok:
			settledAt = time.Time{}
		case settledAt.IsZero():
			settledAt = time.Now()
		case time.Since(settledAt) >= overlap:
			d.log.Info("settled", "ledger", len(ledger))
			return nil
		}
		if !sleep(ctx, 500*time.Millisecond) {
			return fmt.Errorf("chaos: waiting for chekd to settle: %w", ctx.Err())
		}
	}
}

// verify compares the ledger with the orders, reads the fakes' counters and
// checks chekd's store, now that chekd is stopped.
func (d *driver) verify(ctx context.Context, res *result) error {
	ledger, err := d.fc.Ledger(ctx)
	if err != nil {
		return err
	}
	res.verdict = judge(d.orders, ledger)
	d.mu.Lock()
	res.kills = d.kills
	slowDone := d.slowDone
	d.mu.Unlock()
	rs, err := d.fc.RegisterStats(ctx)
	if err != nil {
		return err
	}
	if rs.Conflicts > 0 {
		d.problem("register: %d RequestIds were resent with different bytes", rs.Conflicts)
	}
	var shopRequests []string
	for _, s := range d.ready.Shops {
		st, err := d.fc.ShopStats(ctx, s.Name)
		if err != nil {
			return err
		}
		for _, v := range st.Violations {
			d.problem("%s: chekd broke the InSales protocol: %s", s.Name, v)
		}
		shopRequests = append(shopRequests, fmt.Sprintf("%s:%d(orders %d, over the limit %d)", s.Name, st.Requests, st.OrderRequests, st.RateLimited))
	}
	d.checkStore(ledger)
	res.problems = append(res.problems, d.problemsCopy()...)
	d.log.Info("register", "complex", rs.Complex, "printed", rs.Printed, "cache_hits", rs.CacheHits, "faults_used", rs.Faults,
		"faults_left", rs.PendingFaults, "max_concurrent", rs.MaxConcurrent, "held_past_timeout", slowDone)
	d.log.Info("insales", "requests", strings.Join(shopRequests, " "))
	d.log.Info("racy orders (returned without waiting for the sale)", "orders", res.racy, "seen_sold", res.racyPrinted)
	d.log.Info("chekd", "lives", d.ck.lives, "receipts_printed", d.ck.stats.printed, "from_cache", d.ck.stats.fromCache,
		"starts_with_pending", d.ck.stats.recovered)
	for _, e := range d.ck.stats.summary() {
		d.log.Info("chekd logged ERROR", "lines", e)
	}
	for _, w := range d.ck.stats.warnings() {
		d.log.Info("chekd logged WARN", "lines", w)
	}
	for w, n := range d.ck.stats.config {
		d.log.Info("chekd config warning", "lives", n, "warning", w)
	}
	for _, f := range d.ck.stats.foreign {
		d.log.Warn("chekd printed a line that is not a log line", "line", f)
	}
	return nil
}

func (d *driver) problemsCopy() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.problems...)
}

// checkStore opens chekd's store read-only and checks it: the file is sound,
// nothing is pending, failed or waiting for a person, and every printed
// record carries the fiscal document the ledger holds for its RequestId.
func (d *driver) checkStore(ledger []fakes.Document) {
	path := filepath.Join(d.dir, "data", "chekd.db")
	db, err := store.Open(path, store.Options{Timeout: 5 * time.Second, ReadOnly: true})
	if err != nil {
		d.problem("store: %v", err)
		return
	}
	defer db.Close()
	if err := db.Check(); err != nil {
		d.problem("store check: %v", err)
	}
	fd := map[string]uint64{}
	for _, doc := range ledger {
		fd[doc.RequestID] = doc.FiscalDocNumber
	}
	states := map[store.State]int{}
	var before uint64
	for {
		recs, next, err := db.List(store.Filter{Limit: 1000, Before: before})
		if err != nil {
			d.problem("store: list: %v", err)
			return
		}
		for _, r := range recs {
			states[r.State]++
			switch r.State {
			case store.StatePrinted:
				want, ok := fd[r.RequestID]
				switch {
				case r.Fiscal == nil:
					d.problem("store: %s printed without fiscal data", r.Key)
				case !ok:
					d.problem("store: %s printed as ФД %d, but the register never printed %s", r.Key, r.Fiscal.FiscalDocNumber, r.RequestID)
				case want != r.Fiscal.FiscalDocNumber:
					d.problem("store: %s recorded ФД %d, the register printed ФД %d", r.Key, r.Fiscal.FiscalDocNumber, want)
				}
			case store.StatePending, store.StateFailed, store.StateNeedsPerson, store.StateDryRun:
				d.problem("store: %s is %s after the quiet period (%s%s)", r.Key, r.State, r.LastError, r.Reason)
			}
		}
		if next == 0 {
			break
		}
		before = next
	}
	parts := make([]string, 0, len(states))
	for _, s := range store.States {
		parts = append(parts, fmt.Sprintf("%s=%d", s, states[s]))
	}
	d.log.Info("store checked", "records", strings.Join(parts, " "))
}
