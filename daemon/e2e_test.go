package daemon_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/chekd/chekd/fiscal"
	"github.com/chekd/chekd/fiscal/chekonlinetest"
	"github.com/chekd/chekd/insales"
	"github.com/chekd/chekd/insales/insalestest"
	"github.com/chekd/chekd/store"
)

func TestSaleOnCustomStatusAndOnFulfillmentStatus(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{receipts: `
      tax_system: osn
      vat_goods: vat22
      vat_delivery: vat22
      sale_statuses: [otgruzhen, delivered]
      refund_statuses: [returned]
      payment_methods: [1797]`})
	w.shop.SetCustomStatuses([]insales.CustomStatus{
		{Permalink: "new", Title: "Новый", SystemStatus: "new"},
		{Permalink: "otgruzhen", Title: "Отгружен курьеру", SystemStatus: "accepted"},
		{Permalink: "v-puti", Title: "В пути", SystemStatus: "approved"},
		{Permalink: "returned", Title: "Возврат", SystemStatus: "declined"},
	})
	w.start()
	a := w.order(Card, "a@example.com")
	b := w.order(Card, "b@example.com")
	w.status(a.ID, "otgruzhen") // custom status permalink
	if _, err := w.shop.UpdateOrder(b.ID, func(o *insales.Order) {
		o.CustomStatus = insales.CustomStatusRef{Permalink: "v-puti", Title: "В пути"}
		o.FulfillmentStatus = "delivered" // matched by the fulfillment status
	}); err != nil {
		t.Fatal(err)
	}
	w.settle(2)
	for _, d := range w.reg.Ledger() {
		if d.DocumentType != fiscal.DocSale || d.Total != 280000 {
			t.Errorf("document %+v: want a sale of 2800.00", d)
		}
	}
	if got := w.receiptsOf(a.ID)["sale"].State; got != store.StatePrinted {
		t.Errorf("order a: sale %s", got)
	}
}

func TestRefundAfterSaleAndFlipFlops(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	w.start()
	o := w.order(Card, "buyer@example.com")
	w.status(o.ID, "dispatched")
	w.settle(1)
	// Flip-flops never give a second sale.
	w.status(o.ID, "accepted")
	w.poll()
	w.status(o.ID, "dispatched")
	w.poll()
	w.status(o.ID, "returned")
	w.settle(2)
	w.status(o.ID, "dispatched")
	w.poll()
	w.status(o.ID, "returned")
	w.poll()
	w.settle(2)
	docs := w.reg.Ledger()
	sale, refund := docs[0], docs[1]
	if sale.DocumentType != fiscal.DocSale || refund.DocumentType != fiscal.DocSaleRefund {
		t.Fatalf("want a sale then a refund:\n%s", ledgerText(docs))
	}
	if jsonOf(t, sale.Lines) != jsonOf(t, refund.Lines) || jsonOf(t, sale.NonCash) != jsonOf(t, refund.NonCash) {
		t.Errorf("the refund does not repeat the sale:\n sale %+v\n refund %+v", sale, refund)
	}
	if sale.PhoneOrEmail != "buyer@example.com" {
		t.Errorf("contact %q", sale.PhoneOrEmail)
	}
}

func TestRefundWithoutSaleAndExcludedPaymentMethod(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	w.start()
	never := w.order(Card, "x@example.com")
	w.status(never.ID, "returned") // refund status, nothing was printed
	cod := w.order(COD, "y@example.com")
	w.status(cod.ID, "dispatched") // cash on delivery: the courier's register prints it
	printed := w.order(Card, "z@example.com")
	w.status(printed.ID, "dispatched")
	w.settle(1)
	w.poll()
	w.settle(1)
	if d := w.reg.Ledger()[0]; d.DocumentType != fiscal.DocSale {
		t.Fatalf("want the one sale: %+v", d)
	}
	if r, ok := w.receiptsOf(cod.ID)["sale"]; !ok || r.State != store.StateSkipped || r.Reason == "" {
		t.Errorf("cash on delivery: want a skipped sale with a reason, got %+v", r)
	}
	for kind, r := range w.receiptsOf(never.ID) {
		if r.State == store.StatePending || r.State == store.StatePrinted {
			t.Errorf("refund without sale: %s record in state %s", kind, r.State)
		}
	}
}

