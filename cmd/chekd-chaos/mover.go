package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/chekd/chekd/cmd/chekd-fakes/fakes"
)

// Pacing of the mover.
const (
	waves           = 20  // new orders arrive in this many waves
	maxMovesPerShop = 120 // status changes per shop per round
	// maxPerSecond bounds the orders of one shop that change within one
	// second. A shop with whole-second updated_at that ignores from_id can
	// only be read past an instant that fits in chekd's largest page (250
	// orders, insales.DefaultMaxPerPage); beyond that chekd warns and cannot
	// see the rest, a documented limit the run must not cross. A batch sent
	// at the end of one second may be stamped with the next, so the budget
	// is under half of it.
	maxPerSecond = 120
)

// waveDue reports whether wave i (0-based) of new orders is due. The waves
// follow the kills, spread over the first 80% of them, so that orders arrive
// and move while chekd is being killed, and none arrive while the killer
// holds back (the register timeout fault); without kills they come at once.
func (d *driver) waveDue(i int) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.kills*10*waves >= i*d.o.kills*8
}

// mover creates the orders in waves and moves each through its script,
// injecting InSales and register faults between rounds, until every order
// finished its script (or nothing moved for o.stall).
func (d *driver) mover(ctx context.Context) error {
	rng := rand.New(rand.NewPCG(d.o.seed, 2))
	byShop := map[string][]*order{}
	quota := map[string]int{}
	for i, s := range d.ready.Shops {
		quota[s.Name] = d.o.orders / len(d.ready.Shops)
		if i < d.o.orders%len(d.ready.Shops) {
			quota[s.Name]++
		}
	}
	wave := 0
	seq := 0
	ignoring := map[string]int{} // shop → rounds left with from_id ignored
	touched := map[string]*secondBudget{}
	for _, s := range d.ready.Shops {
		touched[s.Name] = &secondBudget{}
	}
	for round := 0; ; round++ {
		ledger, err := d.fc.Ledger(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		d.observe(ledger)
		printed := d.isPrinted

		if wave < waves && d.waveDue(wave) {
			for _, s := range d.ready.Shops {
				n := min(quota[s.Name]-len(byShop[s.Name]), (quota[s.Name]+waves-1)/waves, touched[s.Name].left(time.Now()))
				if n <= 0 {
					continue
				}
				batch := make([]fakes.NewOrder, n)
				made := make([]*order, n)
				for i := range batch {
					seq++
					sc := pickScript(rng)
					email := fmt.Sprintf("buyer%d.%s@example.com", seq, s.Name)
					batch[i] = newOrder(rng, email, sc)
					made[i] = &order{shop: s.Name, email: email, payment: sc.payment, script: sc}
				}
				created, err := d.fc.CreateOrders(ctx, s.Name, batch)
				if err != nil {
					return ctxOr(ctx, err)
				}
				for i, c := range created {
					made[i].id, made[i].total = c.ID, c.Total
					touched[s.Name].take(time.Now(), c.ID)
				}
				byShop[s.Name] = append(byShop[s.Name], made...)
				d.orders = append(d.orders, made...)
				d.lastChange = time.Now()
				d.moved()
			}
			wave++
		}

		finished := true
		for _, s := range d.ready.Shops {
			var changes []fakes.StatusChange
			var movedOrders []*order
			for _, o := range byShop[s.Name] {
				if !o.done(printed) {
					finished = false
				}
				if len(changes) < maxMovesPerShop && o.ready(printed) && touched[s.Name].take(time.Now(), o.id) {
					changes = append(changes, fakes.StatusChange{ID: o.id, Status: o.script.steps[o.next].status})
					movedOrders = append(movedOrders, o)
				}
			}
			if len(byShop[s.Name]) < quota[s.Name] {
				finished = false
			}
			if len(changes) == 0 {
				continue
			}
			if err := d.fc.SetStatuses(ctx, s.Name, changes); err != nil {
				return ctxOr(ctx, err)
			}
			for _, o := range movedOrders {
				o.history = append(o.history, o.script.steps[o.next].status)
				o.next++
			}
			d.lastChange = time.Now()
			d.moved()
		}
		if finished {
			d.log.Info("every order finished its script", "orders", len(d.orders), "rounds", round)
			return d.calm(ctx, ignoring)
		}
		if d.sinceProgress() > d.o.stall {
			d.problem("the orders stopped moving: nothing printed or moved for %s", d.o.stall)
			return d.calm(ctx, ignoring)
		}
		if err := d.injectFaults(ctx, rng, ignoring); err != nil {
			return ctxOr(ctx, err)
		}
		if !sleep(ctx, time.Duration(150+rng.IntN(250))*time.Millisecond) {
			return nil
		}
	}
}

// secondBudget counts the distinct orders of one shop changed within the
// current second.
type secondBudget struct {
	sec    int64
	orders map[int64]bool
}

func (b *secondBudget) roll(now time.Time) {
	if s := now.Unix(); s != b.sec || b.orders == nil {
		b.sec, b.orders = s, map[int64]bool{}
	}
}

// left is how many more orders may change this second.
func (b *secondBudget) left(now time.Time) int {
	b.roll(now)
	return maxPerSecond - len(b.orders)
}

// take reports whether order id may change now, and counts it.
func (b *secondBudget) take(now time.Time, id int64) bool {
	b.roll(now)
	if !b.orders[id] && len(b.orders) >= maxPerSecond {
		return false
	}
	b.orders[id] = true
	return true
}

func ctxOr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// observe takes a fresh ledger: which orders have which receipts.
func (d *driver) observe(ledger []fakes.Document) {
	n := 0
	for _, m := range d.printed {
		n += len(m)
	}
	for _, doc := range ledger {
		m := d.printed[doc.Contact]
		if m == nil {
			m = map[kind]bool{}
			d.printed[doc.Contact] = m
		}
		m[docKind(doc.DocumentType)] = true
	}
	after := 0
	for _, m := range d.printed {
		after += len(m)
	}
	if after != n {
		d.moved()
	}
}

func (d *driver) isPrinted(email string, k kind) bool { return d.printed[email][k] }

// calm switches from_id handling back on everywhere once the orders are done.
func (d *driver) calm(ctx context.Context, ignoring map[string]int) error {
	off := false
	for shop := range ignoring {
		if _, err := d.fc.ShopFaults(ctx, shop, fakes.ShopFaults{IgnoreFromID: &off}); err != nil {
			return ctxOr(ctx, err)
		}
	}
	return nil
}

// registerBursts are the register faults of a chaos run: each is transient
// or leaves the document printed and cached, so a resend with the same
// RequestId must settle it. FCE 6 (ambiguous), halts and permanent errors
// need a person and are never injected.
var registerBursts = []struct {
	name   string
	weight int
	fault  func(rng *rand.Rand) []fakes.RegisterFault
}{
	{"busy", 25, func(rng *rand.Rand) []fakes.RegisterFault {
		return repeat(fakes.RegisterFault{Kind: "fce", Code: 18}, 1+rng.IntN(3))
	}},
	{"no OFD link", 20, func(rng *rand.Rand) []fakes.RegisterFault {
		return repeat(fakes.RegisterFault{Kind: "register", Code: 17}, 1+rng.IntN(3))
	}},
	{"print then drop", 25, func(rng *rand.Rand) []fakes.RegisterFault {
		return repeat(fakes.RegisterFault{Kind: "print_then_drop"}, 1+rng.IntN(2))
	}},
	// Held until chekd is killed (or, without a kill, past its timeout).
	{"slow", 8, func(*rand.Rand) []fakes.RegisterFault {
		return []fakes.RegisterFault{{Kind: "delay", DelayMS: (chekdRegisterTimeout + 30*time.Second).Milliseconds()}}
	}},
	{"no register free", 8, func(*rand.Rand) []fakes.RegisterFault { return []fakes.RegisterFault{{Kind: "fce", Code: 5}} }},
	{"in progress", 5, func(*rand.Rand) []fakes.RegisterFault { return []fakes.RegisterFault{{Kind: "fce", Code: 24}} }},
	{"bad gateway", 5, func(*rand.Rand) []fakes.RegisterFault { return []fakes.RegisterFault{{Kind: "http_502"}} }},
	{"truncated", 4, func(*rand.Rand) []fakes.RegisterFault { return []fakes.RegisterFault{{Kind: "truncated"}} }},
}

// shopBursts are the InSales faults of a chaos run.
var shopBursts = []struct {
	kind        string
	weight      int
	least, most int
}{
	{"429", 35, 3, 8}, // a storm: more than chekd sits out in one call
	{"503", 20, 1, 2},
	{"503-rate-limited", 10, 1, 3},
	{"malformed", 20, 1, 2},
	{"drop", 15, 1, 2},
}

func repeat(f fakes.RegisterFault, n int) []fakes.RegisterFault {
	out := make([]fakes.RegisterFault, n)
	for i := range out {
		out[i] = f
	}
	return out
}

// injectFaults decides this round's faults. Faults are queued only when the
// previous ones were used, so that polls and sends get through between
// bursts and none is left over for the quiet period. The slow fault is used only while kills go on: without a kill it
// costs chekd's whole register timeout, which the killer plays once on
// purpose.
func (d *driver) injectFaults(ctx context.Context, rng *rand.Rand, ignoring map[string]int) error {
	d.mu.Lock()
	killing := d.kills < d.o.kills
	d.mu.Unlock()
	if rng.Float64() < 0.3 {
		st, err := d.fc.RegisterStats(ctx)
		if err != nil {
			return err
		}
		if st.PendingFaults == 0 {
			total := 0
			for _, b := range registerBursts {
				total += b.weight
			}
			n := rng.IntN(total)
			for _, b := range registerBursts {
				if n >= b.weight {
					n -= b.weight
					continue
				}
				if b.name == "slow" && !killing {
					break
				}
				if _, err := d.fc.RegisterFaults(ctx, b.fault(rng)...); err != nil {
					return err
				}
				break
			}
		}
	}
	for _, s := range d.ready.Shops {
		if left, ok := ignoring[s.Name]; ok && left > 0 {
			ignoring[s.Name]--
			if left == 1 {
				off := false
				if _, err := d.fc.ShopFaults(ctx, s.Name, fakes.ShopFaults{IgnoreFromID: &off}); err != nil {
					return err
				}
			}
		} else if rng.Float64() < 0.04 {
			on := true
			ignoring[s.Name] = 5 + rng.IntN(15)
			if _, err := d.fc.ShopFaults(ctx, s.Name, fakes.ShopFaults{IgnoreFromID: &on}); err != nil {
				return err
			}
		}
		if rng.Float64() >= 0.1 {
			continue
		}
		// One burst at a time: a shop polled every few seconds must get
		// clean answers between bursts, as a real one would.
		st, err := d.fc.ShopStats(ctx, s.Name)
		if err != nil {
			return err
		}
		if st.PendingFaults > 0 {
			continue
		}
		total := 0
		for _, b := range shopBursts {
			total += b.weight
		}
		n := rng.IntN(total)
		for _, b := range shopBursts {
			if n >= b.weight {
				n -= b.weight
				continue
			}
			count := b.least + rng.IntN(b.most-b.least+1)
			if _, err := d.fc.ShopFaults(ctx, s.Name, fakes.ShopFaults{Faults: []fakes.ShopFault{{Kind: b.kind, Count: count}}}); err != nil {
				return err
			}
			break
		}
	}
	return nil
}
