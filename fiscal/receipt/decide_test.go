package receipt

import (
	"reflect"
	"strings"
	"testing"

	"github.com/chekd/chekd/insales"
)

const afterRefundReason = "заказ снова в статусе продажи после чека возврата: новый чек автоматически не печатается"

func rec(kind Kind, state string) Recorded { return Recorded{Kind: kind, State: state} }

// status sets the order's statuses: a fulfillment status and a custom permalink.
func status(o insales.Order, fulfillment, permalink string) insales.Order {
	o.FulfillmentStatus = fulfillment
	o.CustomStatus = insales.CustomStatusRef{Permalink: permalink}
	return o
}

func TestDecideFullPayment(t *testing.T) {
	t.Parallel()
	base := mkOrder(30000, ln("Книга", 2000, 59000, 59000, 118000))
	cash := base
	cash.PaymentGatewayID, cash.PaymentTitle = 999, "Наличными курьеру"
	byTitle := cash
	byTitle.PaymentTitle = "Оплата картой онлайн"
	titleCase := cash
	titleCase.PaymentTitle = "оплата картой онлайн"
	usd := base
	usd.CurrencyCode = "USD"
	zero := base
	zero.TotalPrice = 0
	afterRefund := afterRefundReason

	tests := []struct {
		name     string
		order    insales.Order
		recorded []Recorded
		op       Op
		kind     Kind
		reverses Kind
		reason   string // a part of the reason
	}{
		{name: "new order", order: status(base, "new", ""), op: OpNone},
		{name: "sale by fulfillment status", order: base, op: OpPrint, kind: KindSale},
		{name: "sale by custom status", order: status(base, "dispatched", "vydan"), op: OpPrint, kind: KindSale},
		{name: "custom status not a sale status", order: status(base, "accepted", "sobran"), op: OpNone},
		{name: "payment method not configured", order: cash, op: OpSkip, kind: KindSale, reason: "способ оплаты «Наличными курьеру» (id 999) не настроен"},
		{name: "payment method by exact title", order: byTitle, op: OpPrint, kind: KindSale},
		{name: "title must match exactly", order: titleCase, op: OpSkip, kind: KindSale, reason: "не настроен"},
		{name: "foreign currency", order: usd, op: OpSkip, kind: KindSale, reason: "валюта заказа USD"},
		{name: "zero total", order: zero, op: OpSkip, kind: KindSale, reason: "сумма заказа 0"},
		{name: "sale pending", order: base, recorded: []Recorded{rec(KindSale, StatePending)}, op: OpNone},
		{name: "sale printed", order: base, recorded: []Recorded{rec(KindSale, StatePrinted)}, op: OpNone},
		{name: "sale dry run", order: base, recorded: []Recorded{rec(KindSale, StateDryRun)}, op: OpNone},
		{name: "sale failed waits for a person", order: base, recorded: []Recorded{rec(KindSale, StateFailed)}, op: OpNone},
		{name: "sale held for a person", order: base, recorded: []Recorded{rec(KindSale, StateNeedsPerson)}, op: OpNone},
		{name: "skipped sale printed once eligible", order: base,
			recorded: []Recorded{{Kind: KindSale, State: StateSkipped, Reason: "способ оплаты «Наличными курьеру» (id 999) не настроен для чеков"}},
			op:       OpPrint, kind: KindSale},
		{name: "same skip is not repeated", order: cash,
			recorded: []Recorded{{Kind: KindSale, State: StateSkipped, Reason: "способ оплаты «Наличными курьеру» (id 999) не настроен для чеков"}},
			op:       OpNone},
		{name: "a different skip reason is reported", order: usd,
			recorded: []Recorded{{Kind: KindSale, State: StateSkipped, Reason: "способ оплаты «Наличными курьеру» (id 999) не настроен для чеков"}},
			op:       OpSkip, kind: KindSale, reason: "валюта"},
		{name: "refund of a printed sale", order: status(base, "returned", ""), recorded: []Recorded{rec(KindSale, StatePrinted)},
			op: OpPrint, kind: KindRefund, reverses: KindSale},
		{name: "refund by custom status of a dry-run sale", order: status(base, "delivered", "vozvrat"), recorded: []Recorded{rec(KindSale, StateDryRun)},
			op: OpPrint, kind: KindRefund, reverses: KindSale},
		{name: "refund waits for a pending sale", order: status(base, "returned", ""), recorded: []Recorded{rec(KindSale, StatePending)}, op: OpNone},
		{name: "refund without a sale", order: status(base, "returned", ""), op: OpSkip, kind: KindRefund, reason: "чек продажи не напечатан"},
		{name: "refund of a failed sale", order: status(base, "returned", ""), recorded: []Recorded{rec(KindSale, StateFailed)},
			op: OpSkip, kind: KindRefund, reason: "ошибка кассы"},
		{name: "refund of an unconfigured payment is still due", order: status(cash, "returned", ""), recorded: []Recorded{rec(KindSale, StatePrinted)},
			op: OpPrint, kind: KindRefund, reverses: KindSale},
		{name: "refund pending", order: status(base, "returned", ""), recorded: []Recorded{rec(KindSale, StatePrinted), rec(KindRefund, StatePending)}, op: OpNone},
		{name: "refund printed", order: status(base, "returned", ""), recorded: []Recorded{rec(KindSale, StatePrinted), rec(KindRefund, StatePrinted)}, op: OpNone},
		{name: "refund failed", order: status(base, "returned", ""), recorded: []Recorded{rec(KindSale, StatePrinted), rec(KindRefund, StateFailed)}, op: OpNone},
		{name: "back to a sale status after the refund", order: base, recorded: []Recorded{rec(KindSale, StatePrinted), rec(KindRefund, StatePrinted)},
			op: OpNeedsPerson, kind: KindSale, reason: afterRefund},
		{name: "after the refund, reported once", order: base,
			recorded: []Recorded{rec(KindSale, StatePrinted), rec(KindRefund, StatePrinted), {Kind: KindSale, State: StateNeedsPerson, Reason: afterRefund}},
			op:       OpNone},
		{name: "a lost sale record does not bring a second sale after a refund", order: base, recorded: []Recorded{rec(KindRefund, StatePrinted)},
			op: OpNeedsPerson, kind: KindSale, reason: afterRefund},
		{name: "refund status wins over a sale permalink", order: status(base, "returned", "vydan"), recorded: []Recorded{rec(KindSale, StatePrinted)},
			op: OpPrint, kind: KindRefund, reverses: KindSale},
		{name: "paid but not delivered in the full payment scheme", order: status(base, "accepted", "oplachen"), op: OpNone},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkDecision(t, Decide(tc.order, shop(), tc.recorded), tc.op, tc.kind, tc.reverses, tc.reason)
		})
	}
}

