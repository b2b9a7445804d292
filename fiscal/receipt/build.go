package receipt

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/chekd/chekd/fiscal"
	"github.com/chekd/chekd/insales"
)

// ErrTotalMismatch means the order's lines and delivery do not add up to its
// total_price by more than rounding explains. Nothing is printed: a person
// decides (a receipt must total exactly what was paid).
var ErrTotalMismatch = errors.New("receipt: order total does not match its lines")

// ErrInvalidOrder means the order cannot become a receipt as it stands
// (negative amounts, a non-rouble currency, marking codes missing, …). A
// person decides.
var ErrInvalidOrder = errors.New("receipt: order cannot be printed as it stands")

// MaxSpread is the largest difference, in kopecks, between total_price and
// Σ full_total_price + full_delivery_price that Build resolves by itself.
// InSales rounds discounts and margins per line, so the two can differ by a
// few kopecks; a larger gap means the order is not what it seems.
const MaxSpread = 100

// Limits that keep every product below in int64 with a wide margin; no
// real order comes near them.
const (
	maxAmount = 1 << 40 // kopecks (about 11 billion roubles)
	maxQty    = 1 << 30 // thousandths (about a million units)
	maxLines  = 10000
)

// item is one receipt position before it is split into register lines.
type item struct {
	desc     string
	qty      int64 // thousandths
	amount   int64 // kopecks, what the position costs in total
	hint     int64 // the shop's own unit price, used when it is exact; -1 when none
	taxID    uint8
	subject  uint8
	unit     uint8
	codes    []string
	marking  bool
	position string // for error messages: "line 3 (id 123)"
}

// Build makes the register request for a sale, prepayment or settlement
// receipt of the order. The receipt totals total_price to the kopeck:
//
//   - one position per order line from full_total_price (discounts and the
//     payment method's margin included), and the delivery as a service when
//     full_delivery_price > 0;
//   - when those add up to total_price ± MaxSpread rather than exactly, the
//     difference is spread over the positions in proportion to their amounts
//     (largest remainder, whole kopecks), so the receipt still equals the
//     payment; beyond MaxSpread Build returns ErrTotalMismatch;
//   - a position whose amount does not divide by its quantity is split into
//     lines that do (2 × 33.33 + 1 × 33.34); a fractional quantity gets a unit
//     price whose exact product lies within half a kopeck of the amount, so
//     the register's rounding, whichever way it rounds halves, gives the
//     amount exactly.
//
// A prepayment receipt is paid by NonCash with PayAttribute 1, VAT at the
// calculated rate (22/122, …) and no marking codes; a settlement receipt has
// PayAttribute 4 and is paid by AdvancePayment = total; a sale by NonCash with
// PayAttribute 4. Refunds are made by BuildRefund, from the recorded receipt.
func Build(o insales.Order, s Settings, kind Kind, requestID string) (fiscal.Request, error) {
	var pay uint8
	switch kind {
	case KindSale, KindSettlement:
		pay = fiscal.PayFullSettlement
	case KindPrepayment:
		pay = fiscal.PayFullPrepayment
	default:
		return fiscal.Request{}, fmt.Errorf("receipt: Build makes sale, prepayment and settlement receipts, not %q (refunds come from BuildRefund)", kind)
	}
	if err := checkRequestID(requestID); err != nil {
		return fiscal.Request{}, err
	}
	if !roubles(o.CurrencyCode) {
		return fiscal.Request{}, fmt.Errorf("%w: order %s is in %q, receipts are printed in roubles only", ErrInvalidOrder, orderName(o), o.CurrencyCode)
	}
	if o.TotalPrice <= 0 || o.TotalPrice > maxAmount {
		return fiscal.Request{}, fmt.Errorf("%w: order %s: total_price %s is not a payable amount", ErrInvalidOrder, orderName(o), money(o.TotalPrice))
	}
	taxMode, err := TaxMode(s.TaxSystem)
	if err != nil {
		return fiscal.Request{}, err
	}
	items, err := orderItems(o, s, kind)
	if err != nil {
		return fiscal.Request{}, err
	}
	if err := spread(o, items); err != nil {
		return fiscal.Request{}, err
	}
	var lines []fiscal.Line
	for i := range items {
		ls, err := itemLines(&items[i], pay, kind, s, o)
		if err != nil {
			return fiscal.Request{}, err
		}
		lines = append(lines, ls...)
	}
	r := fiscal.Request{
		Device:             "auto",
		Password:           s.CashierPassword,
		RequestID:          requestID,
		ClientID:           s.ClientID,
		Group:              s.Group,
		DocumentType:       fiscal.DocSale,
		Lines:              lines,
		TaxMode:            taxMode,
		PhoneOrEmail:       Contact(o, s.Contact),
		MaxDocumentsInTurn: s.MaxDocumentsInTurn,
	}
	if kind == KindSettlement {
		r.AdvancePayment = uint64(o.TotalPrice)
	} else {
		r.NonCash = []uint64{uint64(o.TotalPrice), 0, 0}
	}
	if s.ffd12() {
		r.Place = s.Place
	}
	return r, nil
}

