package receipt

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/chekd/chekd/fiscal"
	"github.com/chekd/chekd/insales"
)

// done reports whether a recorded state counts as printed.
func done(state string) bool { return state == StatePrinted || state == StateDryRun }

// summary is what the records say about one kind.
type summary struct {
	done, pending, failed, needsPerson bool
	last                               *Recorded // the last record of the kind
}

// issued: a request of this kind has been (or is being) sent, or a person
// has been asked to decide about it. Only "skipped" records leave a kind open.
func (s summary) issued() bool { return s.done || s.pending || s.failed || s.needsPerson }

func summarise(recorded []Recorded) map[Kind]summary {
	m := make(map[Kind]summary, len(recorded))
	for i := range recorded {
		r := &recorded[i]
		s := m[r.Kind]
		switch r.State {
		case StatePrinted, StateDryRun:
			s.done = true
		case StatePending:
			s.pending = true
		case StateFailed:
			s.failed = true
		case StateNeedsPerson:
			s.needsPerson = true
		}
		s.last = r
		m[r.Kind] = s
	}
	return m
}

// Decide says what the order needs now, given the shop's settings and the
// receipts (and reports) already recorded for it, oldest first. It returns
// no action when nothing is to be done. The rules are in the package
// documentation.
//
// Decide is a fixed point: once the daemon has recorded the actions it
// returned (a print as pending, a skip as skipped, a needs-person as
// needs_person, each with the action's Reason), Decide on the same order
// returns nothing new. The one exception is a needs-person report about a
// kind that already holds a receipt (a sale status after the refund): it
// cannot be recorded without replacing the receipt, so it is returned each
// time Decide runs on the order, for the daemon to log.
func Decide(o insales.Order, s Settings, recorded []Recorded) []Action {
	st := summarise(recorded)
	a, ok := decide(o, s, st, recorded)
	if !ok {
		return nil
	}
	// A report already recorded with the same words is not repeated.
	if a.Op == OpSkip || a.Op == OpNeedsPerson {
		if last := st[a.Kind].last; last != nil && last.State == reportState(a.Op) && last.Reason == a.Reason {
			return nil
		}
	}
	return []Action{a}
}

func reportState(op Op) string {
	if op == OpSkip {
		return StateSkipped
	}
	return StateNeedsPerson
}

func decide(o insales.Order, s Settings, st map[Kind]summary, recorded []Recorded) (Action, bool) {
	sale, set, pre := st[KindSale], st[KindSettlement], st[KindPrepayment]
	ref, preRef := st[KindRefund], st[KindPrepaymentRefund]

	// The final receipt is the sale or, in the prepayment scheme, the settlement.
	finalKind, final := KindSale, sale
	if !sale.issued() && set.issued() {
		finalKind, final = KindSettlement, set
	}

	switch {
	case inStatus(o, s.RefundStatuses):
		switch {
		case ref.issued() || preRef.issued():
			return Action{}, false // at most one refund
		case final.done:
			return Action{Op: OpPrint, Kind: KindRefund, Reverses: finalKind}, true
		case final.pending:
			return Action{}, false // the refund waits for its receipt
		case final.failed:
			if pre.done {
				return Action{Op: OpNeedsPerson, Kind: KindPrepaymentRefund,
					Reason: "статус возврата, но чек расчёта не напечатан (ошибка кассы): возврат предоплаты — решение за человеком"}, true
			}
			return Action{Op: OpSkip, Kind: KindRefund,
				Reason: "статус возврата, но чек продажи не напечатан (ошибка кассы): возвращать нечего"}, true
		case pre.done:
			// Never settled (or the settlement was held for a person and never
			// sent): the prepayment alone is reversed.
			return Action{Op: OpPrint, Kind: KindPrepaymentRefund, Reverses: KindPrepayment}, true
		case pre.pending:
			return Action{}, false
		case pre.failed:
			return Action{Op: OpSkip, Kind: KindPrepaymentRefund,
				Reason: "статус возврата, но чек предоплаты не напечатан (ошибка кассы): возвращать нечего"}, true
		}
		return Action{Op: OpSkip, Kind: KindRefund, Reason: "статус возврата, но чек продажи не напечатан: возвращать нечего"}, true

	case inStatus(o, s.SaleStatuses):
		switch {
		case ref.done || ref.pending || preRef.done || preRef.pending:
			kind := finalKind
			if !final.issued() && pre.issued() {
				kind = KindSettlement
			}
			if st[kind].needsPerson {
				return Action{}, false
			}
			return Action{Op: OpNeedsPerson, Kind: kind,
				Reason: "заказ снова в статусе продажи после чека возврата: новый чек автоматически не печатается"}, true
		case final.issued():
			return Action{}, false // at most one sale, whatever the status does
		case pre.issued():
			return settle(o, s, pre, recorded)
		}
		if reason := ineligible(o, s); reason != "" {
			return Action{Op: OpSkip, Kind: KindSale, Reason: reason}, true
		}
		return Action{Op: OpPrint, Kind: KindSale}, true

	case s.prepaymentScheme() && (o.FinancialStatus == "paid" || inStatus(o, s.PrepaymentStatuses)):
		if pre.issued() || final.issued() || ref.issued() || preRef.issued() {
			return Action{}, false
		}
		if reason := ineligible(o, s); reason != "" {
			return Action{Op: OpSkip, Kind: KindPrepayment, Reason: reason}, true
		}
		return Action{Op: OpPrint, Kind: KindPrepayment}, true
	}
	return Action{}, false
}