func checkDecision(t *testing.T, got []Action, op Op, kind, reverses Kind, reason string) {
	t.Helper()
	if op == OpNone {
		if len(got) != 0 {
			t.Fatalf("actions %+v, want none", got)
		}
		return
	}
	if len(got) != 1 {
		t.Fatalf("actions %+v, want one %s %s", got, op, kind)
	}
	a := got[0]
	if a.Op != op || a.Kind != kind || a.Reverses != reverses || !strings.Contains(a.Reason, reason) {
		t.Fatalf("action %+v, want %s %s reversing %q with reason containing %q", a, op, kind, reverses, reason)
	}
	if (op == OpSkip || op == OpNeedsPerson) && a.Reason == "" {
		t.Fatalf("action %+v has no reason", a)
	}
}

// sim is an order's life as the daemon lives it: one record per kind, a
// report never replacing a receipt, every print sent and printed at once
// unless held pending.
type sim struct {
	t       *testing.T
	s       Settings
	records map[Kind]*Recorded
	order   []Kind
	printed []Kind // receipts printed, in order
	reports []string
	hold    bool // leave prints pending
}

func newSim(t *testing.T, s Settings) *sim {
	return &sim{t: t, s: s, records: map[Kind]*Recorded{}}
}

func (m *sim) recorded() []Recorded {
	out := make([]Recorded, 0, len(m.order))
	for _, k := range m.order {
		out = append(out, *m.records[k])
	}
	return out
}

