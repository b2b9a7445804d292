package status

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/chekd/chekd/daemon"
	"github.com/chekd/chekd/store"
)

// Listing limits, the store's own.
const (
	defaultLimit = 100
	maxLimit     = 1000
)

// kinds are the receipt kinds a filter accepts.
var kinds = []store.Kind{"sale", "refund", "prepayment", "settlement", "prepayment_refund"}

// query is a parsed receipt filter from a URL query.
type query struct {
	Shop   string
	Order  string // an order number, or an order id
	State  store.State
	Kind   store.Kind
	Limit  int
	Before uint64
}

// errBadQuery marks a filter the caller got wrong (400).
var errBadQuery = errors.New("bad query")

// parseQuery reads shop, order, state, kind, limit and before. Empty values
// mean "any"; a limit above the maximum is lowered to it.
func parseQuery(v url.Values) (query, error) {
	q := query{
		Shop:  strings.TrimSpace(v.Get("shop")),
		Order: strings.TrimSpace(v.Get("order")),
		State: store.State(strings.TrimSpace(v.Get("state"))),
		Kind:  store.Kind(strings.TrimSpace(v.Get("kind"))),
		Limit: defaultLimit,
	}
	if q.State != "" && !q.State.Valid() {
		return query{}, fmt.Errorf("%w: state %q is not one of %s", errBadQuery, q.State, joinStates())
	}
	if q.Kind != "" && !slices.Contains(kinds, q.Kind) {
		return query{}, fmt.Errorf("%w: kind %q is not one of %s", errBadQuery, q.Kind, joinKinds())
	}
	for _, t := range []struct{ name, v string }{{"shop", q.Shop}, {"order", q.Order}} {
		if len(t.v) > 200 || strings.ContainsFunc(t.v, isControl) {
			return query{}, fmt.Errorf("%w: %s must be at most 200 bytes of printable text", errBadQuery, t.name)
		}
	}
	if s := strings.TrimSpace(v.Get("limit")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return query{}, fmt.Errorf("%w: limit %q must be a whole number from 1 to %d", errBadQuery, s, maxLimit)
		}
		q.Limit = min(n, maxLimit)
	}
	if s := strings.TrimSpace(v.Get("before")); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil || n == 0 {
			return query{}, fmt.Errorf("%w: before %q must be a receipt id (a positive whole number)", errBadQuery, s)
		}
		q.Before = n
	}
	return q, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func joinStates() string {
	out := make([]string, len(store.States))
	for i, s := range store.States {
		out[i] = string(s)
	}
	return strings.Join(out, ", ")
}

func joinKinds() string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = string(k)
	}
	return strings.Join(out, ", ")
}

// values is q as a URL query, for links that keep the filter.
func (q query) values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("shop", q.Shop)
	set("order", q.Order)
	set("state", string(q.State))
	set("kind", string(q.Kind))
	if q.Limit != defaultLimit {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Before != 0 {
		v.Set("before", strconv.FormatUint(q.Before, 10))
	}
	return v
}

// list returns the receipts q selects, newest first, and the Before of the
// next page (0 when there is none). An order matches by number or, when it
// is a whole number, by id too: the two lookups are merged.
func list(db *store.DB, q query) ([]store.Receipt, uint64, error) {
	f := store.Filter{Shop: q.Shop, State: q.State, Kind: q.Kind, Limit: q.Limit, Before: q.Before}
	if q.Order == "" {
		return db.List(f)
	}
	// An order has a handful of receipts, far below one page of the maximum.
	f.Limit, f.Before = maxLimit, 0
	f.OrderNumber = q.Order
	byNumber, _, err := db.List(f)
	if err != nil {
		return nil, 0, err
	}
	all := byNumber
	if id, err := strconv.ParseInt(q.Order, 10, 64); err == nil && id > 0 {
		f.OrderNumber, f.OrderID = "", id
		byID, _, err := db.List(f)
		if err != nil {
			return nil, 0, err
		}
		all = append(all, byID...)
	}
	slices.SortFunc(all, func(a, b store.Receipt) int {
		switch {
		case a.ID > b.ID:
			return -1
		case a.ID < b.ID:
			return 1
		}
		return 0
	})
	all = slices.CompactFunc(all, func(a, b store.Receipt) bool { return a.ID == b.ID })
	out := make([]store.Receipt, 0, min(len(all), q.Limit))
	for _, r := range all {
		if q.Before != 0 && r.ID >= q.Before {
			continue
		}
		if len(out) == q.Limit {
			return out, out[len(out)-1].ID, nil
		}
		out = append(out, r)
	}
	return out, 0, nil
}

