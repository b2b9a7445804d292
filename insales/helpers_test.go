package insales_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/chekd/chekd/insales"
	"github.com/chekd/chekd/insales/insalestest"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// newShop starts a fake shop on a fake clock and a client for it with fast
// retries.
func newShop(t *testing.T, opts insalestest.Options, tune func(*insales.Config)) (*insalestest.Shop, *insales.Client, *insalestest.Clock) {
	t.Helper()
	clk, ok := opts.Clock.(*insalestest.Clock)
	if !ok {
		clk = insalestest.NewClock(t0)
		opts.Clock = clk
	}
	shop := insalestest.New(t, opts)
	cfg := shop.Config("demo")
	cfg.RetryWaitMin = time.Millisecond
	cfg.RetryWaitMax = 5 * time.Millisecond
	if tune != nil {
		tune(&cfg)
	}
	c, err := insales.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return shop, c, clk
}

// order is a small valid order: two lines and delivery, adding up.
func order(title string) insales.Order {
	return insales.Order{
		FinancialStatus:   "paid",
		PaymentGatewayID:  1797,
		PaymentTitle:      "Банковской картой онлайн",
		DeliveryTitle:     "Курьер",
		DeliveryPrice:     30000,
		FullDeliveryPrice: 30000,
		ItemsPrice:        148118 + 2102,
		TotalPrice:        148118 + 2102 + 30000,
		Client:            insales.Buyer{ID: 7, Email: "buyer@example.com", Phone: "+79001234567", Name: "Иван"},
		Lines: []insales.OrderLine{
			{Title: title, Quantity: 2000, SalePrice: 74059, FullSalePrice: 74059, TotalPrice: 148118, FullTotalPrice: 148118, VAT: insales.NoVAT, FiscalProductType: 1},
			{Title: "Сыр весовой", Unit: "kg", Quantity: 347, SalePrice: 6059, FullSalePrice: 6059, TotalPrice: 2102, FullTotalPrice: 2102, VAT: 22, FiscalProductType: 1},
		},
	}
}

// scan runs ChangedOrders and collects what it hands over.
type scan struct {
	orders  []insales.Order
	cursors []insales.Cursor
}

func (s *scan) run(ctx context.Context, c *insales.Client, since insales.Cursor) error {
	return c.ChangedOrders(ctx, since, func(page []insales.Order, next insales.Cursor) error {
		s.orders = append(s.orders, page...)
		s.cursors = append(s.cursors, next)
		return nil
	})
}

func (s *scan) last() insales.Cursor { return s.cursors[len(s.cursors)-1] }

func (s *scan) count(id int64) int {
	n := 0
	for _, o := range s.orders {
		if o.ID == id {
			n++
		}
	}
	return n
}

// inCursorOrder checks that orders come strictly ascending by (updated_at, id).
func inCursorOrder(t *testing.T, orders []insales.Order) {
	t.Helper()
	for i := 1; i < len(orders); i++ {
		a, b := orders[i-1], orders[i]
		c := a.UpdatedAt.Time.Compare(b.UpdatedAt.Time)
		if c > 0 || (c == 0 && a.ID >= b.ID) {
			t.Fatalf("orders %d (%s) and %d (%s) are out of cursor order", a.ID, a.UpdatedAt.Raw, b.ID, b.UpdatedAt.Raw)
		}
	}
}

// observer records the client's metrics events.
type observer struct {
	mu          sync.Mutex
	requests    map[string]int
	usage       []int
	rateLimited []time.Duration
	onLimited   func()
}

func (o *observer) OnRequest(endpoint string, status int, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.requests == nil {
		o.requests = map[string]int{}
	}
	o.requests[endpoint]++
}

func (o *observer) OnUsage(used, limit int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.usage = append(o.usage, used)
}

func (o *observer) OnRateLimited(wait time.Duration) {
	o.mu.Lock()
	o.rateLimited = append(o.rateLimited, wait)
	f := o.onLimited
	o.mu.Unlock()
	if f != nil {
		f()
	}
}