func roubles(code string) bool { return code == "" || code == "RUR" || code == "RUB" }

func checkRequestID(id string) error {
	if id == "" || len(id) > MaxRequestID {
		return fmt.Errorf("receipt: RequestId must be 1 to %d characters, got %d", MaxRequestID, len(id))
	}
	return nil
}

// orderItems turns the order lines and the delivery into positions.
func orderItems(o insales.Order, s Settings, kind Kind) ([]item, error) {
	if len(o.Lines) == 0 {
		return nil, fmt.Errorf("%w: order %s has no lines", ErrInvalidOrder, orderName(o))
	}
	if len(o.Lines) > maxLines {
		return nil, fmt.Errorf("%w: order %s has %d lines, more than %d", ErrInvalidOrder, orderName(o), len(o.Lines), maxLines)
	}
	ids := TaxIDs(s.TaxIDs)
	taxID := func(vat, position string) (uint8, error) {
		if kind == KindPrepayment {
			vat = calculatedRate(vat)
		}
		id, ok := ids[vat]
		if !ok {
			if vat == "" {
				return 0, fmt.Errorf("receipt: order %s, %s: no VAT rate (the line gives none and vat_goods is not set)", orderName(o), position)
			}
			return 0, fmt.Errorf("receipt: order %s, %s: unknown VAT rate %q (one of: %s)", orderName(o), position, vat, strings.Join(VATNames(), ", "))
		}
		return id, nil
	}
	items := make([]item, 0, len(o.Lines)+1)
	for i, l := range o.Lines {
		pos := fmt.Sprintf("line %d (id %d)", i+1, l.ID)
		if l.Quantity < 0 || l.Quantity > maxQty {
			return nil, fmt.Errorf("%w: order %s, %s: quantity %s", ErrInvalidOrder, orderName(o), pos, quantity(l.Quantity))
		}
		if l.FullTotalPrice < 0 || l.FullTotalPrice > maxAmount {
			return nil, fmt.Errorf("%w: order %s, %s: full_total_price %s", ErrInvalidOrder, orderName(o), pos, money(l.FullTotalPrice))
		}
		if l.Quantity == 0 {
			if l.FullTotalPrice != 0 {
				return nil, fmt.Errorf("%w: order %s, %s: quantity 0 costs %s", ErrInvalidOrder, orderName(o), pos, money(l.FullTotalPrice))
			}
			continue // nothing sold, nothing to print
		}
		id, err := taxID(lineVAT(l, s), pos)
		if err != nil {
			return nil, err
		}
		subject := fiscal.SubjectGoods
		if l.FiscalProductType >= 1 && l.FiscalProductType <= 13 {
			subject = uint8(l.FiscalProductType)
		}
		hint := l.FullSalePrice
		if hint < 0 || hint > maxAmount {
			hint = -1
		}
		items = append(items, item{
			desc:     Description(l.Title, l.SKU),
			qty:      l.Quantity,
			amount:   l.FullTotalPrice,
			hint:     hint,
			taxID:    id,
			subject:  subject,
			unit:     MeasureUnit(l.Unit),
			codes:    l.MarkingCodes,
			marking:  l.RequiresMarking,
			position: pos,
		})
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("%w: order %s has no line with a quantity", ErrInvalidOrder, orderName(o))
	}
	if o.FullDeliveryPrice < 0 || o.FullDeliveryPrice > maxAmount {
		return nil, fmt.Errorf("%w: order %s: full_delivery_price %s", ErrInvalidOrder, orderName(o), money(o.FullDeliveryPrice))
	}
	if o.FullDeliveryPrice > 0 {
		vat := s.VATDelivery
		if vat == "" {
			vat = s.VATGoods
		}
		id, err := taxID(vat, "delivery")
		if err != nil {
			return nil, err
		}
		items = append(items, item{
			desc:     Description(o.DeliveryTitle, "Доставка"),
			qty:      1000,
			amount:   o.FullDeliveryPrice,
			hint:     o.FullDeliveryPrice,
			taxID:    id,
			subject:  fiscal.SubjectService,
			unit:     0,
			position: "delivery",
		})
	}
	return items, nil
}