// ReceiptJSON is a receipt as the API shows it: never the request body,
// and the contact masked. `chekd receipts --json` prints the same.
type ReceiptJSON struct {
	ID            uint64      `json:"id"`
	Shop          string      `json:"shop"`
	OrderID       int64       `json:"order_id"`
	OrderNumber   string      `json:"order_number"`
	Kind          string      `json:"kind"`
	State         string      `json:"state"`
	RequestID     string      `json:"request_id"`
	Generation    int         `json:"generation"`
	Attempts      int         `json:"attempts"`
	CreatedAt     string      `json:"created_at"`
	UpdatedAt     string      `json:"updated_at"`
	PrintedAt     string      `json:"printed_at,omitempty"`
	NextAttemptAt string      `json:"next_attempt_at,omitempty"`
	Total         int64       `json:"total"` // kopecks
	Contact       string      `json:"contact,omitempty"`
	Error         string      `json:"error,omitempty"`
	ErrorClass    string      `json:"error_class,omitempty"`
	Reason        string      `json:"reason,omitempty"`
	Fiscal        *FiscalJSON `json:"fiscal,omitempty"`
}

// FiscalJSON is a printed receipt's fiscal data.
type FiscalJSON struct {
	FiscalDocNumber    uint64 `json:"fiscal_doc_number"`
	FiscalSign         uint64 `json:"fiscal_sign"`
	FNSerial           string `json:"fn_serial"`
	RegistrationNumber string `json:"registration_number"`
	DocNumber          uint64 `json:"doc_number"`
	Shift              uint64 `json:"shift"`
	Date               string `json:"date,omitempty"`
	Total              uint64 `json:"total"` // kopecks
	QR                 string `json:"qr"`
	CheckURL           string `json:"check_url,omitempty"`
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// ReceiptView is r as the API shows it.
func ReceiptView(r store.Receipt) ReceiptJSON {
	out := ReceiptJSON{
		ID: r.ID, Shop: r.Shop, OrderID: r.OrderID, OrderNumber: r.OrderNumber,
		Kind: string(r.Kind), State: string(r.State), RequestID: r.RequestID,
		Generation: r.Generation, Attempts: r.Attempts,
		CreatedAt: rfc3339(r.CreatedAt), UpdatedAt: rfc3339(r.UpdatedAt),
		PrintedAt: rfc3339(r.PrintedAt), Total: r.Total,
		Contact: daemon.MaskContact(r.Contact),
		Error:   r.LastError, ErrorClass: r.LastClass, Reason: r.Reason,
	}
	if r.State == store.StatePending {
		out.NextAttemptAt = rfc3339(r.NextAttemptAt)
	}
	if f := r.Fiscal; f != nil {
		out.Fiscal = &FiscalJSON{
			FiscalDocNumber: f.FiscalDocNumber, FiscalSign: f.FiscalSign,
			FNSerial: f.FNSerial, RegistrationNumber: f.RegistrationNumber,
			DocNumber: f.DocNumber, Shift: f.Shift, Date: rfc3339(f.Date),
			Total: f.Total, QR: f.QR, CheckURL: checkURL(f.QR),
		}
	}
	return out
}

type receiptsJSON struct {
	Receipts   []ReceiptJSON `json:"receipts"`
	NextBefore uint64        `json:"next_before,omitempty"` // pass as before= for the next page
}

// storeCode maps a store error to an HTTP status.
func storeCode(err error) int {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, store.ErrInvalid), errors.Is(err, errBadQuery):
		return http.StatusBadRequest
	case errors.Is(err, store.ErrTransition), errors.Is(err, daemon.ErrNotRetryable):
		return http.StatusConflict
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := s.b.Healthy(); err != nil {
		s.log.Warn("health check failed", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "unhealthy: %v\n", err)
		return
	}
	fmt.Fprintln(w, "ok")
}

func (s *server) metrics(w http.ResponseWriter, r *http.Request) {
	m := s.b.Metrics()
	if m == nil || m.Registry == nil {
		http.Error(w, "status: no metrics", http.StatusServiceUnavailable)
		return
	}
	promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}).ServeHTTP(w, r)
}

// shopInfo joins what the daemon and the store know about a shop.
type shopInfo struct {
	daemon.ShopStatus
	State  store.ShopState
	Counts map[store.State]int
}

func (s *server) shops() ([]shopInfo, error) {
	db := s.b.Store()
	var out []shopInfo
	for _, st := range s.b.Shops() {
		info := shopInfo{ShopStatus: st}
		ss, err := db.Shop(st.Name)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		info.State = ss
		counts, err := db.Counts(st.Name)
		if errors.Is(err, store.ErrNotFound) {
			counts, err = map[store.State]int{}, nil
		}
		if err != nil {
			return nil, err
		}
		info.Counts = counts
		out = append(out, info)
	}
	return out, nil
}

type shopJSON struct {
	Name            string       `json:"name"`
	DryRun          bool         `json:"dry_run"`
	LastPollAt      string       `json:"last_poll_at,omitempty"`
	LastPollError   string       `json:"last_poll_error,omitempty"`
	Cursor          *cursorJSON  `json:"cursor,omitempty"`
	Receipts        countsJSON   `json:"receipts"`
	OldestPendingAt string       `json:"oldest_pending_at,omitempty"`
	Register        registerJSON `json:"register"`
}

type cursorJSON struct {
	UpdatedAt string `json:"updated_at"`
	OrderID   int64  `json:"order_id"`
}