func (m *sim) put(r Recorded) {
	if _, ok := m.records[r.Kind]; !ok {
		m.order = append(m.order, r.Kind)
	}
	m.records[r.Kind] = &r
}

// poll runs Decide until nothing new comes, applying every action.
func (m *sim) poll(o insales.Order) {
	m.t.Helper()
	for round := 0; ; round++ {
		if round > 5 {
			m.t.Fatalf("Decide does not settle for order %+v", o)
		}
		acts := Decide(o, m.s, m.recorded())
		applied := 0
		for _, a := range acts {
			existing, exists := m.records[a.Kind]
			if exists && existing.State != StateSkipped {
				if a.Op == OpPrint {
					m.t.Fatalf("Decide asks to print a second %s over a %s one", a.Kind, existing.State)
				}
				// A report about a kind that has a receipt can only be logged.
				m.reports = append(m.reports, string(a.Op)+" "+string(a.Kind)+" (logged): "+a.Reason)
				continue
			}
			applied++
			switch a.Op {
			case OpPrint:
				var err error
				var r = Recorded{Kind: a.Kind, State: StatePrinted}
				if a.Kind.IsRefund() {
					ref, e := RefundFor(m.recorded(), a, RequestID(m.s.ShopName, o.ID, a.Kind, 0))
					err = e
					if err == nil {
						r.Body = body(m.t, ref)
					}
				} else {
					req, e := Build(o, m.s, a.Kind, RequestID(m.s.ShopName, o.ID, a.Kind, 0))
					err = e
					if err == nil {
						checkReceipt(m.t, req, a.Kind, o.TotalPrice)
						r.Body = body(m.t, req)
					}
				}
				if err != nil {
					m.t.Fatalf("build %s: %v", a.Kind, err)
				}
				if m.hold {
					r.State = StatePending
				} else {
					m.printed = append(m.printed, a.Kind)
				}
				m.put(r)
			case OpSkip, OpNeedsPerson:
				m.reports = append(m.reports, string(a.Op)+" "+string(a.Kind)+": "+a.Reason)
				m.put(Recorded{Kind: a.Kind, State: reportState(a.Op), Reason: a.Reason})
			default:
				m.t.Fatalf("unexpected action %+v", a)
			}
		}
		if applied == 0 {
			return
		}
	}
}

// release prints whatever was held pending.
func (m *sim) release() {
	for _, k := range m.order {
		if r := m.records[k]; r.State == StatePending {
			r.State = StatePrinted
			m.printed = append(m.printed, k)
		}
	}
	m.hold = false
}

func kindsString(ks []Kind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ",")
}

func TestDecideStatusFlipFlops(t *testing.T) {
	t.Parallel()
	o := mkOrder(0, ln("Книга", 1000, 59000, 59000, 59000))
	m := newSim(t, shop())
	for _, st := range []string{"new", "delivered", "new", "delivered", "accepted", "delivered", "returned", "new", "returned",
		"delivered", "delivered", "returned", "delivered"} {
		m.poll(status(o, st, ""))
	}
	if got := kindsString(m.printed); got != "sale,refund" {
		t.Fatalf("printed %s, want sale,refund", got)
	}
	// Each of the three sale statuses after the refund is reported, never printed.
	r := "needs_person sale (logged): " + afterRefundReason
	want := []string{r, r, r}
	if !reflect.DeepEqual(m.reports, want) {
		t.Fatalf("reports %q, want %q", m.reports, want)
	}
}

func TestDecideRefundWaitsForItsSale(t *testing.T) {
	t.Parallel()
	o := mkOrder(0, ln("Книга", 1000, 59000, 59000, 59000))
	m := newSim(t, shop())
	m.hold = true
	m.poll(o)
	m.poll(status(o, "returned", ""))
	if len(m.printed) != 0 || m.records[KindRefund] != nil {
		t.Fatalf("a refund was decided while its sale was pending: %+v", m.recorded())
	}
	m.release()
	m.poll(status(o, "returned", ""))
	if got := kindsString(m.printed); got != "sale,refund" {
		t.Fatalf("printed %s", got)
	}
}

