package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/chekd/chekd/daemon/config"
	"github.com/chekd/chekd/fiscal"
	"github.com/chekd/chekd/fiscal/receipt"
	"github.com/chekd/chekd/insales"
	"github.com/chekd/chekd/store"
)

// orderSource is what a shop runner needs from InSales.
type orderSource interface {
	ChangedOrders(ctx context.Context, since insales.Cursor, fn func(page []insales.Order, next insales.Cursor) error) error
}

// registerClient is what a shop runner needs from the register.
type registerClient interface {
	Send(ctx context.Context, body []byte) (fiscal.Result, error)
}

// Register states as the status endpoint shows them.
const (
	RegisterOK            = "ok"
	RegisterHalted        = "halted"
	RegisterMisconfigured = "misconfigured"
)

// shopRunner is one shop: its poll job, its sender and its register state.
type shopRunner struct {
	d        *Daemon
	cfg      config.Shop
	settings receipt.Settings
	log      *slog.Logger
	orders   orderSource
	reg      registerClient
	writer   *fieldWriter // nil unless insales.order_field is set
	workers  int

	job     cron.Job // the poll, wrapped so that it never overlaps itself
	kick    chan struct{}
	pollMu  sync.Mutex   // held for a whole poll, so a stop can wait for it
	stopped bool         // under pollMu: no poll runs any more
	polls   atomic.Int64 // poll cycles finished

	mu       sync.Mutex
	pending  map[store.Key]store.Receipt // pending intents not yet printed
	inflight map[store.Key]bool
	regState string
	regWhy   string
	regSince time.Time
	senderOn bool // a sender goroutine runs: only while something is pending
	closed   bool // the shop stopped: no sender starts any more

	ctx    context.Context // the runner's life: cancelled when the shop is removed or chekd stops
	cancel context.CancelFunc
	wg     sync.WaitGroup // the sender loop and every send in flight
}

// stop ends the shop's work: a poll under way ends (its context is
// cancelled) and no other starts; sends already at the register finish (the
// daemon's send context bounds them).
func (r *shopRunner) stop() {
	r.cancel()
	r.pollMu.Lock()
	r.stopped = true
	r.pollMu.Unlock()
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.wg.Wait()
}

// backoff is the delay before the n-th resend (n ≥ 1), doubling from
// Options.RetryMin up to Options.RetryMax.
func (r *shopRunner) backoff(n int) time.Duration {
	lo, hi := r.d.opts.RetryMin, r.d.opts.RetryMax
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}

// initCursor gives a shop that has never been polled its first cursor:
// start_from, else the moment of first start, so that a new install never
// prints receipts for old orders.
func (r *shopRunner) initCursor(now time.Time) (store.ShopState, error) {
	start := now
	if !r.cfg.StartFromTime.IsZero() {
		start = r.cfg.StartFromTime
	}
	c := store.Cursor{UpdatedAt: start.Format(cursorLayout)}
	return r.d.db.InitShop(r.cfg.Name, c, now)
}

// cursorLayout is how chekd writes a cursor time it made itself: ISO 8601
// with a numeric offset, as InSales writes its own.
const cursorLayout = "2006-01-02T15:04:05-07:00"

// recover loads the shop's pending intents from the store so the sender
// resends them before anything else.
func (r *shopRunner) recoverPending(all []store.Receipt) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, rec := range all {
		if rec.Shop != r.cfg.Name {
			continue
		}
		r.pending[rec.Key] = rec
		n++
	}
	return n
}

// poll runs one poll cycle: every changed order since the cursor is decided,
// its intents are made durable with the cursor, and the sender is woken.
func (r *shopRunner) poll() {
	r.pollMu.Lock()
	defer r.pollMu.Unlock()
	ctx := r.ctx
	if r.stopped || ctx.Err() != nil {
		return
	}
	select {
	case r.d.pollSlots <- struct{}{}:
		defer func() { <-r.d.pollSlots }()
	case <-ctx.Done():
		return
	}
	start := time.Now()
	st, err := r.d.db.Shop(r.cfg.Name)
	if errors.Is(err, store.ErrNotFound) || err == nil && !st.HasCursor {
		st, err = r.initCursor(start)
	}
	if err != nil {
		r.finishPoll(start, 0, fmt.Errorf("read the shop's cursor: %w", err))
		return
	}
	seen := 0
	err = r.orders.ChangedOrders(ctx, insales.Cursor{UpdatedAt: st.Cursor.UpdatedAt, ID: st.Cursor.ID},
		func(page []insales.Order, next insales.Cursor) error {
			seen += len(page)
			return r.handlePage(page, store.Cursor{UpdatedAt: next.UpdatedAt, ID: next.ID})
		})
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		err = nil // stopping, not failing
	}
	r.finishPoll(start, seen, err)
}