// settle decides the settlement of a prepaid order that reached a sale status.
func settle(o insales.Order, s Settings, pre summary, recorded []Recorded) (Action, bool) {
	switch {
	case pre.pending:
		return Action{}, false // the settlement offsets what the prepayment printed
	case pre.failed || (pre.needsPerson && !pre.done):
		return Action{Op: OpNeedsPerson, Kind: KindSettlement,
			Reason: "чек предоплаты не напечатан: чек расчёта автоматически не печатается"}, true
	}
	prepaid, ok, err := printedRequest(recorded, KindPrepayment)
	if err != nil || !ok {
		return Action{Op: OpNeedsPerson, Kind: KindSettlement,
			Reason: "записанный чек предоплаты не читается: чек расчёта автоматически не печатается"}, true
	}
	now, err := Build(o, s, KindPrepayment, "compare")
	if err != nil {
		return Action{Op: OpNeedsPerson, Kind: KindSettlement,
			Reason: "чек расчёта не собирается из заказа: " + err.Error()}, true
	}
	if diff := contentDiff(prepaid, now); diff != "" {
		return Action{Op: OpNeedsPerson, Kind: KindSettlement,
			Reason: "состав заказа изменился после чека предоплаты: " + diff}, true
	}
	return Action{Op: OpPrint, Kind: KindSettlement}, true
}

// ineligible is why a new sale or prepayment receipt is not printed, or "".
func ineligible(o insales.Order, s Settings) string {
	if !roubles(o.CurrencyCode) {
		return fmt.Sprintf("валюта заказа %s: чеки печатаются только для заказов в рублях", o.CurrencyCode)
	}
	if o.TotalPrice <= 0 {
		return "сумма заказа 0: чек не нужен"
	}
	if slices.Contains(s.GatewayIDs, o.PaymentGatewayID) || slices.Contains(s.GatewayTitles, o.PaymentTitle) {
		return ""
	}
	return fmt.Sprintf("способ оплаты «%s» (id %d) не настроен для чеков", o.PaymentTitle, o.PaymentGatewayID)
}

// inStatus reports whether the order's custom status permalink or its
// fulfillment status is one of statuses.
func inStatus(o insales.Order, statuses []string) bool {
	return (o.CustomStatus.Permalink != "" && slices.Contains(statuses, o.CustomStatus.Permalink)) ||
		(o.FulfillmentStatus != "" && slices.Contains(statuses, o.FulfillmentStatus))
}

// contentDiff describes how the goods of two receipts differ, comparing per
// (description, VAT, subject) the total quantity and amount, so that the way
// positions are split into lines does not matter. "" when they are the same.
func contentDiff(was, now fiscal.Request) string {
	type key struct {
		desc    string
		tax     uint8
		subject uint8
	}
	type val struct{ qty, amount uint64 }
	agg := func(r fiscal.Request) (map[key]val, uint64) {
		m := make(map[key]val, len(r.Lines))
		var total uint64
		for _, l := range r.Lines {
			k := key{l.Description, l.TaxID, l.LineAttribute}
			v := m[k]
			a := (l.Price*l.Qty + 500) / 1000
			v.qty += l.Qty
			v.amount += a
			total += a
			m[k] = v
		}
		return m, total
	}
	a, ta := agg(was)
	b, tb := agg(now)
	var diffs []string
	if ta != tb {
		diffs = append(diffs, fmt.Sprintf("сумма %s → %s", money(int64(ta)), money(int64(tb))))
	}
	keys := make([]key, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].desc != keys[j].desc {
			return keys[i].desc < keys[j].desc
		}
		if keys[i].tax != keys[j].tax {
			return keys[i].tax < keys[j].tax
		}
		return keys[i].subject < keys[j].subject
	})
	show := func(v val, ok bool) string {
		if !ok {
			return "нет"
		}
		return fmt.Sprintf("%s на %s", quantity(int64(v.qty)), money(int64(v.amount)))
	}
	const maxShown = 5
	var more int
	for _, k := range keys {
		va, oka := a[k]
		vb, okb := b[k]
		if oka && okb && va == vb {
			continue
		}
		if len(diffs) >= maxShown {
			more++
			continue
		}
		diffs = append(diffs, fmt.Sprintf("«%s»: было %s, стало %s", k.desc, show(va, oka), show(vb, okb)))
	}
	if len(diffs) == 0 {
		return ""
	}
	s := strings.Join(diffs, "; ")
	if more > 0 {
		s += fmt.Sprintf("; и ещё %d", more)
	}
	return s
}