func TestDecideSkipDoesNotBlock(t *testing.T) {
	t.Parallel()
	o := mkOrder(0, ln("Книга", 1000, 59000, 59000, 59000))
	o.PaymentGatewayID = 5
	o.PaymentTitle = "Счёт для юрлиц"
	m := newSim(t, shop())
	m.poll(o)
	m.poll(o)
	if len(m.reports) != 1 || len(m.printed) != 0 {
		t.Fatalf("reports %q printed %v", m.reports, m.printed)
	}
	m.s.GatewayIDs = append(m.s.GatewayIDs, 5) // the merchant adds the method
	m.poll(o)
	if got := kindsString(m.printed); got != "sale" {
		t.Fatalf("printed %s after the payment method was configured", got)
	}
}

func prepaymentShop() Settings {
	s := shop()
	s.Scheme = SchemePrepayment
	return s
}

func TestDecidePrepaymentLifecycle(t *testing.T) {
	t.Parallel()
	o := mkOrder(35000, ln("Кофемолка", 3000, 123456, 122221, 366664), ln("Сыр", 347, 45990, 45990, 15959))
	unpaid := status(o, "new", "")
	unpaid.FinancialStatus = "pending"
	paid := status(o, "accepted", "")

	tests := []struct {
		name    string
		steps   []insales.Order
		printed string
		reports []string
	}{
		{"paid, then delivered, then returned", []insales.Order{unpaid, paid, paid, o, status(o, "returned", "")},
			"prepayment,settlement,refund", nil},
		{"paid by a prepayment status", []insales.Order{unpaid, status(unpaid, "accepted", "oplachen"), o},
			"prepayment,settlement", nil},
		{"refund before settlement", []insales.Order{paid, status(o, "returned", ""), o},
			"prepayment,prepayment_refund", []string{"needs_person settlement: заказ снова в статусе продажи после чека возврата"}},
		{"paid and delivered between two polls", []insales.Order{unpaid, o, status(o, "returned", "")},
			"sale,refund", nil},
		{"not paid, never delivered", []insales.Order{unpaid, status(unpaid, "accepted", "")}, "", nil},
		{"refund of an unpaid order", []insales.Order{unpaid, status(unpaid, "returned", "")}, "",
			[]string{"skip refund: статус возврата, но чек продажи не напечатан"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := newSim(t, prepaymentShop())
			for _, step := range tc.steps {
				m.poll(step)
			}
			if got := kindsString(m.printed); got != tc.printed {
				t.Fatalf("printed %q, want %q", got, tc.printed)
			}
			if len(m.reports) != len(tc.reports) {
				t.Fatalf("reports %q, want %q", m.reports, tc.reports)
			}
			for i := range tc.reports {
				if !strings.HasPrefix(m.reports[i], tc.reports[i]) {
					t.Fatalf("report %q, want %q", m.reports[i], tc.reports[i])
				}
			}
		})
	}
}

func TestDecidePrepaymentReceipts(t *testing.T) {
	t.Parallel()
	o := mkOrder(35000, ln("Кофемолка", 3000, 123456, 122221, 366664), ln("Сыр", 347, 45990, 45990, 15959))
	s := prepaymentShop()
	m := newSim(t, s)
	m.poll(status(o, "accepted", ""))
	m.poll(o)
	m.poll(status(o, "returned", ""))
	pre := decodeBody(t, m.records[KindPrepayment].Body)
	set := decodeBody(t, m.records[KindSettlement].Body)
	ref := decodeBody(t, m.records[KindRefund].Body)
	if pre.Lines[0].PayAttribute != 1 || pre.NonCash[0] != uint64(o.TotalPrice) || pre.AdvancePayment != 0 {
		t.Fatalf("prepayment %+v", pre)
	}
	if set.Lines[0].PayAttribute != 4 || set.NonCash != nil || set.AdvancePayment != uint64(o.TotalPrice) {
		t.Fatalf("settlement %+v", set)
	}
	checkRefund(t, set, ref)

	// A refund before the settlement reverses the prepayment alone.
	m = newSim(t, s)
	m.poll(status(o, "accepted", ""))
	m.poll(status(o, "returned", ""))
	checkRefund(t, decodeBody(t, m.records[KindPrepayment].Body), decodeBody(t, m.records[KindPrepaymentRefund].Body))
}

