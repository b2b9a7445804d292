package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"

	"github.com/chekd/chekd/cmd/chekd-fakes/fakes"
	"github.com/chekd/chekd/fiscal"
)

// A kind of receipt an order can need.
type kind string

const (
	kindNone   kind = ""
	kindSale   kind = "sale"
	kindRefund kind = "refund"
)

// step moves an order to a status; when wait is set, the order's next step
// comes only once a receipt of that kind is in the register's ledger. The
// wait makes sure chekd saw the status that asks for the receipt before the
// order leaves it: chekd decides on the order as it is when polled, so a
// status it never saw cannot be expected to give a receipt.
type step struct {
	status string
	wait   kind
}

// script is one way an order goes through the shop.
type script struct {
	name    string
	payment string // card or cod
	weight  int
	steps   []step
	// racy: the order leaves its sale status without waiting, so chekd may
	// never see it there. Its receipts are judged by the pair rule: either
	// no sale and no refund, or one of each; a sale alone means the refund
	// was lost, a refund alone that it reverses nothing.
	racy bool
}

// scripts are the order lives the chaos run plays, with their weights.
var scripts = []script{
	{"sale", "card", 22, []step{{"accepted", kindNone}, {"dispatched", kindSale}, {"delivered", kindNone}}, false},
	{"refund", "card", 22, []step{{"dispatched", kindSale}, {"returned", kindRefund}}, false},
	{"flip-flop", "card", 12, []step{{"dispatched", kindSale}, {"accepted", kindNone}, {"dispatched", kindNone},
		{"returned", kindRefund}, {"dispatched", kindNone}, {"returned", kindNone}}, false},
	{"cancelled", "card", 7, []step{{"accepted", kindNone}, {"declined", kindNone}}, false},
	{"returned-unsold", "card", 5, []step{{"returned", kindNone}}, false},
	{"returned-then-sold", "card", 9, []step{{"returned", kindNone}, {"dispatched", kindSale}, {"returned", kindRefund}}, false},
	{"racy-refund", "card", 6, []step{{"dispatched", kindNone}, {"returned", kindNone}}, true},
	{"cod-delivered", "cod", 8, []step{{"dispatched", kindNone}, {"delivered", kindNone}}, false},
	{"cod-returned", "cod", 9, []step{{"dispatched", kindNone}, {"returned", kindNone}}, false},
}

func pickScript(rng *rand.Rand) *script {
	total := 0
	for i := range scripts {
		total += scripts[i].weight
	}
	n := rng.IntN(total)
	for i := range scripts {
		if n < scripts[i].weight {
			return &scripts[i]
		}
		n -= scripts[i].weight
	}
	return &scripts[len(scripts)-1]
}

// order is one order the run created and what was done to it.
type order struct {
	shop    string
	id      int64
	email   string // unique per order: how a ledger document is tied to it
	total   int64  // kopecks
	payment string
	script  *script
	next    int      // index of the next step of script
	history []string // every status it was moved to, in order
}

// done reports whether every step was applied and its wait is over.
func (o *order) done(printed func(email string, k kind) bool) bool {
	if o.next < len(o.script.steps) {
		return false
	}
	if o.next == 0 {
		return true
	}
	w := o.script.steps[o.next-1].wait
	return w == kindNone || printed(o.email, w)
}

// ready reports whether the order may take its next step now.
func (o *order) ready(printed func(email string, k kind) bool) bool {
	if o.next >= len(o.script.steps) {
		return false
	}
	if o.next == 0 {
		return true
	}
	w := o.script.steps[o.next-1].wait
	return w == kindNone || printed(o.email, w)
}

// expected is what the order's history asks of the register: a card order
// that ever reached dispatched needs one sale; one that reached returned after
// that needs one refund; a cash-on-delivery order needs nothing. (A racy
// order's needs depend on what chekd saw: see judge.)
func (o *order) expected() []kind {
	if o.payment != "card" {
		return nil
	}
	sold := false
	var out []kind
	for _, s := range o.history {
		switch {
		case s == "dispatched" && !sold:
			sold = true
			out = append(out, kindSale)
		case s == "returned" && sold && !slices.Contains(out, kindRefund):
			out = append(out, kindRefund)
		}
	}
	return out
}

