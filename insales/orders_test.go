package insales_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chekd/chekd/insales"
	"github.com/chekd/chekd/insales/insalestest"
)

// start is a cursor before every order of a test.
var start = insales.CursorAt(t0.Add(-time.Hour))

func TestChangedOrdersReadsEverythingOnce(t *testing.T) {
	t.Parallel()
	shop, c, clk := newShop(t, insalestest.Options{}, func(cfg *insales.Config) { cfg.PerPage = 20 })
	var want []insales.Order
	for i := 0; i < 95; i++ {
		want = append(want, shop.AddOrder(order("Товар")))
		clk.Advance(1500 * time.Millisecond)
	}
	var s scan
	if err := s.run(context.Background(), c, start); err != nil {
		t.Fatal(err)
	}
	if len(s.orders) != len(want) {
		t.Fatalf("got %d orders, want %d", len(s.orders), len(want))
	}
	inCursorOrder(t, s.orders)
	for i, o := range s.orders {
		if o.ID != want[i].ID || o.UpdatedAt.Raw != want[i].UpdatedAt.Raw || o.TotalPrice != want[i].TotalPrice ||
			o.Lines[1].Quantity != 347 || o.Lines[0].SalePrice != 74059 {
			t.Fatalf("order %d: got %+v, want %+v", i, o, want[i])
		}
	}
	last := want[len(want)-1]
	if got := s.last(); got != (insales.Cursor{UpdatedAt: last.UpdatedAt.Raw, ID: last.ID}) {
		t.Errorf("final cursor %+v, want the last order's", got)
	}
	// 5 pages of orders and one empty answer; never page=; updated_since
	// encoded; from_id carried from the second request on.
	log := shop.Log()
	if len(log) != 6 {
		t.Errorf("%d requests, want 6", len(log))
	}
	for i, r := range log {
		q, err := url.ParseQuery(r.Query)
		if err != nil || q.Has("page") || q.Get("per_page") != "20" {
			t.Errorf("request %d: query %q", i, r.Query)
		}
		if !strings.Contains(r.Query, "%2B03%3A00") && !strings.Contains(r.Query, "%2B00%3A00") {
			t.Errorf("request %d: updated_since not URL-encoded: %q", i, r.Query)
		}
		if (i > 0) != q.Has("from_id") {
			t.Errorf("request %d: from_id presence wrong: %q", i, r.Query)
		}
	}
}

func TestChangedOrdersSharedTimestamp(t *testing.T) {
	t.Parallel()
	for _, ignore := range []bool{false, true} {
		name := "from_id honoured"
		if ignore {
			name = "from_id ignored"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// 120 orders in one second, then 3 later.
			shop, c, clk := newShop(t, insalestest.Options{WholeSeconds: true}, func(cfg *insales.Config) { cfg.PerPage = 25 })
			shop.IgnoreFromID(ignore)
			for i := 0; i < 120; i++ {
				shop.AddOrder(order("Одна секунда"))
			}
			clk.Advance(2 * time.Second)
			for i := 0; i < 3; i++ {
				shop.AddOrder(order("Позже"))
			}
			var s scan
			if err := s.run(context.Background(), c, start); err != nil {
				t.Fatal(err)
			}
			inCursorOrder(t, s.orders)
			if len(s.orders) != 123 {
				t.Fatalf("got %d orders, want 123 each once", len(s.orders))
			}
			if n := shop.Requests("GET /admin/orders.json"); n > 40 {
				t.Errorf("%d requests for 123 orders", n)
			}
		})
	}
}

func TestChangedOrdersStuckInstantGetsPast(t *testing.T) {
	t.Parallel()
	// from_id ignored and more orders at one instant than the largest page
	// the server gives: the scan must still reach the later orders and end.
	shop, c, clk := newShop(t, insalestest.Options{WholeSeconds: true, MaxPerPage: 10}, func(cfg *insales.Config) {
		cfg.PerPage = 5
		cfg.MaxPerPage = 40
	})
	shop.IgnoreFromID(true)
	for i := 0; i < 30; i++ {
		shop.AddOrder(order("Застрявший"))
	}
	clk.Advance(time.Second)
	var later []int64
	for i := 0; i < 7; i++ {
		later = append(later, shop.AddOrder(order("После")).ID)
	}
	var s scan
	if err := s.run(context.Background(), c, start); err != nil {
		t.Fatal(err)
	}
	inCursorOrder(t, s.orders)
	for _, id := range later {
		if s.count(id) != 1 {
			t.Errorf("order %d after the stuck instant handed over %d times, want 1", id, s.count(id))
		}
	}
	if len(s.orders) < 10+7 {
		t.Errorf("got %d orders, want at least the first page of the instant and the later ones", len(s.orders))
	}
}

