package daemon

import (
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chekd/chekd/daemon/config"
	"github.com/chekd/chekd/insales"
	"github.com/chekd/chekd/store"
)

// An order InSales sent in a form chekd cannot read is recorded as a skipped
// sale with the reason (the merchant sees it), and blocks nothing: once it is
// corrected it is decided like any other order.
func TestUnreadableOrderIsSkippedWithItsReason(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "chekd.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sc := config.Shop{Name: "s", Receipts: config.Receipts{TaxSystem: "osn", VATGoods: "vat22", VATDelivery: "vat22",
		SaleStatuses: []string{"dispatched"}, RefundStatuses: []string{"returned"}, GatewayIDs: []int64{1}, Contact: "none"}}
	r := &shopRunner{d: &Daemon{db: db}, cfg: sc, settings: Settings(sc), log: slog.New(slog.DiscardHandler)}
	bad := insales.Order{ID: 5, Number: "1005", Invalid: "order 5: total_price: not a decimal number"}
	recs, err := r.decide(bad)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].State != store.StateSkipped || !strings.Contains(recs[0].Reason, "total_price") {
		t.Fatalf("records %+v", recs)
	}
	if _, err := db.SaveBatch("s", recs, nil); err != nil {
		t.Fatal(err)
	}
	if again, _ := r.decide(bad); len(again) != 0 {
		t.Fatalf("a re-read of the same unreadable order must not write again: %+v", again)
	}
	fixed := insales.Order{ID: 5, Number: "1005", FulfillmentStatus: "dispatched", PaymentGatewayID: 1,
		ItemsPrice: 10000, TotalPrice: 10000, Lines: []insales.OrderLine{{Title: "x", Quantity: 1000,
			SalePrice: 10000, FullSalePrice: 10000, TotalPrice: 10000, FullTotalPrice: 10000, VAT: insales.NoVAT}}}
	recs, err = r.decide(fixed)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].State != store.StatePending || len(recs[0].Body) == 0 {
		t.Fatalf("the corrected order must get its sale: %+v", recs)
	}
}