// spread makes the positions add up to total_price exactly; see Build.
func spread(o insales.Order, items []item) error {
	var sum int64
	for _, it := range items {
		sum += it.amount
	}
	diff := o.TotalPrice - sum
	if diff == 0 {
		return nil
	}
	if diff > MaxSpread || diff < -MaxSpread || sum <= 0 {
		return fmt.Errorf("%w: order %s: lines and delivery add up to %s, total_price is %s", ErrTotalMismatch, orderName(o), money(sum), money(o.TotalPrice))
	}
	type share struct {
		i   int
		rem int64
	}
	shares := make([]share, 0, len(items))
	left := diff
	for i := range items {
		num := diff * items[i].amount
		d := num / sum
		items[i].amount += d
		left -= d
		rem := num % sum
		if rem < 0 {
			rem = -rem
		}
		if items[i].amount > 0 || diff > 0 {
			shares = append(shares, share{i, rem})
		}
	}
	// The kopecks left by truncation go to the largest remainders first.
	slices.SortStableFunc(shares, func(a, b share) int { return cmp.Compare(b.rem, a.rem) })
	step := int64(1)
	if left < 0 {
		step = -1
	}
	for left != 0 {
		progress := false
		for _, sh := range shares {
			if left == 0 {
				break
			}
			if items[sh.i].amount+step < 0 {
				continue
			}
			items[sh.i].amount += step
			left -= step
			progress = true
		}
		if !progress {
			return fmt.Errorf("%w: order %s: cannot spread %s over the lines", ErrTotalMismatch, orderName(o), money(diff))
		}
	}
	return nil
}

// part is one register line of a position: qty thousandths at price kopecks.
type part struct{ qty, price int64 }