func TestRefundDecidedWhileItsSaleIsStillPending(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	w.start()
	// The register is busy: the sale stays pending while the order is returned.
	w.reg.Inject(chekonlinetest.FCE(18), chekonlinetest.FCE(18), chekonlinetest.FCE(18), chekonlinetest.FCE(18),
		chekonlinetest.FCE(18), chekonlinetest.FCE(18), chekonlinetest.FCE(18), chekonlinetest.FCE(18))
	o := w.order(Card, "late@example.com")
	w.status(o.ID, "dispatched")
	w.poll()
	w.status(o.ID, "returned")
	w.poll()
	// The order is never touched again: the refund must still come.
	waitFor(t, "the sale and its refund", func() bool { return len(w.reg.Ledger()) == 2 })
	w.settle(2)
	if docs := w.reg.Ledger(); docs[0].DocumentType != fiscal.DocSale || docs[1].DocumentType != fiscal.DocSaleRefund {
		t.Fatalf("want the sale before its refund:\n%s", ledgerText(docs))
	}
}

func TestRepeatedPollsAndOverlapRereadsPrintOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{shop: insalestest.Options{WholeSeconds: true}})
	w.start()
	for i := range 10 {
		o := w.order(Card, fmt.Sprintf("b%d@example.com", i))
		w.status(o.ID, "dispatched")
	}
	for range 5 {
		w.poll()
	}
	w.settle(10)
	w.shop.IgnoreFromID(true)
	for range 5 {
		w.poll()
	}
	w.settle(10)
	for id, n := range ledgerCount(w.reg.Ledger()) {
		if n != 1 {
			t.Errorf("%s printed %d times", id, n)
		}
	}
}

func TestFiveHundredOrdersInOnePoll(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	var want int
	for i := range 500 {
		o := w.order(Card, fmt.Sprintf("bulk%d@example.com", i))
		w.status(o.ID, "dispatched")
		want++
	}
	w.start()
	w.settle(want)
	if got := len(ledgerCount(w.reg.Ledger())); got != want {
		t.Fatalf("%d distinct receipts, want %d", got, want)
	}
}

func TestPrintThenDropAndBusyThenFree(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	w.start()
	w.reg.Inject(chekonlinetest.PrintThenDrop(), chekonlinetest.HTTP502(), chekonlinetest.FCE(18), chekonlinetest.FCE(5))
	a := w.order(Card, "a@example.com")
	w.status(a.ID, "dispatched")
	w.settle(1)
	b := w.order(Card, "b@example.com")
	w.reg.Inject(chekonlinetest.FCE(24), chekonlinetest.RegisterError(17), chekonlinetest.Truncated())
	w.status(b.ID, "dispatched")
	w.settle(2)
	if st := w.reg.Stats(); st.CacheHits == 0 {
		t.Errorf("a dropped answer must be recovered from the register's cache: %+v", st)
	}
}