type countsJSON struct {
	Printed     int `json:"printed"`
	Pending     int `json:"pending"`
	Failed      int `json:"failed"`
	Skipped     int `json:"skipped"`
	DryRun      int `json:"dry_run"`
	NeedsPerson int `json:"needs_person"`
}

type registerJSON struct {
	State  string `json:"state"` // ok, halted or misconfigured
	Reason string `json:"reason,omitempty"`
	Since  string `json:"since,omitempty"`
}

func (s *server) apiShops(w http.ResponseWriter, r *http.Request) {
	infos, err := s.shops()
	if err != nil {
		s.log.Error("read shops", "err", err)
		s.writeError(w, storeCode(err), "status: read shops: "+err.Error())
		return
	}
	out := make([]shopJSON, 0, len(infos))
	for _, in := range infos {
		sj := shopJSON{
			Name: in.Name, DryRun: in.DryRun,
			LastPollAt: rfc3339(in.State.LastPollAt), LastPollError: in.State.LastPollError,
			Receipts: countsJSON{
				Printed: in.Counts[store.StatePrinted], Pending: in.Counts[store.StatePending],
				Failed: in.Counts[store.StateFailed], Skipped: in.Counts[store.StateSkipped],
				DryRun: in.Counts[store.StateDryRun], NeedsPerson: in.Counts[store.StateNeedsPerson],
			},
			Register: registerJSON{State: in.RegisterState, Reason: in.RegisterReason, Since: rfc3339(in.RegisterSince)},
		}
		if in.Pending > 0 {
			sj.OldestPendingAt = rfc3339(in.OldestPending)
		}
		if in.State.HasCursor {
			sj.Cursor = &cursorJSON{UpdatedAt: in.State.Cursor.UpdatedAt, OrderID: in.State.Cursor.ID}
		}
		out = append(out, sj)
	}
	s.writeJSON(w, http.StatusOK, out)
}

func (s *server) apiReceipts(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r.URL.Query())
	if err != nil {
		s.writeError(w, http.StatusBadRequest, "status: "+err.Error())
		return
	}
	recs, next, err := list(s.b.Store(), q)
	if err != nil {
		if storeCode(err) == http.StatusInternalServerError {
			s.log.Error("list receipts", "err", err)
		}
		s.writeError(w, storeCode(err), "status: list receipts: "+err.Error())
		return
	}
	out := receiptsJSON{Receipts: make([]ReceiptJSON, 0, len(recs)), NextBefore: next}
	for _, rec := range recs {
		out.Receipts = append(out.Receipts, ReceiptView(rec))
	}
	s.writeJSON(w, http.StatusOK, out)
}

// pathID reads the {id} of a path.
func pathID(r *http.Request) (uint64, error) {
	raw := r.PathValue("id")
	id, err := strconv.ParseUint(raw, 10, 64)
	if err != nil || id == 0 {
		return 0, fmt.Errorf("%w: receipt id %q must be a positive whole number", errBadQuery, raw)
	}
	return id, nil
}

func (s *server) apiReceipt(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.writeError(w, http.StatusBadRequest, "status: "+err.Error())
		return
	}
	rec, err := s.b.Store().GetByID(id)
	if err != nil {
		s.writeError(w, storeCode(err), "status: "+err.Error())
		return
	}
	s.writeJSON(w, http.StatusOK, ReceiptView(rec))
}

// retry asks the backend to retry a receipt and logs the outcome.
func (s *server) retry(ctx context.Context, id uint64) (store.Receipt, error) {
	rec, err := s.b.Retry(ctx, id)
	if err != nil {
		s.log.Warn("receipt retry refused", "id", id, "err", err)
		return store.Receipt{}, err
	}
	s.log.Info("receipt retried by a person", "id", id, "shop", rec.Shop, "order", rec.OrderNumber,
		"kind", string(rec.Kind), "state", string(rec.State), "generation", rec.Generation)
	return rec, nil
}

func (s *server) apiRetry(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.writeError(w, http.StatusBadRequest, "status: "+err.Error())
		return
	}
	rec, err := s.retry(r.Context(), id)
	if err != nil {
		s.writeError(w, storeCode(err), fmt.Sprintf("status: retry receipt %d: %v", id, err))
		return
	}
	s.writeJSON(w, http.StatusOK, ReceiptView(rec))
}

// apiBackup streams a consistent copy of the database. A failure after the
// first byte aborts the connection, so a client never takes a cut-off file
// for a whole one.
func (s *server) apiBackup(w http.ResponseWriter, r *http.Request) {
	name := "chekd-" + s.now().UTC().Format("20060102-150405") + ".db"
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	n, err := s.b.Store().Backup(w)
	if err != nil {
		s.log.Error("backup download failed", "bytes", n, "err", err)
		if n == 0 {
			w.Header().Del("Content-Disposition")
			s.writeError(w, http.StatusInternalServerError, "status: backup: "+err.Error())
			return
		}
		panic(http.ErrAbortHandler)
	}
	s.log.Info("backup downloaded", "bytes", n, "remote", r.RemoteAddr)
}