func TestDecidePrepaymentRules(t *testing.T) {
	t.Parallel()
	s := prepaymentShop()
	o := mkOrder(35000, ln("Кофемолка", 3000, 123456, 122221, 366664), ln("Фильтр", 1000, 9999, 9899, 9899))
	paid := status(o, "accepted", "")
	prepaid, err := Build(o, s, KindPrepayment, RequestID("myshop", o.ID, KindPrepayment, 0))
	if err != nil {
		t.Fatal(err)
	}
	preBody := body(t, prepaid)
	prePrinted := Recorded{Kind: KindPrepayment, State: StatePrinted, Body: preBody}

	changed := o
	changed.Lines = append([]insales.OrderLine(nil), o.Lines...)
	changed.Lines[1] = ln("Фильтр", 2000, 9999, 9899, 19798)
	changed.TotalPrice += 9899
	cash := paid
	cash.PaymentGatewayID, cash.PaymentTitle = 3, "Наличными"

	tests := []struct {
		name     string
		order    insales.Order
		recorded []Recorded
		op       Op
		kind     Kind
		reverses Kind
		reason   string
	}{
		{name: "paid", order: paid, op: OpPrint, kind: KindPrepayment},
		{name: "paid by an unconfigured method", order: cash, op: OpSkip, kind: KindPrepayment, reason: "не настроен"},
		{name: "prepayment pending", order: paid, recorded: []Recorded{{Kind: KindPrepayment, State: StatePending, Body: preBody}}, op: OpNone},
		{name: "prepayment printed, still paid", order: paid, recorded: []Recorded{prePrinted}, op: OpNone},
		{name: "settlement", order: o, recorded: []Recorded{prePrinted}, op: OpPrint, kind: KindSettlement},
		{name: "settlement of a dry-run prepayment", order: o, recorded: []Recorded{{Kind: KindPrepayment, State: StateDryRun, Body: preBody}},
			op: OpPrint, kind: KindSettlement},
		{name: "settlement waits for a pending prepayment", order: o, recorded: []Recorded{{Kind: KindPrepayment, State: StatePending, Body: preBody}}, op: OpNone},
		{name: "settlement after a failed prepayment", order: o, recorded: []Recorded{rec(KindPrepayment, StateFailed)},
			op: OpNeedsPerson, kind: KindSettlement, reason: "чек предоплаты не напечатан"},
		{name: "order changed since the prepayment", order: changed, recorded: []Recorded{prePrinted},
			op: OpNeedsPerson, kind: KindSettlement, reason: "состав заказа изменился после чека предоплаты: сумма 4115.63 → 4214.62; «Фильтр»: было 1 на 98.99, стало 2 на 197.98"},
		{name: "changed order reported once", order: changed,
			recorded: []Recorded{prePrinted, {Kind: KindSettlement, State: StateNeedsPerson, Reason: "…"}}, op: OpNone},
		{name: "unreadable prepayment record", order: o, recorded: []Recorded{{Kind: KindPrepayment, State: StatePrinted, Body: []byte("{")}},
			op: OpNeedsPerson, kind: KindSettlement, reason: "не читается"},
		{name: "settlement printed", order: o, recorded: []Recorded{prePrinted, rec(KindSettlement, StatePrinted)}, op: OpNone},
		{name: "refund before settlement", order: status(o, "returned", ""), recorded: []Recorded{prePrinted},
			op: OpPrint, kind: KindPrepaymentRefund, reverses: KindPrepayment},
		{name: "refund after settlement", order: status(o, "returned", ""), recorded: []Recorded{prePrinted, rec(KindSettlement, StatePrinted)},
			op: OpPrint, kind: KindRefund, reverses: KindSettlement},
		{name: "refund waits for a pending settlement", order: status(o, "returned", ""), recorded: []Recorded{prePrinted, rec(KindSettlement, StatePending)},
			op: OpNone},
		{name: "refund waits for a pending prepayment", order: status(o, "returned", ""), recorded: []Recorded{{Kind: KindPrepayment, State: StatePending}},
			op: OpNone},
		{name: "refund after a failed settlement", order: status(o, "returned", ""), recorded: []Recorded{prePrinted, rec(KindSettlement, StateFailed)},
			op: OpNeedsPerson, kind: KindPrepaymentRefund, reason: "чек расчёта не напечатан"},
		{name: "refund of a changed order never settled", order: status(changed, "returned", ""),
			recorded: []Recorded{prePrinted, {Kind: KindSettlement, State: StateNeedsPerson, Reason: "…"}},
			op:       OpPrint, kind: KindPrepaymentRefund, reverses: KindPrepayment},
		{name: "refund after a failed prepayment", order: status(o, "returned", ""), recorded: []Recorded{rec(KindPrepayment, StateFailed)},
			op: OpSkip, kind: KindPrepaymentRefund, reason: "чек предоплаты не напечатан"},
		{name: "prepayment refunded", order: status(o, "returned", ""), recorded: []Recorded{prePrinted, rec(KindPrepaymentRefund, StatePrinted)},
			op: OpNone},
		{name: "sale status after the prepayment refund", order: o, recorded: []Recorded{prePrinted, rec(KindPrepaymentRefund, StatePrinted)},
			op: OpNeedsPerson, kind: KindSettlement, reason: "после чека возврата"},
		{name: "paid again after the prepayment refund", order: paid, recorded: []Recorded{prePrinted, rec(KindPrepaymentRefund, StatePrinted)},
			op: OpNone},
		{name: "a shop that switched from full payment keeps its sale", order: paid, recorded: []Recorded{rec(KindSale, StatePrinted)}, op: OpNone},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkDecision(t, Decide(tc.order, s, tc.recorded), tc.op, tc.kind, tc.reverses, tc.reason)
		})
	}
}