// itemLines splits a position into register lines.
func itemLines(it *item, pay uint8, kind Kind, s Settings, o insales.Order) ([]fiscal.Line, error) {
	line := func(p part, code string) fiscal.Line {
		l := fiscal.Line{
			Qty:           uint64(p.qty),
			Price:         uint64(p.price),
			PayAttribute:  pay,
			TaxID:         it.taxID,
			Description:   it.desc,
			LineAttribute: it.subject,
			MarkingCode:   code,
		}
		if s.ffd12() {
			u := it.unit
			l.MeasureUnit = &u
		}
		return l
	}
	// Marking codes go to the register at settlement (FFD 1.2 only; an
	// advance carries none): one line per marked unit, each with its code.
	if s.ffd12() && kind != KindPrepayment && (it.marking || len(it.codes) > 0) {
		n := int64(len(it.codes))
		switch {
		case n > 0 && n*1000 == it.qty:
			price, extra := it.amount/n, it.amount%n
			out := make([]fiscal.Line, 0, n)
			for i, c := range it.codes {
				p := part{1000, price}
				if int64(i) >= n-extra {
					p.price++
				}
				out = append(out, line(p, c))
			}
			return out, nil
		case it.marking:
			return nil, fmt.Errorf("%w: order %s, %s requires marking: %d marking codes for quantity %s", ErrInvalidOrder, orderName(o), it.position, n, quantity(it.qty))
		}
		// Codes that do not match the quantity of an unmarked product are
		// not required: print without them.
	}
	parts := splitAmount(it.amount, it.qty, it.hint)
	out := make([]fiscal.Line, len(parts))
	for i, p := range parts {
		out[i] = line(p, "")
	}
	return out, nil
}

// splitAmount finds register lines for amount kopecks over qty thousandths
// (qty > 0, amount ≥ 0): each line's exact price × qty / 1000 is within half
// a kopeck of its share, and the shares add up to amount. hint, the shop's
// own unit price, is used when it already fits.
func splitAmount(amount, qty, hint int64) []part {
	if qty%1000 == 0 {
		n := qty / 1000
		if hint >= 0 && hint*n == amount {
			return []part{{qty, hint}}
		}
		price, extra := amount/n, amount%n
		if extra == 0 {
			return []part{{qty, price}}
		}
		return []part{{(n - extra) * 1000, price}, {extra * 1000, price + 1}}
	}
	if hint >= 0 && fits(amount, qty, hint) {
		return []part{{qty, hint}}
	}
	if price, ok := fitPrice(amount, qty); ok {
		return []part{{qty, price}}
	}
	// qty > 1000 here (below 1000 a price always fits): the whole units are
	// split exactly and the fraction gets its own fitted price.
	whole, frac := qty/1000*1000, qty%1000
	fracAmount := (amount*frac + qty/2) / qty
	price, _ := fitPrice(fracAmount, frac)
	return append(splitAmount(amount-fracAmount, whole, -1), part{frac, price})
}

// fits reports whether price × qty / 1000 lies strictly within half a kopeck
// of amount, so any rounding to the nearest kopeck gives amount.
func fits(amount, qty, price int64) bool {
	d := price*qty - amount*1000
	return d > -500 && d < 500
}

// fitPrice is the unit price nearest to amount / qty, if it fits.
func fitPrice(amount, qty int64) (int64, bool) {
	price := (amount*1000 + qty/2) / qty
	return price, fits(amount, qty, price)
}

// BuildRefund makes the refund (DocumentType 2) of a printed receipt from
// the request recorded when it was printed, not from today's order: the same
// lines, VAT, payment signs and payments, with a new RequestId. Connection
// fields (Password, ClientId, Group, MaxDocumentsInTurn) are kept as
// recorded; a caller whose register settings changed since may overwrite them.
func BuildRefund(original fiscal.Request, requestID string) (fiscal.Request, error) {
	if err := checkRequestID(requestID); err != nil {
		return fiscal.Request{}, err
	}
	if original.DocumentType != fiscal.DocSale {
		return fiscal.Request{}, fmt.Errorf("receipt: only a sale document (DocumentType %d) can be refunded, this one is %d", fiscal.DocSale, original.DocumentType)
	}
	if len(original.Lines) == 0 {
		return fiscal.Request{}, errors.New("receipt: the recorded receipt has no lines")
	}
	if original.RequestID == requestID {
		return fiscal.Request{}, errors.New("receipt: a refund needs a RequestId of its own, not the receipt's it reverses")
	}
	r := original
	r.RequestID = requestID
	r.DocumentType = fiscal.DocSaleRefund
	r.Lines = make([]fiscal.Line, len(original.Lines))
	for i, l := range original.Lines {
		if l.MeasureUnit != nil {
			u := *l.MeasureUnit
			l.MeasureUnit = &u
		}
		r.Lines[i] = l
	}
	r.NonCash = slices.Clone(original.NonCash)
	return r, nil
}