func TestChangedOrdersShortPages(t *testing.T) {
	t.Parallel()
	// The server clamps per_page below what the client asks: short pages are
	// not the end.
	shop, c, clk := newShop(t, insalestest.Options{MaxPerPage: 7}, func(cfg *insales.Config) { cfg.PerPage = 10 })
	for i := 0; i < 30; i++ {
		shop.AddOrder(order("Товар"))
		clk.Advance(time.Second)
	}
	var s scan
	if err := s.run(context.Background(), c, start); err != nil {
		t.Fatal(err)
	}
	if len(s.orders) != 30 {
		t.Fatalf("got %d orders, want 30", len(s.orders))
	}
	inCursorOrder(t, s.orders)
}

func TestChangedOrdersChangeDuringScan(t *testing.T) {
	t.Parallel()
	shop, c, clk := newShop(t, insalestest.Options{}, func(cfg *insales.Config) { cfg.PerPage = 10 })
	var ids []int64
	for i := 0; i < 40; i++ {
		ids = append(ids, shop.AddOrder(order("Товар")).ID)
		clk.Advance(time.Second)
	}
	var s scan
	pages := 0
	err := c.ChangedOrders(context.Background(), start, func(page []insales.Order, next insales.Cursor) error {
		pages++
		if pages == 1 {
			// A merchant ships the first order (already handed over) and
			// the 30th (not read yet) while the scan runs.
			clk.Advance(time.Second)
			for _, id := range []int64{ids[0], ids[29]} {
				if err := shop.SetStatus(id, "delivered"); err != nil {
					return err
				}
			}
		}
		s.orders = append(s.orders, page...)
		s.cursors = append(s.cursors, next)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	inCursorOrder(t, s.orders)
	if n := s.count(ids[0]); n != 2 {
		t.Fatalf("order changed after it was handed over came %d times, want 2", n)
	}
	if n := s.count(ids[29]); n != 1 {
		t.Fatalf("order changed before it was read came %d times, want 1 (in its new place)", n)
	}
	lastTwo := s.orders[len(s.orders)-2:]
	for _, o := range lastTwo {
		if o.FulfillmentStatus != "delivered" || o.CustomStatus.Permalink != "delivered" {
			t.Errorf("order %d handed over with old state %q", o.ID, o.FulfillmentStatus)
		}
	}
	if len(s.orders) != 41 {
		t.Errorf("got %d orders, want 41", len(s.orders))
	}
}

func TestChangedOrdersOverlapWholeSecond(t *testing.T) {
	t.Parallel()
	// Whole-second timestamps: an order changes twice within one second, so
	// its (id, updated_at) stays the same. The next scan must hand it over
	// again with the new state (the overlap re-reads it).
	shop, c, clk := newShop(t, insalestest.Options{WholeSeconds: true}, func(cfg *insales.Config) { cfg.Overlap = 3 * time.Second })
	a := shop.AddOrder(order("A"))
	clk.Advance(10 * time.Second)
	b := shop.AddOrder(order("B"))

	var first scan
	if err := first.run(context.Background(), c, start); err != nil {
		t.Fatal(err)
	}
	stored := first.last()
	if len(first.orders) != 2 || stored != (insales.Cursor{UpdatedAt: b.UpdatedAt.Raw, ID: b.ID}) {
		t.Fatalf("first scan: %d orders, cursor %+v", len(first.orders), stored)
	}
	changed, err := shop.UpdateOrder(b.ID, func(o *insales.Order) { o.FinancialStatus = "paid"; o.PaymentTitle = "Изменено" })
	if err != nil {
		t.Fatal(err)
	}
	if changed.UpdatedAt.Raw != b.UpdatedAt.Raw {
		t.Fatalf("test premise: updated_at moved from %s to %s", b.UpdatedAt.Raw, changed.UpdatedAt.Raw)
	}

	var second scan
	if err := second.run(context.Background(), c, stored); err != nil {
		t.Fatal(err)
	}
	if len(second.orders) != 1 || second.orders[0].ID != b.ID || second.orders[0].PaymentTitle != "Изменено" {
		t.Fatalf("second scan handed %+v, want order B with its new state", second.orders)
	}
	if second.count(a.ID) != 0 {
		t.Errorf("order A is outside the overlap but came again")
	}
	// The cursor handed back never goes before the one the scan started from.
	if second.last() != stored {
		t.Errorf("cursor %+v, want it to stay %+v", second.last(), stored)
	}
}

func TestChangedOrdersStartAtTime(t *testing.T) {
	t.Parallel()
	shop, c, clk := newShop(t, insalestest.Options{}, func(cfg *insales.Config) { cfg.Overlap = -1 })
	old := shop.AddOrder(order("old"))
	clk.Advance(time.Minute)
	from := clk.Now()
	clk.Advance(time.Second)
	fresh := shop.AddOrder(order("new"))
	var s scan
	if err := s.run(context.Background(), c, insales.CursorAt(from)); err != nil {
		t.Fatal(err)
	}
	if len(s.orders) != 1 || s.orders[0].ID != fresh.ID || s.count(old.ID) != 0 {
		t.Fatalf("got %+v, want only the order after the start time", s.orders)
	}
}

func TestChangedOrdersCallbackErrorStops(t *testing.T) {
	t.Parallel()
	shop, c, clk := newShop(t, insalestest.Options{}, func(cfg *insales.Config) { cfg.PerPage = 5 })
	for i := 0; i < 20; i++ {
		shop.AddOrder(order("x"))
		clk.Advance(time.Second)
	}
	boom := errors.New("store is full")
	calls := 0
	err := c.ChangedOrders(context.Background(), start, func(page []insales.Order, next insales.Cursor) error {
		calls++
		return boom
	})
	if !errors.Is(err, boom) || calls != 1 {
		t.Fatalf("err = %v after %d calls, want the callback's error after 1", err, calls)
	}
	if n := shop.Requests("GET /admin/orders.json"); n != 1 {
		t.Errorf("%d requests after the callback failed, want 1", n)
	}
}

func TestChangedOrdersBadCursor(t *testing.T) {
	t.Parallel()
	_, c, _ := newShop(t, insalestest.Options{}, nil)
	for _, cur := range []insales.Cursor{{}, {UpdatedAt: "yesterday"}, {UpdatedAt: "2025-01-15T15:13:19"}} {
		err := c.ChangedOrders(context.Background(), cur, func([]insales.Order, insales.Cursor) error { return nil })
		if err == nil || !strings.HasPrefix(err.Error(), "insales: shop \"demo\"") {
			t.Errorf("cursor %+v: err = %v", cur, err)
		}
	}
}

func TestChangedOrdersThousand(t *testing.T) {
	t.Parallel()
	shop, c, clk := newShop(t, insalestest.Options{WholeSeconds: true}, func(cfg *insales.Config) { cfg.PerPage = 100 })
	for i := 0; i < 1000; i++ {
		shop.AddOrder(order("Товар"))
		if i%7 == 0 {
			clk.Advance(time.Second) // runs of orders share a second
		}
	}
	var s scan
	if err := s.run(context.Background(), c, start); err != nil {
		t.Fatal(err)
	}
	if len(s.orders) != 1000 {
		t.Fatalf("got %d orders, want 1000", len(s.orders))
	}
	inCursorOrder(t, s.orders)
	if n := shop.Requests(""); n != 11 {
		t.Errorf("%d requests, want 11", n)
	}
}

func TestChangedOrdersIdlePollAfterACompleteScan(t *testing.T) {
	t.Parallel()
	shop, c, clk := newShop(t, insalestest.Options{WholeSeconds: true}, func(cfg *insales.Config) { cfg.Overlap = 3 * time.Second })
	a := shop.AddOrder(order("A"))
	var first scan
	if err := first.run(context.Background(), c, start); err != nil {
		t.Fatal(err)
	}
	stored := first.last()

	// Right after the scan the server time is within the overlap of the
	// cursor: the window is re-read (a commit may still be landing in it).
	before := shop.Requests("GET /admin/orders.json")
	var again scan
	if err := again.run(context.Background(), c, stored); err != nil {
		t.Fatal(err)
	}
	if again.count(a.ID) != 1 {
		t.Fatalf("within the overlap the window must be re-read: %+v", again.orders)
	}
	if n := shop.Requests("GET /admin/orders.json") - before; n != 2 {
		t.Fatalf("%d requests, want the page and the empty page", n)
	}

	// Once a complete scan ended more than the overlap after the cursor, an
	// idle poll is one request and re-reads nothing.
	clk.Advance(10 * time.Second)
	var settle scan
	if err := settle.run(context.Background(), c, stored); err != nil {
		t.Fatal(err)
	}
	before = shop.Requests("GET /admin/orders.json")
	var idle scan
	if err := idle.run(context.Background(), c, stored); err != nil {
		t.Fatal(err)
	}
	if n := shop.Requests("GET /admin/orders.json") - before; n != 1 || len(idle.orders) != 0 {
		t.Fatalf("idle poll: %d requests, %d orders; want 1 request and none", n, len(idle.orders))
	}

	// A change after that is still found: its updated_at is after the cursor.
	clk.Advance(time.Second)
	b := shop.AddOrder(order("B"))
	var found scan
	if err := found.run(context.Background(), c, stored); err != nil {
		t.Fatal(err)
	}
	if found.count(b.ID) != 1 || found.count(a.ID) != 0 {
		t.Fatalf("after idle polls: %+v", found.orders)
	}
}
