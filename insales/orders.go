package insales

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// Cursor is a position in the (updated_at, id) order of orders: every order
// after it is "changed since". A zero ID with a time means "from this time on".
type Cursor struct {
	UpdatedAt string // the exact text InSales returned, or RFC 3339 we made
	ID        int64
}

// IsZero reports whether the cursor is unset.
func (c Cursor) IsZero() bool { return c.UpdatedAt == "" && c.ID == 0 }

// CursorAt is a cursor that starts at t.
func CursorAt(t time.Time) Cursor { return Cursor{UpdatedAt: formatTime(t)} }

// formatTime writes a time the way InSales does: milliseconds and an offset.
func formatTime(t time.Time) string { return t.Format("2006-01-02T15:04:05.000-07:00") }

// pos is a parsed cursor position.
type pos struct {
	t    time.Time
	text string
	id   int64
}

// after reports whether o comes strictly after p.
func (p pos) after(o *Order) bool {
	if c := o.UpdatedAt.Time.Compare(p.t); c != 0 {
		return c > 0
	}
	return o.ID > p.id
}

func cmpOrders(a, b Order) int {
	if c := a.UpdatedAt.Time.Compare(b.UpdatedAt.Time); c != 0 {
		return c
	}
	switch {
	case a.ID < b.ID:
		return -1
	case a.ID > b.ID:
		return 1
	}
	return 0
}

const ordersPath = "/admin/orders.json"

// ChangedOrders hands over, page by page and in (updated_at, id) order, every
// order changed after since. It starts Overlap before since (orders in that
// window are handed over again: the caller must make re-processing harmless)
// and reads until InSales has nothing more.
//
// fn gets each page and the cursor to store once the page is handled; the
// cursor never goes back before since. An error from fn stops the scan and is
// returned as is.
//
// It follows InSales' documented loop (updated_since + from_id, never page=)
// and defends against its known weaknesses: answers are sorted and anything
// at or before the cursor is dropped, so a server that ignores from_id causes
// repeats but no loop; an order that changes during the scan shows up again
// later with its new state; a short page does not end the scan, only an empty
// one does; and when a whole page shares one updated_at that the cursor cannot
// get past, the page is enlarged up to MaxPerPage, then the scan steps past
// that instant (logging a warning, since orders beyond the largest page at that
// instant cannot be reached without from_id).
func (c *Client) ChangedOrders(ctx context.Context, since Cursor, fn func(page []Order, next Cursor) error) error {
	if since.UpdatedAt == "" {
		return fmt.Errorf("insales: shop %q: ChangedOrders needs a start time in the cursor", c.cfg.Shop)
	}
	st, err := ParseTime(since.UpdatedAt)
	if err != nil {
		return fmt.Errorf("insales: shop %q: cursor: %w", c.cfg.Shop, err)
	}
	stored := pos{t: st, text: since.UpdatedAt, id: since.ID}

	cur := stored // everything at or before cur has been handed over in this scan
	if c.cfg.Overlap > 0 && !c.anchoredPast(st) {
		t := st.Add(-c.cfg.Overlap)
		cur = pos{t: t, text: formatTime(t), id: 0}
	}
	// The query position: equal to cur, or just past it after a stuck instant.
	q := cur
	stepped := false
	perPage := c.cfg.PerPage
	for {
		page, err := c.ordersPage(ctx, q, perPage)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			c.anchor.Store(c.serverDate.Load())
			return nil
		}
		slices.SortStableFunc(page, cmpOrders)
		fresh := page[:0:0]
		run := cur
		for i := range page {
			if run.after(&page[i]) {
				fresh = append(fresh, page[i])
				run = pos{t: page[i].UpdatedAt.Time, text: page[i].UpdatedAt.Raw, id: page[i].ID}
			}
		}
		if len(fresh) == 0 {
			// Nothing new: the server ignores from_id (or repeats itself).
			if len(page) >= perPage && perPage < c.cfg.MaxPerPage {
				perPage = min(perPage*2, c.cfg.MaxPerPage)
				continue
			}
			if stepped || !hasInstant(page, cur.t) {
				return nil // everything the server gives from here was seen
			}
			if len(page) >= perPage {
				c.log.LogAttrs(ctx, slog.LevelWarn, "insales: the shop ignores from_id and more orders share one updated_at than one page holds; stepping past that instant, orders beyond the page at that instant are not seen",
					slog.String("updated_at", cur.text), slog.Int("per_page", perPage))
			}
			t := cur.t.Add(time.Millisecond)
			q = pos{t: t, text: formatTime(t), id: 0}
			stepped = true
			continue
		}
		cur, q, stepped, perPage = run, run, false, c.cfg.PerPage
		next := Cursor{UpdatedAt: run.text, ID: run.id}
		if !stored.before(run) {
			next = since // still inside the overlap
		}
		if err := fn(fresh, next); err != nil {
			return err
		}
	}
}

// anchoredPast reports whether the previous complete scan ended at a server
// time more than Overlap after the cursor time st. Everything InSales commits
// after that scan carries an updated_at no earlier than that time minus the
// commit lag the overlap allows for, so it is after the cursor: the scan can
// continue strictly after the cursor and re-read nothing, and an idle poll
// costs one request. After a start, or a scan that failed, there is no anchor
// and the overlap is re-read.
func (c *Client) anchoredPast(st time.Time) bool {
	a := c.anchor.Load()
	return a != 0 && time.Unix(a, 0).Add(-c.cfg.Overlap).After(st)
}

// before reports whether p is strictly before o.
func (p pos) before(o pos) bool {
	if c := p.t.Compare(o.t); c != 0 {
		return c < 0
	}
	return p.id < o.id
}

// hasInstant reports whether some order in page carries exactly time t.
func hasInstant(page []Order, t time.Time) bool {
	for i := range page {
		if page[i].UpdatedAt.Time.Equal(t) {
			return true
		}
	}
	return false
}

func (c *Client) ordersPage(ctx context.Context, q pos, perPage int) ([]Order, error) {
	v := url.Values{}
	v.Set("updated_since", q.text)
	if q.id > 0 {
		v.Set("from_id", strconv.FormatInt(q.id, 10))
	}
	v.Set("per_page", strconv.Itoa(perPage))
	body, err := c.do(ctx, "GET", ordersPath, v, nil)
	if err != nil {
		return nil, err
	}
	return decodeOrders(ctx, c.log, c.endpoint("GET", ordersPath), body)
}