func TestPermanentErrorFailsAndAmbiguousNeedsAPerson(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	w.start()
	w.reg.Inject(chekonlinetest.RegisterError(51))
	a := w.order(Card, "a@example.com")
	w.status(a.ID, "dispatched")
	waitFor(t, "the sale to fail", func() bool {
		w.d.PollNow("test")
		return w.receiptsOf(a.ID)["sale"].State == store.StateFailed
	})
	w.reg.Inject(chekonlinetest.FCE(6))
	b := w.order(Card, "b@example.com")
	w.status(b.ID, "dispatched")
	waitFor(t, "the sale to need a person", func() bool {
		w.d.PollNow("test")
		return w.receiptsOf(b.ID)["sale"].State == store.StateNeedsPerson
	})
	for range 3 {
		w.poll()
	}
	if n := len(w.reg.Ledger()); n != 0 {
		t.Fatalf("nothing may be printed, got %d", n)
	}
	// A person fixes the cause and retries: a new RequestId, printed once.
	rec := w.receiptsOf(a.ID)["sale"]
	out, err := w.d.Retry(t.Context(), rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if out.RequestID == rec.RequestID || out.Generation != rec.Generation+1 {
		t.Errorf("retry kept RequestId %q (gen %d → %d)", out.RequestID, rec.Generation, out.Generation)
	}
	w.settle(1)
}

func TestHaltStopsTheRegisterUntilAPersonActs(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	w.start()
	w.reg.Inject(chekonlinetest.FCE(19))
	a := w.order(Card, "a@example.com")
	w.status(a.ID, "dispatched")
	waitFor(t, "the register to halt", func() bool {
		w.d.PollNow("test")
		s := w.d.Shops()
		return len(s) == 1 && s[0].RegisterState == "halted"
	})
	before := w.reg.Stats().Complex
	b := w.order(Card, "b@example.com")
	w.status(b.ID, "dispatched")
	for range 3 {
		w.poll()
	}
	if got := w.reg.Stats().Complex; got != before {
		t.Fatalf("a halted register was called %d more times", got-before)
	}
	if got := w.receiptsOf(b.ID)["sale"].State; got != store.StatePending {
		t.Fatalf("the intent must be kept while the register is halted, got %s", got)
	}
	if _, err := w.d.Retry(t.Context(), w.receiptsOf(a.ID)["sale"].ID); err != nil {
		t.Fatal(err)
	}
	w.settle(2)
}

func TestInSales429Storm(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	w.start()
	for i := range 20 {
		o := w.order(Card, fmt.Sprintf("s%d@example.com", i))
		w.status(o.ID, "dispatched")
	}
	w.shop.Fail(6, insalestest.Fault429)
	w.shop.Fail(2, insalestest.Fault503RateLimited)
	w.settle(20)
	limited := 0
	for _, r := range w.shop.Log() {
		if r.Status == 429 || r.Status == 503 {
			limited++
		}
	}
	if limited < 8 {
		t.Fatalf("the storm reached the client %d times, want 8", limited)
	}
}

func TestRestartWithPendingIntents(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	w.start()
	for range 40 {
		w.reg.Inject(chekonlinetest.FCE(5))
	}
	for i := range 3 {
		o := w.order(Card, fmt.Sprintf("r%d@example.com", i))
		w.status(o.ID, "dispatched")
	}
	w.poll()
	waitFor(t, "intents to be pending", func() bool {
		p, _ := w.d.Store().Pending()
		return len(p) == 3
	})
	w.stop()
	w.start()
	w.settle(3)
	for id, n := range ledgerCount(w.reg.Ledger()) {
		if n != 1 {
			t.Errorf("%s printed %d times", id, n)
		}
	}
}

func TestDryRunNeverCallsTheRegister(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{extraYAML: "    dry_run: true"})
	w.start()
	o := w.order(Card, "dry@example.com")
	w.status(o.ID, "dispatched")
	waitFor(t, "a dry-run record", func() bool {
		w.d.PollNow("test")
		return w.receiptsOf(o.ID)["sale"].State == store.StateDryRun
	})
	w.status(o.ID, "returned")
	waitFor(t, "a dry-run refund", func() bool {
		w.d.PollNow("test")
		return w.receiptsOf(o.ID)["refund"].State == store.StateDryRun
	})
	if st := w.reg.Stats(); st.Requests != 0 {
		t.Fatalf("a dry-run shop called the register %d times", st.Requests)
	}
}