func (r *shopRunner) finishPoll(start time.Time, seen int, err error) {
	msg := ""
	if err != nil {
		msg = err.Error()
		r.log.Error("poll failed", "err", err, "orders_seen", seen)
	} else {
		r.log.Debug("poll done", "orders_seen", seen, "took", time.Since(start))
	}
	r.d.metrics.poll(r.cfg.Name, seen, err)
	defer r.polls.Add(1)
	r.resyncIfMissing()
	r.ensureSender()
	if serr := r.d.db.SetPollResult(r.cfg.Name, start, msg); serr != nil {
		r.log.Error("record the poll result", "err", serr)
	}
}

// handlePage decides every order of one page and stores the resulting
// intents together with the cursor after the page, in one transaction.
func (r *shopRunner) handlePage(page []insales.Order, next store.Cursor) error {
	// An order can appear twice in a page when the server ignores from_id;
	// the later copy is the newer state.
	latest := make(map[int64]int, len(page))
	for i, o := range page {
		latest[o.ID] = i
	}
	var intents []store.Receipt
	for i, o := range page {
		if latest[o.ID] != i {
			continue
		}
		add, err := r.decide(o)
		if err != nil {
			return err
		}
		intents = append(intents, add...)
	}
	saved, err := r.d.db.SaveBatch(r.cfg.Name, intents, &next)
	if err != nil {
		return fmt.Errorf("store the intents of %d orders: %w", len(page), err)
	}
	r.enqueue(saved)
	return nil
}

// decide turns one order into the records to create for it.
func (r *shopRunner) decide(o insales.Order) ([]store.Receipt, error) {
	recs, err := r.d.db.ByOrder(r.cfg.Name, o.ID)
	if err != nil {
		return nil, fmt.Errorf("read the receipts of order %d: %w", o.ID, err)
	}
	byKind := make(map[store.Kind]store.Receipt, len(recs))
	for _, rec := range recs {
		byKind[rec.Kind] = rec
	}
	recorded := recordedOf(recs)
	var out []store.Receipt
	if o.Invalid != "" {
		// Recorded as a skipped sale, which blocks nothing: once the order is
		// corrected in InSales it changes and is decided normally.
		reason := "InSales прислал заказ, который chekd не может прочитать: " + o.Invalid + "; исправьте заказ в InSales"
		if ex, ok := byKind[store.Kind(receipt.KindSale)]; ok && (ex.State != store.StateSkipped || ex.Reason == reason) {
			r.log.Error("order not readable; nothing is decided for it", "order", o.Number, "err", o.Invalid)
			return nil, nil
		}
		r.log.Error("order not readable; recorded as skipped until it is corrected", "order", o.Number, "err", o.Invalid)
		return []store.Receipt{{
			Key:         store.Key{Shop: r.cfg.Name, OrderID: o.ID, Kind: store.Kind(receipt.KindSale)},
			OrderNumber: o.Number, State: store.StateSkipped, Reason: reason,
		}}, nil
	}
	for _, a := range r.actions(o, recorded) {
		kind := store.Kind(a.Kind)
		existing, exists := byKind[kind]
		if exists && existing.State != store.StateSkipped {
			// Decide never asks for a second receipt of a kind; a note for a
			// person about a kind already recorded is only logged.
			if a.Op != receipt.OpNone {
				r.log.Warn("order needs attention", "order", o.Number, "kind", kind, "reason", a.Reason)
			}
			continue
		}
		base := store.Receipt{
			Key:         store.Key{Shop: r.cfg.Name, OrderID: o.ID, Kind: kind},
			OrderNumber: o.Number,
			Total:       o.TotalPrice,
			Reason:      a.Reason,
		}
		switch a.Op {
		case receipt.OpPrint:
			rec, err := r.buildIntent(o, a.Action, a.from, 1)
			if err != nil {
				base.State = store.StateNeedsPerson
				base.Reason = err.Error()
				r.log.Error("cannot build the receipt; it needs a person", "order", o.Number, "kind", kind, "err", err)
				out = append(out, base)
				continue
			}
			out = append(out, rec)
			r.log.Info("receipt intent", "order", o.Number, "kind", kind, "request_id", rec.RequestID,
				"total", rec.Total, "state", rec.State)
		case receipt.OpSkip, receipt.OpNeedsPerson:
			base.State = store.StateSkipped
			if a.Op == receipt.OpNeedsPerson {
				base.State = store.StateNeedsPerson
			}
			if exists && existing.State == base.State && existing.Reason == base.Reason {
				continue // already recorded just so: re-reads must not churn the store
			}
			r.log.Info("receipt not printed", "order", o.Number, "kind", kind, "state", base.State, "reason", a.Reason)
			out = append(out, base)
		}
	}
	return out, nil
}