func TestDecideSettlementIgnoresLineSplitsAndMarking(t *testing.T) {
	t.Parallel()
	// Marking codes are scanned at hand-over: the settlement has one line
	// per marked unit where the prepayment had one line; that is no change.
	shoes := ln("Кроссовки", 2000, 500000, 500000, 1000001)
	shoes.RequiresMarking = true
	o := mkOrder(0, shoes)
	s := prepaymentShop()
	s.FFD = FFD12
	m := newSim(t, s)
	m.poll(status(o, "accepted", ""))
	o.Lines[0].MarkingCodes = []string{"0104600439931256215abc", "0104600439931256215abd"}
	m.poll(o)
	if got := kindsString(m.printed); got != "prepayment,settlement" {
		t.Fatalf("printed %s, reports %q", got, m.reports)
	}
	set := decodeBody(t, m.records[KindSettlement].Body)
	if len(set.Lines) != 2 || set.Lines[1].MarkingCode != "0104600439931256215abd" || set.Lines[1].Price != 500001 {
		t.Fatalf("settlement lines %+v", set.Lines)
	}
}

func TestRefundForErrors(t *testing.T) {
	t.Parallel()
	if _, err := RefundFor(nil, Action{Op: OpPrint, Kind: KindSale}, "x"); err == nil {
		t.Fatal("RefundFor a sale action")
	}
	if _, err := RefundFor([]Recorded{rec(KindSale, StatePending)}, Action{Op: OpPrint, Kind: KindRefund, Reverses: KindSale}, "x"); err == nil ||
		!strings.Contains(err.Error(), "no printed") {
		t.Fatalf("RefundFor a pending sale: %v", err)
	}
	_, err := RefundFor([]Recorded{{Kind: KindSale, State: StatePrinted, Body: []byte("[")}}, Action{Op: OpPrint, Kind: KindRefund, Reverses: KindSale}, "x")
	if err == nil || !strings.Contains(err.Error(), "not a request") {
		t.Fatalf("RefundFor a broken record: %v", err)
	}
}
