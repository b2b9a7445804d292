package daemon

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chekd/chekd/insales"
	"github.com/chekd/chekd/store"
)

// fieldAPI is what the write-back needs from InSales.
type fieldAPI interface {
	Fields(ctx context.Context) ([]insales.Field, error)
	SetOrderField(ctx context.Context, orderID, fieldID int64, value string) error
}

// fieldWriter writes a line per printed receipt into an additional order
// field, so the merchant sees the fiscal data on the order page. The value is
// always the whole text made from every printed receipt of the order, so a
// repeated write changes nothing. The write bumps the order's updated_at and
// the next poll reads the order again; the receipt rules see its receipts
// already printed and do nothing.
type fieldWriter struct {
	r       *shopRunner
	api     fieldAPI
	queue   chan int64
	mu      sync.Mutex
	fieldID int64
	tries   int
	wait    time.Duration
}

func newFieldWriter(r *shopRunner, api fieldAPI) *fieldWriter {
	return &fieldWriter{r: r, api: api, queue: make(chan int64, 1024), tries: 3, wait: 5 * time.Second}
}

// enqueue asks for the order of a printed receipt to be written; when the
// queue is full the write is dropped with a log line (it is only a note).
func (w *fieldWriter) enqueue(rec store.Receipt) {
	select {
	case w.queue <- rec.OrderID:
	default:
		w.r.log.Warn("order field write-back queue full; the note is not written", "order", rec.OrderNumber)
	}
}

func (w *fieldWriter) run(ctx context.Context, wg *sync.WaitGroup) {
	defer wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case id := <-w.queue:
			w.write(ctx, id)
		}
	}
}

// write tries a few times, then only logs: the receipt itself is printed.
func (w *fieldWriter) write(ctx context.Context, orderID int64) {
	var err error
	for try := 1; try <= w.tries; try++ {
		if err = w.writeOnce(ctx, orderID); err == nil {
			return
		}
		if try < w.tries {
			select {
			case <-ctx.Done():
				return
			case <-time.After(w.wait * time.Duration(try)):
			}
		}
	}
	w.r.log.Warn("receipt note not written to the order field", "order_id", orderID, "field", w.r.cfg.InSales.OrderField, "err", err)
}

func (w *fieldWriter) writeOnce(ctx context.Context, orderID int64) error {
	fid, err := w.field(ctx)
	if err != nil {
		return err
	}
	recs, err := w.r.d.db.ByOrder(w.r.cfg.Name, orderID)
	if err != nil {
		return err
	}
	text := NoteText(recs)
	if text == "" {
		return nil
	}
	return w.api.SetOrderField(ctx, orderID, fid, text)
}

// field resolves insales.order_field (an id, or a field's title) once.
func (w *fieldWriter) field(ctx context.Context) (int64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fieldID != 0 {
		return w.fieldID, nil
	}
	want := strings.TrimSpace(w.r.cfg.InSales.OrderField)
	if id, err := strconv.ParseInt(want, 10, 64); err == nil && id > 0 {
		w.fieldID = id
		return id, nil
	}
	fields, err := w.api.Fields(ctx)
	if err != nil {
		return 0, err
	}
	for _, f := range fields {
		if strings.EqualFold(f.Title, want) || strings.EqualFold(f.OfficeTitle, want) || strings.EqualFold(f.SystemName, want) {
			w.fieldID = f.ID
			return f.ID, nil
		}
	}
	return 0, fmt.Errorf("daemon: insales.order_field %q: no such additional field in the shop (see `chekd discover`)", want)
}

// kindTitles name the receipt kinds on the order page.
var kindTitles = map[store.Kind]string{
	"sale":              "Чек прихода",
	"refund":            "Чек возврата прихода",
	"prepayment":        "Чек предоплаты",
	"settlement":        "Чек полного расчёта",
	"prepayment_refund": "Чек возврата предоплаты",
}

// NoteText is the order field's text for an order's receipts: one line per
// printed receipt, in the order they were created, e.g.
// «Чек прихода: ФД 1322, ФП 1879546968, 04.12.2026 14:38».
func NoteText(recs []store.Receipt) string {
	printed := make([]store.Receipt, 0, len(recs))
	for _, r := range recs {
		if r.State == store.StatePrinted && r.Fiscal != nil {
			printed = append(printed, r)
		}
	}
	sort.Slice(printed, func(i, j int) bool { return printed[i].ID < printed[j].ID })
	lines := make([]string, 0, len(printed))
	for _, r := range printed {
		title := kindTitles[r.Kind]
		if title == "" {
			title = "Чек"
		}
		at := r.Fiscal.Date
		if at.IsZero() {
			at = r.PrintedAt
		}
		lines = append(lines, fmt.Sprintf("%s: ФД %d, ФП %d, %s", title, r.Fiscal.FiscalDocNumber, r.Fiscal.FiscalSign, at.Format("02.01.2006 15:04")))
	}
	return strings.Join(lines, "\n")
}