// actions are what the receipt rules ask for the order now, plus what they
// would ask once its pending receipts are printed: a refund decided while its
// sale is still pending is stored at once (built from the pending sale's
// exact bytes, which are what the register prints), so it is as durable as
// the cursor that moves past the order. The sender keeps each order's
// receipts in the order they were created, so that refund goes out only
// after its sale is printed.
func (r *shopRunner) actions(o insales.Order, recorded []receipt.Recorded) []planned {
	hyp := make([]receipt.Recorded, len(recorded))
	anyPending := false
	for i, rec := range recorded {
		hyp[i] = rec
		if rec.State == receipt.StatePending {
			hyp[i].State = receipt.StatePrinted
			anyPending = true
		}
	}
	var out []planned
	have := map[receipt.Kind]bool{}
	for _, a := range receipt.Decide(o, r.settings, recorded) {
		out = append(out, planned{a, recorded})
		have[a.Kind] = true
	}
	if !anyPending {
		return out
	}
	for _, a := range receipt.Decide(o, r.settings, hyp) {
		if a.Op == receipt.OpPrint && !have[a.Kind] {
			// Built against the record set where the pending receipt it
			// follows counts as printed.
			out = append(out, planned{a, hyp})
		}
	}
	return out
}

// planned is an action and the records to build it from.
type planned struct {
	receipt.Action
	from []receipt.Recorded
}

// buildIntent builds the request for one receipt and wraps it in a record
// holding the exact bytes to send.
func (r *shopRunner) buildIntent(o insales.Order, a receipt.Action, recorded []receipt.Recorded, gen int) (store.Receipt, error) {
	rid := receipt.RequestID(r.cfg.Name, o.ID, a.Kind, gen)
	req, err := buildRequest(o, r.settings, a, rid, recorded)
	if err != nil {
		return store.Receipt{}, err
	}
	return newIntent(r.cfg, o.ID, o.Number, a.Kind, gen, req)
}

// buildRequest builds a sale-side receipt from the order, and a refund from
// the recorded receipt it reverses (never from today's order).
func buildRequest(o insales.Order, s receipt.Settings, a receipt.Action, rid string, recorded []receipt.Recorded) (fiscal.Request, error) {
	if a.Kind.IsRefund() {
		return receipt.RefundFor(recorded, a, rid)
	}
	return receipt.Build(o, s, a.Kind, rid)
}

// recordedOf gives the receipt rules the records of one order.
func recordedOf(recs []store.Receipt) []receipt.Recorded {
	out := make([]receipt.Recorded, 0, len(recs))
	for _, rec := range recs {
		out = append(out, receipt.Recorded{Kind: receipt.Kind(rec.Kind), State: string(rec.State), Reason: rec.Reason, Body: rec.Body})
	}
	return out
}