func TestOrderFieldWriteBackDoesNotPrintAgain(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{extraYAML: "      order_field: Фискальный чек"})
	w.start()
	o := w.order(Card, "note@example.com")
	w.status(o.ID, "dispatched")
	w.settle(1)
	waitFor(t, "the receipt note on the order", func() bool {
		got, _ := w.shop.Order(o.ID)
		for _, fv := range got.FieldsValues {
			if fv.FieldID == 511497 && fv.Value != "" {
				return true
			}
		}
		return false
	})
	for range 3 {
		w.poll()
	}
	w.settle(1)
	got, _ := w.shop.Order(o.ID)
	for _, fv := range got.FieldsValues {
		if fv.FieldID == 511497 {
			d := w.reg.Ledger()[0]
			want := fmt.Sprintf("Чек прихода: ФД %d, ФП %d, ", d.FiscalDocNumber, d.FiscalSign)
			if len(fv.Value) < len(want) || fv.Value[:len(want)] != want {
				t.Errorf("note %q, want it to start with %q", fv.Value, want)
			}
		}
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const prepaymentReceipts = `
      scheme: prepayment
      tax_system: osn
      vat_goods: vat22
      vat_delivery: vat22
      sale_statuses: [dispatched]
      refund_statuses: [returned]
      payment_methods: [1797]`

func TestPrepaymentSchemeOnTheLedger(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{receipts: prepaymentReceipts})
	w.start()
	settled := w.order(Card, "settled@example.com")
	unsettled := w.order(Card, "unsettled@example.com")
	for _, id := range []int64{settled.ID, unsettled.ID} {
		if err := w.shop.MarkPaid(id); err != nil {
			t.Fatal(err)
		}
	}
	w.settle(2) // two prepayments
	w.status(settled.ID, "dispatched")
	w.settle(3) // the settlement
	w.status(settled.ID, "returned")
	w.status(unsettled.ID, "returned")
	w.settle(5) // the settlement's refund, and the prepayment's refund
	for range 3 {
		w.poll()
	}
	w.settle(5)

	byRID := map[string]chekonlinetest.Document{}
	for _, d := range w.reg.Ledger() {
		byRID[d.RequestID] = d
	}
	if len(byRID) != 5 {
		t.Fatalf("want 5 distinct receipts:\n%s", ledgerText(w.reg.Ledger()))
	}
	rid := func(id int64, kind string) chekonlinetest.Document {
		t.Helper()
		rec := w.receiptsOf(id)[store.Kind(kind)]
		d, ok := byRID[rec.RequestID]
		if !ok {
			t.Fatalf("order %d: no %s document (record %+v)", id, kind, rec)
		}
		return d
	}
	pre := rid(settled.ID, "prepayment")
	if pre.DocumentType != fiscal.DocSale || pre.Lines[0].PayAttribute != fiscal.PayFullPrepayment || pre.NonCash[0] != 280000 {
		t.Errorf("prepayment: %+v", pre)
	}
	set := rid(settled.ID, "settlement")
	if set.DocumentType != fiscal.DocSale || set.Lines[0].PayAttribute != fiscal.PayFullSettlement ||
		set.AdvancePayment != 280000 || sum(set.NonCash) != 0 {
		t.Errorf("settlement: %+v", set)
	}
	ref := rid(settled.ID, "refund")
	if ref.DocumentType != fiscal.DocSaleRefund || jsonOf(t, ref.Lines) != jsonOf(t, set.Lines) || ref.AdvancePayment != set.AdvancePayment {
		t.Errorf("the refund must reverse the settlement: %+v", ref)
	}
	preRef := rid(unsettled.ID, "prepayment_refund")
	unsettledPre := rid(unsettled.ID, "prepayment")
	if preRef.DocumentType != fiscal.DocSaleRefund || jsonOf(t, preRef.Lines) != jsonOf(t, unsettledPre.Lines) {
		t.Errorf("the prepayment refund must reverse the prepayment: %+v", preRef)
	}
}

func TestPrepaymentChangedOrderNeedsAPerson(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{receipts: prepaymentReceipts})
	w.start()
	o := w.order(Card, "changed@example.com")
	if err := w.shop.MarkPaid(o.ID); err != nil {
		t.Fatal(err)
	}
	w.settle(1)
	if _, err := w.shop.UpdateOrder(o.ID, func(o *insales.Order) {
		o.Lines[1].Quantity, o.Lines[1].FullTotalPrice, o.Lines[1].TotalPrice = 1000, 50000, 50000
		o.ItemsPrice, o.TotalPrice = 200000, 230000
	}); err != nil {
		t.Fatal(err)
	}
	w.status(o.ID, "dispatched")
	waitFor(t, "the settlement to need a person", func() bool {
		w.d.PollNow("test")
		r, ok := w.receiptsOf(o.ID)["settlement"]
		return ok && r.State == store.StateNeedsPerson && r.Reason != ""
	})
	w.settle(1)
}

func sum(v []uint64) uint64 {
	var s uint64
	for _, x := range v {
		s += x
	}
	return s
}

// A wrong cashier password (register error 79) stops the register; once the
// config is fixed and reloaded, the receipt goes out with the corrected
// password under its same RequestId, printed once.
func TestWrongCashierPasswordFixedByReload(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	w.yaml = strings.Replace(w.yaml, "      rate: 1000\n", "      rate: 1000\n      cashier_password: 7\n", 1)
	w.start()
	o := w.order(Card, "pw@example.com")
	w.status(o.ID, "dispatched")
	waitFor(t, "the register to be misconfigured", func() bool {
		w.d.PollNow("test")
		s := w.d.Shops()
		return len(s) == 1 && s[0].RegisterState == "misconfigured"
	})
	rid := w.receiptsOf(o.ID)["sale"].RequestID
	w.yaml = strings.Replace(w.yaml, "      cashier_password: 7\n", "", 1)
	if err := w.d.Reload(w.config()); err != nil {
		t.Fatal(err)
	}
	w.settle(1)
	if d := w.reg.Ledger()[0]; d.RequestID != rid {
		t.Fatalf("printed as %s, want the same RequestId %s", d.RequestID, rid)
	}
}