// RefundFor builds the refund an Action asks for from the recorded receipt
// it reverses (the last printed or dry-run record of Action.Reverses).
func RefundFor(recorded []Recorded, a Action, requestID string) (fiscal.Request, error) {
	if !a.Kind.IsRefund() {
		return fiscal.Request{}, fmt.Errorf("receipt: action for %q is not a refund", a.Kind)
	}
	orig, ok, err := printedRequest(recorded, a.Reverses)
	if err != nil {
		return fiscal.Request{}, err
	}
	if !ok {
		return fiscal.Request{}, fmt.Errorf("receipt: no printed %q receipt to refund", a.Reverses)
	}
	return BuildRefund(orig, requestID)
}

// printedRequest decodes the last printed (or dry-run) receipt of a kind.
func printedRequest(recorded []Recorded, kind Kind) (fiscal.Request, bool, error) {
	for i := len(recorded) - 1; i >= 0; i-- {
		r := recorded[i]
		if r.Kind != kind || !done(r.State) {
			continue
		}
		var req fiscal.Request
		if err := json.Unmarshal(r.Body, &req); err != nil {
			return fiscal.Request{}, false, fmt.Errorf("receipt: the recorded %q receipt is not a request: %w", kind, err)
		}
		return req, true, nil
	}
	return fiscal.Request{}, false, nil
}

// MeasureUnit is the FFD 1.2 measure unit code (tag 2108) for an InSales
// unit: UN/ECE codes as InSales sends them (pce, kgm, …), common short
// names, and Russian abbreviations. Empty means pieces; an unknown unit is
// 255 («иная единица измерения»).
func MeasureUnit(unit string) uint8 {
	switch strings.ToLower(strings.TrimSuffix(strings.TrimSpace(unit), ".")) {
	case "", "pce", "pcs", "pc", "piece", "pieces", "шт", "штука", "h87", "set", "компл", "упак", "pack":
		return 0
	case "grm", "g", "gr", "gram", "г", "гр":
		return 10
	case "kgm", "kg", "кг":
		return 11
	case "tne", "t", "т":
		return 12
	case "cmt", "cm", "см":
		return 20
	case "dmt", "dm", "дм":
		return 21
	case "mtr", "m", "м":
		return 22
	case "cmk", "cm2", "см2":
		return 30
	case "dmk", "dm2", "дм2":
		return 31
	case "mtk", "m2", "м2", "кв.м", "кв. м":
		return 32
	case "mlt", "ml", "мл":
		return 40
	case "ltr", "l", "л":
		return 41
	case "mtq", "m3", "м3", "куб.м", "куб. м":
		return 42
	case "kwh", "квт·ч", "квт.ч", "квтч":
		return 50
	case "day", "d", "сут", "сутки":
		return 70
	case "hur", "h", "hour", "ч", "час":
		return 71
	case "min", "мин":
		return 72
	case "sec", "s", "с", "сек":
		return 73
	}
	return 255
}

func orderName(o insales.Order) string {
	if o.Number != "" {
		return fmt.Sprintf("%s (id %d)", o.Number, o.ID)
	}
	return fmt.Sprintf("id %d", o.ID)
}

// money formats kopecks as roubles: 12345 → "123.45".
func money(k int64) string {
	sign := ""
	if k < 0 {
		sign, k = "-", -k
	}
	return fmt.Sprintf("%s%d.%02d", sign, k/100, k%100)
}

// quantity formats thousandths: 2500 → "2.5", 3000 → "3".
func quantity(q int64) string {
	sign := ""
	if q < 0 {
		sign, q = "-", -q
	}
	s := fmt.Sprintf("%s%d", sign, q/1000)
	if f := q % 1000; f != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%03d", f), "0")
	}
	return s
}