func newIntent(sc config.Shop, orderID int64, number string, kind receipt.Kind, gen int, req fiscal.Request) (store.Receipt, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return store.Receipt{}, fmt.Errorf("encode the request: %w", err)
	}
	var total int64
	for _, p := range req.NonCash {
		total += int64(p)
	}
	total += int64(req.AdvancePayment)
	state := store.StatePending
	if sc.DryRun {
		state = store.StateDryRun
	}
	return store.Receipt{
		Key:         store.Key{Shop: sc.Name, OrderID: orderID, Kind: store.Kind(kind)},
		OrderNumber: number,
		RequestID:   req.RequestID,
		Generation:  gen,
		State:       state,
		Body:        body,
		Contact:     req.PhoneOrEmail,
		Total:       total,
	}, nil
}

// enqueue hands freshly stored intents to the sender.
func (r *shopRunner) enqueue(recs []store.Receipt) {
	n := 0
	r.mu.Lock()
	for _, rec := range recs {
		if rec.State == store.StatePending {
			r.pending[rec.Key] = rec
			n++
		}
		r.d.metrics.receipt(rec)
	}
	r.mu.Unlock()
	if n > 0 {
		r.wake()
	}
}

func (r *shopRunner) wake() {
	r.ensureSender()
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// ensureSender starts the sender when something is pending and none runs.
// An idle shop holds no goroutine and no timer.
func (r *shopRunner) ensureSender() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.senderOn || len(r.pending) == 0 {
		return
	}
	r.senderOn = true
	r.wg.Add(1)
	go r.sender()
}

// senderDone ends the sender when nothing is pending or in flight; it
// reports whether the sender should return.
func (r *shopRunner) senderDone() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.pending) > 0 || len(r.inflight) > 0 {
		return false
	}
	r.senderOn = false
	return true
}

// sender sends due intents whenever woken and once a second, while anything
// is pending; then it ends, and the next intent starts it again.
func (r *shopRunner) sender() {
	defer r.wg.Done()
	// A send runs in a goroutine of its own, at most r.workers at once; an
	// idle shop has none.
	slots := make(chan struct{}, r.workers)
	var sends sync.WaitGroup
	defer sends.Wait()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for ticks := 1; ; {
		for _, rec := range r.due(time.Now()) {
			select {
			case slots <- struct{}{}:
				sends.Add(1)
				go func() {
					defer func() { <-slots; sends.Done() }()
					r.send(rec)
				}()
			case <-r.ctx.Done():
				r.mu.Lock()
				delete(r.inflight, rec.Key)
				r.mu.Unlock()
				return
			}
		}
		select {
		case <-r.ctx.Done():
			return
		case <-r.kick:
		case <-tick.C:
			if ticks++; ticks%resyncTicks == 0 {
				r.resync()
			}
		}
		if r.senderDone() {
			return
		}
	}
}

// resyncTicks is how often (in sender ticks of a second) a running sender
// checks the store for pending intents it does not hold; every poll does
// too. A safety net, so that no intent waits for a restart whatever path
// wrote it.
const resyncTicks = 60

// resyncIfMissing resyncs only when the store counts more pending receipts
// for the shop than the sender holds (a counter read, no scan).
func (r *shopRunner) resyncIfMissing() {
	counts, err := r.d.db.Counts(r.cfg.Name)
	if err != nil {
		return // a shop that never stored anything has no counts yet
	}
	r.mu.Lock()
	held := len(r.pending)
	r.mu.Unlock()
	if counts[store.StatePending] > held {
		r.resync()
	}
}

