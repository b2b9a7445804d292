package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chekd/chekd/daemon/config"
	"github.com/chekd/chekd/fiscal/receipt"
	"github.com/chekd/chekd/insales"
	"github.com/chekd/chekd/store"
)

// orderGetter reads one order, to rebuild a receipt a person retries.
type orderGetter interface {
	Order(ctx context.Context, id int64) (insales.Order, error)
}

// ShopStatus is a shop as the status endpoint shows it.
type ShopStatus struct {
	Name           string
	DryRun         bool
	RegisterState  string
	RegisterReason string
	RegisterSince  time.Time
	Pending        int
	OldestPending  time.Time
}

// Shops reports every running shop, sorted by name.
func (d *Daemon) Shops() []ShopStatus {
	d.mu.Lock()
	names := make([]string, 0, len(d.cfg.Shops))
	for _, s := range d.cfg.Shops {
		names = append(names, s.Name)
	}
	runners := make(map[string]*shopRunner, len(d.shops))
	for k, v := range d.shops {
		runners[k] = v
	}
	d.mu.Unlock()
	out := make([]ShopStatus, 0, len(names))
	for _, name := range names {
		r := runners[name]
		if r == nil {
			continue
		}
		st := ShopStatus{Name: name, DryRun: r.cfg.DryRun}
		st.RegisterState, st.RegisterReason, st.RegisterSince = r.registerState()
		st.Pending, st.OldestPending = r.pendingStats()
		out = append(out, st)
	}
	return out
}

// Healthy is nil when the store answers and the scheduler runs.
func (d *Daemon) Healthy() error {
	if !d.Running() {
		return errors.New("scheduler not running")
	}
	if _, err := d.db.Shops(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// ErrNotRetryable is returned for a receipt a retry cannot help.
var ErrNotRetryable = errors.New("daemon: this receipt cannot be retried")

// Retry is a person's «retry» on one receipt:
//   - pending: the register is put back to work (if it was halted or
//     misconfigured) and the receipt is sent now, with the same RequestId;
//   - failed or needs_person: the receipt is rebuilt from the order as it is
//     now (a refund from its recorded sale) under a new generation and a new
//     RequestId, and queued.
//
// Printed, skipped and dry-run receipts cannot be retried.
func (d *Daemon) Retry(ctx context.Context, id uint64) (store.Receipt, error) {
	rec, err := d.db.GetByID(id)
	if err != nil {
		return store.Receipt{}, err
	}
	r := d.runner(rec.Shop)
	if r == nil {
		return store.Receipt{}, fmt.Errorf("daemon: shop %q is not in the config", rec.Shop)
	}
	if rec.State == store.StatePending {
		r.mu.Lock()
		if p, ok := r.pending[rec.Key]; ok {
			p.NextAttemptAt = time.Time{}
			r.pending[rec.Key] = p
		}
		r.mu.Unlock()
		r.resume()
		return rec, nil
	}
	getter, ok := r.orders.(orderGetter)
	if !ok {
		return store.Receipt{}, errors.New("daemon: this shop's InSales client cannot read single orders")
	}
	out, err := Requeue(ctx, d.db, r.cfg, getter, rec.Key, time.Now())
	if err != nil {
		return store.Receipt{}, err
	}
	if out.State == store.StatePending {
		r.enqueue([]store.Receipt{out})
		r.resume()
	}
	return out, nil
}

// Requeue rebuilds a failed or needs_person receipt under the next
// generation and stores it as pending (or dry_run for a dry-run shop). It
// works on the store alone, so `chekd retry` can use it while no daemon runs.
func Requeue(ctx context.Context, db *store.DB, sc config.Shop, orders orderGetter, k store.Key, now time.Time) (store.Receipt, error) {
	rec, err := db.Get(k)
	if err != nil {
		return store.Receipt{}, err
	}
	if rec.State != store.StateFailed && rec.State != store.StateNeedsPerson {
		return store.Receipt{}, fmt.Errorf("%w: it is %s (only failed and needs_person receipts get a new RequestId)", ErrNotRetryable, rec.State)
	}
	o, err := orders.Order(ctx, k.OrderID)
	if err != nil {
		return store.Receipt{}, fmt.Errorf("daemon: read order %d to rebuild its receipt: %w", k.OrderID, err)
	}
	all, err := db.ByOrder(k.Shop, k.OrderID)
	if err != nil {
		return store.Receipt{}, err
	}
	recorded := recordedOf(all)
	gen := rec.Generation + 1
	kind := receipt.Kind(k.Kind)
	rid := receipt.RequestID(sc.Name, k.OrderID, kind, gen)
	a := receipt.Action{Op: receipt.OpPrint, Kind: kind, Reverses: reverses(kind, all)}
	req, err := buildRequest(o, Settings(sc), a, rid, recorded)
	if err != nil {
		return store.Receipt{}, fmt.Errorf("daemon: rebuild the receipt of order %s: %w", o.Number, err)
	}
	next, err := newIntent(sc, o.ID, o.Number, receipt.Kind(k.Kind), gen, req)
	if err != nil {
		return store.Receipt{}, err
	}
	return db.Requeue(k, gen, next.RequestID, next.Body, now)
}

// reverses is the kind of printed receipt a refund of kind k reverses: the
// prepayment for a prepayment refund; the settlement, if one was printed,
// else the sale, for a refund.
func reverses(k receipt.Kind, recs []store.Receipt) receipt.Kind {
	switch k {
	case receipt.KindPrepaymentRefund:
		return receipt.KindPrepayment
	case receipt.KindRefund:
		for _, r := range recs {
			if r.Kind == store.Kind(receipt.KindSettlement) && (r.State == store.StatePrinted || r.State == store.StateDryRun) {
				return receipt.KindSettlement
			}
		}
		return receipt.KindSale
	}
	return ""
}