// newOrder is the order the fakes create for a script: lines and prices vary
// so that receipts differ, quantities are whole pieces.
func newOrder(rng *rand.Rand, email string, sc *script) fakes.NewOrder {
	titles := []string{"Чайник «Уют»", "Кружка", "Набор ложек", "Скатерть льняная", "Ваза", "Термос 0,75 л", "Полотенце"}
	vats := []int{22, 22, 10, -1}
	n := 1 + rng.IntN(3)
	no := fakes.NewOrder{Payment: sc.payment, Email: email}
	if rng.IntN(3) > 0 {
		no.Delivery = int64(10000 + 100*rng.IntN(300))
	}
	for range n {
		no.Lines = append(no.Lines, fakes.NewLine{
			Title:    titles[rng.IntN(len(titles))],
			Quantity: int64(1+rng.IntN(3)) * 1000,
			Price:    int64(5000 + rng.IntN(500000)),
			VAT:      vats[rng.IntN(len(vats))],
		})
	}
	return no
}

// docKind is the kind of receipt a document type prints.
func docKind(t uint8) kind {
	switch t {
	case fiscal.DocSale:
		return kindSale
	case fiscal.DocSaleRefund:
		return kindRefund
	}
	return kind(fmt.Sprintf("document type %d", t))
}

// verdict compares the register's ledger with what the orders need.
type verdict struct {
	expected, printed, duplicates, missing, extra int
	racy, racyPrinted                             int // racy orders; of which chekd saw sold
	problems                                      []string
}

// maxListed is how many problems of one sort are spelled out.
const maxListed = 20

// judge finds, for every order, its documents in the ledger by the buyer's
// e-mail (unique per order) and the document type, and counts duplicates,
// missing and extra documents. Totals must equal the order's.
func judge(orders []*order, ledger []fakes.Document) verdict {
	byEmail := make(map[string]*order, len(orders))
	for _, o := range orders {
		byEmail[o.email] = o
	}
	type slot struct {
		email string
		k     kind
	}
	docs := map[slot][]fakes.Document{}
	v := verdict{printed: len(ledger)}
	racy, racyPrinted := 0, 0
	var extra, dup, miss, wrong []string
	for _, d := range ledger {
		o, ok := byEmail[d.Contact]
		if !ok {
			v.extra++
			extra = append(extra, fmt.Sprintf("ФД %d %s: no order of this run", d.FiscalDocNumber, d.RequestID))
			continue
		}
		s := slot{d.Contact, docKind(d.DocumentType)}
		docs[s] = append(docs[s], d)
		if d.Total != uint64(o.total) {
			wrong = append(wrong, fmt.Sprintf("%s order %d: %s ФД %d total %d, the order's is %d", o.shop, o.id, s.k, d.FiscalDocNumber, d.Total, o.total))
		}
	}
	for _, o := range orders {
		want := o.expected()
		if o.script.racy {
			// chekd may have seen the order only once it was returned: then
			// nothing is due. Once a sale is printed, its refund is.
			racy++
			if len(docs[slot{o.email, kindSale}]) == 0 {
				want = nil
			} else {
				racyPrinted++
			}
		}
		v.expected += len(want)
		for _, k := range want {
			got := docs[slot{o.email, k}]
			switch {
			case len(got) == 0:
				v.missing++
				miss = append(miss, fmt.Sprintf("%s order %d (%s, history %s): no %s", o.shop, o.id, o.script.name, strings.Join(o.history, "→"), k))
			case len(got) > 1:
				v.duplicates += len(got) - 1
				dup = append(dup, fmt.Sprintf("%s order %d (%s): %d %s documents: %s", o.shop, o.id, o.script.name, len(got), k, docList(got)))
			}
		}
		for _, k := range []kind{kindSale, kindRefund} {
			if !slices.Contains(want, k) {
				if got := docs[slot{o.email, k}]; len(got) > 0 {
					v.extra += len(got)
					extra = append(extra, fmt.Sprintf("%s order %d (%s, history %s): unexpected %s: %s", o.shop, o.id, o.script.name, strings.Join(o.history, "→"), k, docList(got)))
				}
			}
		}
	}
	v.racy, v.racyPrinted = racy, racyPrinted
	for s, got := range docs {
		if s.k != kindSale && s.k != kindRefund {
			v.extra += len(got)
			extra = append(extra, fmt.Sprintf("%s: %s", s.k, docList(got)))
		}
	}
	for _, l := range []struct {
		what string
		list []string
	}{{"duplicate", dup}, {"missing", miss}, {"extra", extra}, {"wrong total", wrong}} {
		sort.Strings(l.list)
		for i, p := range l.list {
			if i == maxListed {
				v.problems = append(v.problems, fmt.Sprintf("%s: and %d more", l.what, len(l.list)-maxListed))
				break
			}
			v.problems = append(v.problems, l.what+": "+p)
		}
	}
	return v
}

func docList(docs []fakes.Document) string {
	parts := make([]string, len(docs))
	for i, d := range docs {
		parts[i] = fmt.Sprintf("ФД %d %s at %s", d.FiscalDocNumber, d.RequestID, d.Time.Format("15:04:05.000"))
	}
	return strings.Join(parts, ", ")
}