func (r *shopRunner) resync() {
	all, err := r.d.db.Pending()
	if err != nil {
		r.log.Error("read pending receipts", "err", err)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range all {
		if rec.Shop != r.cfg.Name {
			continue
		}
		if _, ok := r.pending[rec.Key]; !ok && !r.inflight[rec.Key] {
			r.pending[rec.Key] = rec
		}
	}
}

// due picks the pending intents whose time has come, oldest first, and marks
// them in flight. Nothing is due while the register is halted or misconfigured.
func (r *shopRunner) due(now time.Time) []store.Receipt {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.regState != RegisterOK || r.cfg.DryRun {
		return nil // a dry-run shop never calls its register
	}
	var out []store.Receipt
	for k, rec := range r.pending {
		if r.inflight[k] || rec.NextAttemptAt.After(now) {
			continue
		}
		out = append(out, rec)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	for _, rec := range out {
		r.inflight[rec.Key] = true
	}
	return out
}

// send sends one intent's exact bytes and records what came of it. The call
// runs on the daemon's send context, which outlives a shutdown request by the
// grace period so that an answer already on its way is recorded.
func (r *shopRunner) send(rec store.Receipt) {
	defer func() {
		r.mu.Lock()
		delete(r.inflight, rec.Key)
		r.mu.Unlock()
	}()
	// The store is the truth: send only what it still holds as pending, with
	// the exact bytes it holds (a person's retry may have replaced them).
	cur, err := r.d.db.Get(rec.Key)
	if err != nil || cur.State != store.StatePending {
		if err != nil {
			r.log.Error("read a pending receipt before sending it", "order", rec.OrderNumber, "kind", rec.Kind, "err", err)
		}
		r.forget(rec.Key)
		return
	}
	rec = cur
	log := r.log.With("order", rec.OrderNumber, "kind", rec.Kind, "request_id", rec.RequestID)
	if rec.LastClass == fiscal.ClassConfig.String() {
		if rec, err = r.reapplyPassword(rec); err != nil {
			log.Error("apply the corrected cashier password", "err", err)
			r.postpone(rec.Key, time.Now().Add(r.backoff(rec.Attempts+1)))
			return
		}
	}
	if wait, why := r.follows(rec); wait {
		r.postpone(rec.Key, time.Now().Add(r.d.opts.RetryMin))
		return
	} else if why != "" {
		log.Error("receipt not sent: the receipt it follows was not printed; it needs a person", "reason", why)
		if err := r.d.db.MarkNeedsPerson(rec.Key, "", why, time.Now()); err != nil {
			log.Error("record the receipt's state", "err", err)
		}
		r.forget(rec.Key)
		return
	}
	started := time.Now()
	res, err := r.reg.Send(r.d.sendCtx, rec.Body)
	now := time.Now()
	if err == nil {
		f := fiscalOf(res)
		if serr := r.d.db.MarkPrinted(rec.Key, f, now); serr != nil {
			// The document exists; the next resend gets the cached answer.
			log.Error("receipt printed but not recorded; it will be resent and answered from the register's cache", "err", serr)
			return
		}
		r.mu.Lock()
		delete(r.pending, rec.Key)
		r.mu.Unlock()
		rec.State, rec.Fiscal, rec.PrintedAt = store.StatePrinted, &f, now
		log.Info("receipt printed", "fd", f.FiscalDocNumber, "fp", f.FiscalSign, "total", f.Total,
			"from_cache", f.FromCache, "took", now.Sub(started))
		r.d.metrics.printed(rec, now.Sub(rec.CreatedAt))
		if r.d.opts.OnPrinted != nil {
			r.d.opts.OnPrinted(rec)
		}
		if r.writer != nil {
			r.writer.enqueue(rec)
		}
		return
	}
	class := fiscal.ClassUnknown
	var fe *fiscal.Error
	if errors.As(err, &fe) {
		class = fe.Class
	}
	msg := err.Error()
	var serr error
	switch class {
	case fiscal.ClassPermanent:
		log.Error("register refused the receipt; fix the cause and retry it", "class", class, "err", err)
		serr = r.d.db.MarkFailed(rec.Key, class.String(), msg, now)
		r.forget(rec.Key)
		rec.State = store.StateFailed
		r.d.metrics.receipt(rec)
	case fiscal.ClassAmbiguous:
		log.Error("register cannot tell whether the receipt was printed; it needs a person", "class", class, "err", err)
		serr = r.d.db.MarkNeedsPerson(rec.Key, class.String(), msg, now)
		r.forget(rec.Key)
		rec.State = store.StateNeedsPerson
		r.d.metrics.receipt(rec)
	default:
		next := now.Add(r.backoff(rec.Attempts + 1))
		serr = r.d.db.RecordAttempt(rec.Key, class.String(), msg, next, now)
		r.mu.Lock()
		if p, ok := r.pending[rec.Key]; ok {
			p.Attempts++
			p.NextAttemptAt = next
			p.LastError, p.LastClass = msg, class.String()
			r.pending[rec.Key] = p
		}
		r.mu.Unlock()
		switch class {
		case fiscal.ClassHalt:
			r.setRegister(RegisterHalted, msg)
			log.Error("register halted; chekd stops calling it until a person acts (retry one of its receipts, reload the config or restart)", "err", err)
		case fiscal.ClassConfig:
			r.setRegister(RegisterMisconfigured, msg)
			log.Error("register rejects chekd's settings; chekd stops calling it until the config is fixed and reloaded", "err", err)
		default:
			log.Warn("receipt not printed yet; it will be resent with the same RequestId", "class", class, "err", err, "next_attempt", next)
		}
	}
	if serr != nil {
		log.Error("record the register's answer", "err", serr)
	}
}

// dependsOn names the receipts a receipt follows: it is sent only after
// they are printed.
var dependsOn = map[receipt.Kind][]receipt.Kind{
	receipt.KindRefund:           {receipt.KindSale, receipt.KindSettlement},
	receipt.KindPrepaymentRefund: {receipt.KindPrepayment},
	receipt.KindSettlement:       {receipt.KindPrepayment},
}

// reapplyPassword puts the cashier password now configured into a receipt
// the register refused for its configuration (wrong cashier password, error
// 79). Such an answer is not cached and nothing was printed, so the corrected
// bytes go out under the same RequestId; every other field stays as stored.
func (r *shopRunner) reapplyPassword(rec store.Receipt) (store.Receipt, error) {
	var req fiscal.Request
	if err := json.Unmarshal(rec.Body, &req); err != nil {
		return rec, fmt.Errorf("read the stored request: %w", err)
	}
	if req.Password == r.settings.CashierPassword {
		return rec, nil
	}
	req.Password = r.settings.CashierPassword
	body, err := json.Marshal(req)
	if err != nil {
		return rec, err
	}
	return r.d.db.ReplaceBody(rec.Key, body, time.Now())
}

// follows checks the receipts of the same order that rec follows: while one
// is pending, rec waits (wait); when one failed or needs a person, rec is not
// sent and why says so.
func (r *shopRunner) follows(rec store.Receipt) (wait bool, why string) {
	recs, err := r.d.db.ByOrder(rec.Shop, rec.OrderID)
	if err != nil {
		return true, ""
	}
	deps := dependsOn[receipt.Kind(rec.Kind)]
	for _, e := range recs {
		if !slices.Contains(deps, receipt.Kind(e.Kind)) {
			continue
		}
		switch e.State {
		case store.StatePending:
			return true, ""
		case store.StateFailed, store.StateNeedsPerson:
			why = fmt.Sprintf("the %s receipt of this order, which comes before it, is %s", e.Kind, e.State)
		}
	}
	return false, why
}

// postpone leaves a pending receipt for later without counting an attempt.
func (r *shopRunner) postpone(k store.Key, until time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.pending[k]; ok {
		p.NextAttemptAt = until
		r.pending[k] = p
	}
}

func (r *shopRunner) forget(k store.Key) {
	r.mu.Lock()
	delete(r.pending, k)
	r.mu.Unlock()
}

func (r *shopRunner) setRegister(state, why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.regState == state && r.regWhy == why {
		return
	}
	r.regState, r.regWhy, r.regSince = state, why, time.Now()
}

// resume puts a halted or misconfigured register back to work, as a person
// asked, and resends what is due.
func (r *shopRunner) resume() {
	r.setRegister(RegisterOK, "")
	r.wake()
}

// registerState is the register's state for the status endpoint.
func (r *shopRunner) registerState() (state, why string, since time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.regState, r.regWhy, r.regSince
}

// pendingStats counts pending intents and finds the oldest one.
func (r *shopRunner) pendingStats() (n int, oldest time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range r.pending {
		n++
		if oldest.IsZero() || rec.CreatedAt.Before(oldest) {
			oldest = rec.CreatedAt
		}
	}
	return n, oldest
}

func fiscalOf(res fiscal.Result) store.Fiscal {
	return store.Fiscal{
		FiscalDocNumber:    res.FiscalDocNumber,
		FiscalSign:         res.FiscalSign,
		FNSerial:           res.FNSerial,
		RegistrationNumber: res.RegistrationNumber,
		DocNumber:          res.DocNumber,
		Shift:              res.Shift,
		Date:               res.Date,
		QR:                 res.QR,
		Total:              res.GrandTotal,
		FromCache:          res.FromCache,
	}
}
