// Package insalestest is a fake InSales shop for tests and demos: an
// http.Handler that speaks the part of the InSales REST API chekd uses, with
// the semantics the project's spec describes (Basic auth, updated_since
// inclusive, (updated_at, id) ordering, from_id, the per_page clamp, the
// 500-per-5-minutes rate limit with 429 + Retry-After + API-Usage-Limit,
// custom statuses, payment gateways, additional fields, and order field
// writes that bump updated_at), plus request counters and fault injection.
//
// It checks what it receives and records a violation for anything a correct
// client never sends (page=, a status change, a write without
// application/json); New fails the test when violations were recorded. It
// must never be used against, or pretend to be reachable as, a real shop.
package insalestest

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chekd/chekd/insales"
)

// Fault is a misbehaviour the fake can be told to show.
type Fault int

// The faults. Each injected fault replaces one answer, in the order given.
const (
	Fault500             Fault = iota + 1 // 500 with an HTML body
	Fault503                              // 503 without Retry-After (server trouble)
	Fault503RateLimited                   // 503 with Retry-After (how older servers rate-limited)
	Fault429                              // 429 with Retry-After and an empty body
	Fault429NoRetryAfter                  // 429 without Retry-After
	FaultMalformed                        // 200 with a truncated JSON body
	FaultSlow                             // answers normally after Options.SlowDelay (or when the client gives up)
	FaultDrop                             // closes the connection without answering
)

var faultNames = map[Fault]string{
	Fault500: "500", Fault503: "503", Fault503RateLimited: "503-rate-limited", Fault429: "429",
	Fault429NoRetryAfter: "429-no-retry-after", FaultMalformed: "malformed", FaultSlow: "slow", FaultDrop: "drop",
}

func (f Fault) String() string {
	if n, ok := faultNames[f]; ok {
		return n
	}
	return "fault(" + strconv.Itoa(int(f)) + ")"
}

// ParseFault is the inverse of Fault.String (for a chaos command's flags).
func ParseFault(s string) (Fault, bool) {
	for f, n := range faultNames {
		if n == s {
			return f, true
		}
	}
	return 0, false
}

// TimeSource is the fake's clock; *Clock fits, and so does the system clock.
type TimeSource interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Options configure a fake shop. Zero values take the defaults.
type Options struct {
	APIKey   string // Basic auth login (default "chekd-test")
	Password string // Basic auth password (default "test-password")

	Clock        TimeSource     // default: the system clock
	Location     *time.Location // offset of the timestamps written (default UTC+3, Moscow)
	WholeSeconds bool           // updated_at with whole-second resolution (".000")

	RateRequests int           // per RateWindow per API key (default 500)
	RateWindow   time.Duration // default 300 s
	RetryAfter   time.Duration // Retry-After of injected 429/503 faults (default 1 s)

	DefaultPerPage int // when per_page is absent (default 25)
	MaxPerPage     int // per_page is clamped to this (default 250)

	SlowDelay      time.Duration // how long FaultSlow waits (default 2 s)
	MoneyAsNumbers bool          // money as JSON numbers (60.59) instead of strings ("60.59")
}

// Request is one request as the fake saw it.
type Request struct {
	Method   string
	Path     string
	Query    string // raw query
	Endpoint string // "GET /admin/orders.json", "PUT /admin/orders/:id.json"
	Status   int
}

type stored struct {
	order insales.Order
	at    time.Time // updated_at at the fake's resolution
}

type rateState struct {
	start time.Time
	used  int
}

// Handler is the fake shop. It is safe for concurrent use.
type Handler struct {
	opts Options
	enc  encoder

	mu           sync.Mutex
	orders       map[int64]*stored
	nextOrderID  int64
	nextNumber   int64
	nextLineID   int64
	nextValueID  int64
	statuses     []insales.CustomStatus
	gateways     []insales.PaymentGateway
	fields       []insales.Field
	faults       []Fault
	ignoreFromID bool
	rate         map[string]*rateState
	counts       map[string]int
	rateLimited  int
	log          []Request
	violations   []string
	account      insales.Account
}

// NewHandler makes a fake shop with default statuses, gateways and fields.
func NewHandler(opts Options) *Handler {
	if opts.APIKey == "" {
		opts.APIKey = "chekd-test"
	}
	if opts.Password == "" {
		opts.Password = "test-password"
	}
	if opts.Clock == nil {
		opts.Clock = systemClock{}
	}
	if opts.Location == nil {
		opts.Location = time.FixedZone("MSK", 3*3600)
	}
	if opts.RateRequests <= 0 {
		opts.RateRequests = 500
	}
	if opts.RateWindow <= 0 {
		opts.RateWindow = 300 * time.Second
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = time.Second
	}
	if opts.DefaultPerPage <= 0 {
		opts.DefaultPerPage = 25
	}
	if opts.MaxPerPage <= 0 {
		opts.MaxPerPage = 250
	}
	if opts.SlowDelay <= 0 {
		opts.SlowDelay = 2 * time.Second
	}
	return &Handler{
		opts:        opts,
		enc:         encoder{loc: opts.Location, moneyAsNumbers: opts.MoneyAsNumbers},
		orders:      map[int64]*stored{},
		nextOrderID: 100001,
		nextNumber:  1001,
		nextLineID:  500001,
		nextValueID: 900001,
		statuses: []insales.CustomStatus{
			{Permalink: "new", Title: "Новый", SystemStatus: "new"},
			{Permalink: "accepted", Title: "В обработке", SystemStatus: "accepted"},
			{Permalink: "approved", Title: "Согласован", SystemStatus: "approved"},
			{Permalink: "dispatched", Title: "Отгружен", SystemStatus: "dispatched"},
			{Permalink: "delivered", Title: "Доставлен", SystemStatus: "delivered"},
			{Permalink: "declined", Title: "Отменён", SystemStatus: "declined"},
			{Permalink: "returned", Title: "Возврат", SystemStatus: "declined"},
		},
		gateways: []insales.PaymentGateway{
			{ID: 1797, Title: "Банковской картой онлайн", Type: "PaymentGateway::Custom"},
			{ID: 2958, Title: "Наложенным платежом", Type: "PaymentGateway::Cod", Margin: 400},
			{ID: 16141, Title: "Счёт для юридических лиц", Type: "PaymentGateway::Custom"},
		},
		fields: []insales.Field{
			{ID: 511497, Handle: "fiscal_receipt", Title: "Фискальный чек", OfficeTitle: "Фискальный чек", Destiny: 3, Type: "Field::TextField"},
			{ID: 511498, Handle: "delivery_time", Title: "Время доставки", OfficeTitle: "Время доставки", Destiny: 3, Type: "Field::TextField"},
		},
		rate:    map[string]*rateState{},
		counts:  map[string]int{},
		account: insales.Account{ID: 12345, Title: "Тестовый магазин", Subdomain: "shop-test", MainHost: "shop-test.myinsales.ru", TimeZone: "Moscow"},
	}
}

// APIKey and Password are the credentials the fake accepts.
func (h *Handler) APIKey() string { return h.opts.APIKey }

// Password is the password the fake accepts.
func (h *Handler) Password() string { return h.opts.Password }

// now is the current time at the fake's timestamp resolution.
func (h *Handler) now() time.Time {
	t := h.opts.Clock.Now().In(h.opts.Location)
	if h.opts.WholeSeconds {
		return t.Truncate(time.Second)
	}
	return t.Truncate(time.Millisecond)
}

func stamp(t time.Time) insales.Timestamp {
	return insales.Timestamp{Raw: t.Format(timeLayout), Time: t}
}

// AddOrder stores a new order and returns it as stored: ID, Number, line ids,
// created_at and updated_at are filled when zero. Money and quantities are
// taken as given (kopecks, thousandths).
func (h *Handler) AddOrder(o insales.Order) insales.Order {
	h.mu.Lock()
	defer h.mu.Unlock()
	if o.ID == 0 {
		o.ID = h.nextOrderID
		h.nextOrderID++
	} else if o.ID >= h.nextOrderID {
		h.nextOrderID = o.ID + 1
	}
	if o.Number == "" {
		o.Number = strconv.FormatInt(h.nextNumber, 10)
		h.nextNumber++
	}
	if o.CurrencyCode == "" {
		o.CurrencyCode = "RUR"
	}
	if o.FulfillmentStatus == "" {
		o.FulfillmentStatus = "new"
	}
	if o.FinancialStatus == "" {
		o.FinancialStatus = "pending"
	}
	if o.CustomStatus.Permalink == "" {
		o.CustomStatus = h.statusRef(o.FulfillmentStatus)
	}
	o.Lines = slices.Clone(o.Lines)
	for i := range o.Lines {
		if o.Lines[i].ID == 0 {
			o.Lines[i].ID = h.nextLineID
			h.nextLineID++
		}
		if o.Lines[i].Unit == "" {
			o.Lines[i].Unit = "pce"
		}
	}
	o.FieldsValues = slices.Clone(o.FieldsValues)
	o.Discounts = slices.Clone(o.Discounts)
	o.OrderChanges = slices.Clone(o.OrderChanges)
	now := h.now()
	if o.CreatedAt.IsZero() {
		o.CreatedAt = stamp(now)
	}
	o.UpdatedAt = stamp(now)
	h.orders[o.ID] = &stored{order: o, at: now}
	return cloneOrder(o)
}

func (h *Handler) statusRef(permalink string) insales.CustomStatusRef {
	for _, s := range h.statuses {
		if s.Permalink == permalink {
			return insales.CustomStatusRef{Permalink: s.Permalink, Title: s.Title}
		}
	}
	return insales.CustomStatusRef{}
}

func cloneOrder(o insales.Order) insales.Order {
	o.Lines = slices.Clone(o.Lines)
	for i := range o.Lines {
		o.Lines[i].MarkingCodes = slices.Clone(o.Lines[i].MarkingCodes)
	}
	o.FieldsValues = slices.Clone(o.FieldsValues)
	o.Discounts = slices.Clone(o.Discounts)
	o.OrderChanges = slices.Clone(o.OrderChanges)
	return o
}

// UpdateOrder changes an order as a merchant would and bumps its updated_at.
// fn may change anything but the ID.
func (h *Handler) UpdateOrder(id int64, fn func(*insales.Order)) (insales.Order, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, ok := h.orders[id]
	if !ok {
		return insales.Order{}, fmt.Errorf("insalestest: no order %d", id)
	}
	o := cloneOrder(s.order)
	fn(&o)
	o.ID = id
	h.touchLocked(s, o)
	return cloneOrder(o), nil
}

func (h *Handler) touchLocked(s *stored, o insales.Order) {
	now := h.now()
	s.order, s.at = o, now
	s.order.UpdatedAt = stamp(now)
}

// SetStatus moves an order to a custom status (by permalink) or a
// fulfillment status, as a merchant would in the back office.
func (h *Handler) SetStatus(id int64, status string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, ok := h.orders[id]
	if !ok {
		return fmt.Errorf("insalestest: no order %d", id)
	}
	o := cloneOrder(s.order)
	found := false
	for _, cs := range h.statuses {
		if cs.Permalink == status {
			o.CustomStatus = insales.CustomStatusRef{Permalink: cs.Permalink, Title: cs.Title}
			if cs.SystemStatus != "" {
				o.FulfillmentStatus = cs.SystemStatus
			}
			found = true
			break
		}
	}
	if !found {
		switch status {
		case "new", "accepted", "approved", "dispatched", "delivered", "declined", "returned":
			o.FulfillmentStatus = status
			o.CustomStatus = insales.CustomStatusRef{}
		default:
			return fmt.Errorf("insalestest: unknown status %q", status)
		}
	}
	o.OrderChanges = append(o.OrderChanges, insales.OrderChange{
		ID: h.nextValueID, Action: "status_changed", CreatedAt: stamp(h.now()),
		FullDescription: "Статус заказа изменён на " + status,
	})
	h.nextValueID++
	h.touchLocked(s, o)
	return nil
}

// MarkPaid sets financial_status to paid and paid_at to now.
func (h *Handler) MarkPaid(id int64) error {
	_, err := h.UpdateOrder(id, func(o *insales.Order) {
		o.FinancialStatus = "paid"
		o.PaidAt = stamp(h.now())
	})
	return err
}

// Order returns the stored order.
func (h *Handler) Order(id int64) (insales.Order, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, ok := h.orders[id]
	if !ok {
		return insales.Order{}, false
	}
	return cloneOrder(s.order), true
}

// Orders returns every stored order in (updated_at, id) order.
func (h *Handler) Orders() []insales.Order {
	h.mu.Lock()
	defer h.mu.Unlock()
	list := h.sortedLocked()
	out := make([]insales.Order, len(list))
	for i, s := range list {
		out[i] = cloneOrder(s.order)
	}
	return out
}

func (h *Handler) sortedLocked() []*stored {
	list := make([]*stored, 0, len(h.orders))
	for _, s := range h.orders {
		list = append(list, s)
	}
	slices.SortFunc(list, func(a, b *stored) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return cmpInt(a.order.ID, b.order.ID)
	})
	return list
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// SetCustomStatuses replaces the shop's custom statuses.
func (h *Handler) SetCustomStatuses(s []insales.CustomStatus) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.statuses = slices.Clone(s)
}

// SetPaymentGateways replaces the shop's payment gateways.
func (h *Handler) SetPaymentGateways(g []insales.PaymentGateway) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.gateways = slices.Clone(g)
}

// SetFields replaces the shop's additional fields.
func (h *Handler) SetFields(f []insales.Field) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fields = slices.Clone(f)
}

// Fail makes the next n answers (to any endpoint) show fault kind. Calls
// queue up: Fail(2, Fault503); Fail(1, Fault429) gives 503, 503, 429.
func (h *Handler) Fail(n int, kind Fault) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := 0; i < n; i++ {
		h.faults = append(h.faults, kind)
	}
}

// PendingFaults is how many injected faults have not been served yet.
func (h *Handler) PendingFaults() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.faults)
}

// IgnoreFromID makes the order list ignore from_id, as some servers may.
func (h *Handler) IgnoreFromID(ignore bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ignoreFromID = ignore
}

// Requests is how many requests an endpoint ("GET /admin/orders.json",
// "PUT /admin/orders/:id.json") received; "" counts every request.
func (h *Handler) Requests(endpoint string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if endpoint == "" {
		return len(h.log)
	}
	return h.counts[endpoint]
}

// RateLimited is how many requests the fake's own rate limit refused
// (injected 429 faults not included).
func (h *Handler) RateLimited() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.rateLimited
}

// Log returns every request received so far.
func (h *Handler) Log() []Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.log)
}

// Violations are the protocol errors a correct client never makes.
func (h *Handler) Violations() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.violations)
}

// endpointOf is the metrics-style name of a request.
func endpointOf(method, path string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		num, ext, _ := strings.Cut(p, ".")
		if num != "" && strings.Trim(num, "0123456789") == "" {
			parts[i] = ":id"
			if ext != "" {
				parts[i] += "." + ext
			}
		}
	}
	return method + " " + strings.Join(parts, "/")
}

// statusWriter remembers the status for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection (FaultDrop).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// ServeHTTP answers one API request.
func (h *Handler) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	w := &statusWriter{ResponseWriter: rw}
	// The server's clock, as the real API sends it: the same clock that
	// stamps updated_at.
	w.Header().Set("Date", h.opts.Clock.Now().UTC().Format(http.TimeFormat))
	endpoint := endpointOf(r.Method, r.URL.Path)
	defer func() {
		h.mu.Lock()
		h.counts[endpoint]++
		h.log = append(h.log, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Endpoint: endpoint, Status: w.status})
		h.mu.Unlock()
	}()

	login, password, hasAuth := r.BasicAuth()

	// The rate limit counts every request of the key, right or wrong password.
	h.mu.Lock()
	used, limited, retryAfter := h.countLocked(login)
	var fault Fault
	if !limited && len(h.faults) > 0 {
		fault = h.faults[0]
		h.faults = h.faults[1:]
	}
	h.mu.Unlock()
	w.Header().Set("API-Usage-Limit", strconv.Itoa(used)+"/"+strconv.Itoa(h.opts.RateRequests))
	if limited {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}

	if r.URL.Query().Has("page") {
		h.violation("%s %s: page= used; InSales clients must page with updated_since and from_id", r.Method, r.URL.RequestURI())
		writeJSON(w, http.StatusInternalServerError, map[string]string{"status": "error", "message": "insalestest: page= is not allowed"})
		return
	}

	if fault != 0 && h.serveFault(w, r, fault) {
		return
	}

	if !hasAuth || login != h.opts.APIKey || password != h.opts.Password {
		w.Header().Set("WWW-Authenticate", `Basic realm="Application"`)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, "HTTP Basic: Access denied.\n")
		return
	}

	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/admin/account.json":
		h.serveAccount(w)
	case r.Method == http.MethodGet && r.URL.Path == "/admin/orders.json":
		h.serveOrders(w, r)
	case r.Method == http.MethodGet && r.URL.Path == "/admin/custom_statuses.json":
		h.serveStatuses(w)
	case r.Method == http.MethodGet && r.URL.Path == "/admin/payment_gateways.json":
		h.serveGateways(w)
	case r.Method == http.MethodGet && r.URL.Path == "/admin/fields.json":
		h.serveFields(w)
	case strings.HasPrefix(r.URL.Path, "/admin/orders/") && strings.HasSuffix(r.URL.Path, ".json"):
		id, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/admin/orders/"), ".json"), 10, 64)
		if err != nil {
			notFound(w)
			return
		}
		switch r.Method {
		case http.MethodGet:
			h.serveOrder(w, id)
		case http.MethodPut:
			h.putOrder(w, r, id)
		default:
			notFound(w)
		}
	default:
		notFound(w)
	}
}

// countLocked counts a request against login's window.
func (h *Handler) countLocked(login string) (used int, limited bool, retryAfter int) {
	now := h.opts.Clock.Now()
	st := h.rate[login]
	if st == nil || !now.Before(st.start.Add(h.opts.RateWindow)) {
		st = &rateState{start: now}
		h.rate[login] = st
	}
	if st.used >= h.opts.RateRequests {
		h.rateLimited++
		left := st.start.Add(h.opts.RateWindow).Sub(now)
		return st.used, true, int(math.Ceil(left.Seconds()))
	}
	st.used++
	return st.used, false, 0
}

func (h *Handler) violation(format string, args ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.violations = append(h.violations, fmt.Sprintf(format, args...))
}

// serveFault answers with fault and reports whether the answer is complete.
func (h *Handler) serveFault(w http.ResponseWriter, r *http.Request, fault Fault) bool {
	retryAfter := strconv.Itoa(int(math.Ceil(h.opts.RetryAfter.Seconds())))
	switch fault {
	case Fault500:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, "<html><body><h1>We're sorry, but something went wrong.</h1></body></html>")
	case Fault503:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>")
	case Fault503RateLimited:
		w.Header().Set("Retry-After", retryAfter)
		w.WriteHeader(http.StatusServiceUnavailable)
	case Fault429:
		w.Header().Set("Retry-After", retryAfter)
		w.WriteHeader(http.StatusTooManyRequests)
	case Fault429NoRetryAfter:
		w.WriteHeader(http.StatusTooManyRequests)
	case FaultMalformed:
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		fmt.Fprint(w, `[{"id": 1, "number": 1001, "updated_at": "2025-01-15T15:13:19.000+03:00", "total_price": "60.`)
	case FaultSlow:
		t := time.NewTimer(h.opts.SlowDelay)
		defer t.Stop()
		select {
		case <-r.Context().Done():
			return true
		case <-t.C:
		}
		return false // then answer normally
	case FaultDrop:
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(http.ErrAbortHandler) // HTTP/2: the server resets the stream instead
		}
		conn.Close()
	default:
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status, data = http.StatusInternalServerError, []byte(`{"status":"error","message":"encoding failed"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(data)
}

func notFound(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, map[string]string{"status": "error", "message": "Not found"})
}

func (h *Handler) serveAccount(w http.ResponseWriter) {
	h.mu.Lock()
	a := h.account
	h.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"id": a.ID, "title": a.Title, "subdomain": a.Subdomain, "main_host": a.MainHost,
		"main_host_protocol": "https", "time_zone": a.TimeZone, "blocked": a.Blocked,
		"country": "RU", "next_order_number": 1006, "stock_currency_exchange_rate": "1.0",
	})
}

func (h *Handler) serveStatuses(w http.ResponseWriter) {
	h.mu.Lock()
	list := slices.Clone(h.statuses)
	h.mu.Unlock()
	out := make([]map[string]any, len(list))
	for i, s := range list {
		out[i] = map[string]any{"id": i + 1, "permalink": s.Permalink, "title": s.Title, "system_status": s.SystemStatus, "position": i}
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) serveGateways(w http.ResponseWriter) {
	h.mu.Lock()
	list := slices.Clone(h.gateways)
	h.mu.Unlock()
	out := make([]map[string]any, len(list))
	for i, g := range list {
		out[i] = map[string]any{"id": g.ID, "title": g.Title, "type": g.Type, "margin": decimalText(g.Margin, 2), "position": i, "description": ""}
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) serveFields(w http.ResponseWriter) {
	h.mu.Lock()
	list := slices.Clone(h.fields)
	h.mu.Unlock()
	out := make([]map[string]any, len(list))
	for i, f := range list {
		out[i] = map[string]any{"id": f.ID, "handle": nullable(f.Handle), "system_name": nullable(f.SystemName), "title": f.Title,
			"office_title": f.OfficeTitle, "destiny": f.Destiny, "type": f.Type, "position": i, "for_buyer": false, "obligatory": false}
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) systemStatusLocked(permalink string) string {
	for _, s := range h.statuses {
		if s.Permalink == permalink {
			return s.SystemStatus
		}
	}
	return ""
}

func (h *Handler) serveOrder(w http.ResponseWriter, id int64) {
	h.mu.Lock()
	s, ok := h.orders[id]
	var j jsonOrder
	if ok {
		j = h.enc.order(&s.order, h.systemStatusLocked(s.order.CustomStatus.Permalink))
	}
	h.mu.Unlock()
	if !ok {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, j)
}

// serveOrders is GET /admin/orders.json: with updated_since, orders with
// updated_at >= T sorted by (updated_at, id), minus those at T with id <=
// from_id; at most per_page (clamped) of them.
func (h *Handler) serveOrders(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	perPage := h.opts.DefaultPerPage
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"status": "error", "message": "per_page must be a positive integer"})
			return
		}
		perPage = min(n, h.opts.MaxPerPage)
	}
	var fromID int64
	if v := q.Get("from_id"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"status": "error", "message": "from_id must be a non-negative integer"})
			return
		}
		fromID = n
	}
	var since time.Time
	hasSince := q.Has("updated_since")
	if hasSince {
		t, err := time.Parse(time.RFC3339Nano, q.Get("updated_since"))
		if err != nil {
			// A "+" sent unencoded arrives as a space and lands here.
			writeJSON(w, http.StatusBadRequest, map[string]string{"status": "error", "message": "updated_since is not a valid timestamp: " + q.Get("updated_since")})
			return
		}
		since = t
	}

	h.mu.Lock()
	var list []*stored
	if hasSince {
		for _, s := range h.sortedLocked() {
			if s.at.Before(since) {
				continue
			}
			if !h.ignoreFromID && s.at.Equal(since) && s.order.ID <= fromID {
				continue
			}
			list = append(list, s)
			if len(list) == perPage {
				break
			}
		}
	} else {
		all := make([]*stored, 0, len(h.orders))
		for _, s := range h.orders {
			if h.ignoreFromID || s.order.ID > fromID {
				all = append(all, s)
			}
		}
		slices.SortFunc(all, func(a, b *stored) int { return cmpInt(a.order.ID, b.order.ID) })
		list = all[:min(perPage, len(all))]
	}
	out := make([]jsonOrder, len(list))
	for i, s := range list {
		out[i] = h.enc.order(&s.order, h.systemStatusLocked(s.order.CustomStatus.Permalink))
	}
	h.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// putOrder is PUT /admin/orders/ID.json; only additional field values may be
// written (chekd must never change a status).
func (h *Handler) putOrder(w http.ResponseWriter, r *http.Request, id int64) {
	ct := r.Header.Get("Content-Type")
	if mt, _, _ := strings.Cut(ct, ";"); strings.TrimSpace(mt) != "application/json" {
		h.violation("PUT %s: Content-Type %q, want application/json", r.URL.Path, ct)
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"message": "incorrect Content-Type, should be application/json"})
		return
	}
	var body struct {
		Order map[string]json.RawMessage `json:"order"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	if err := dec.Decode(&body); err != nil || body.Order == nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"status": "error", "message": "body must be {\"order\": {...}}"})
		return
	}
	for k := range body.Order {
		if k != "fields_values_attributes" {
			h.violation("PUT %s: writes order.%s; chekd may only write additional fields", r.URL.Path, k)
			writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"status": "error", "message": "insalestest: only fields_values_attributes may be written"})
			return
		}
	}
	var attrs []struct {
		ID      *int64  `json:"id"`
		FieldID *int64  `json:"field_id"`
		Handle  *string `json:"handle"`
		Value   *string `json:"value"`
	}
	if err := json.Unmarshal(body.Order["fields_values_attributes"], &attrs); err != nil || len(attrs) == 0 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"status": "error", "message": "fields_values_attributes must be a non-empty array"})
		return
	}

	h.mu.Lock()
	s, ok := h.orders[id]
	if !ok {
		h.mu.Unlock()
		notFound(w)
		return
	}
	o := cloneOrder(s.order)
	for _, a := range attrs {
		var field *insales.Field
		for i := range h.fields {
			f := &h.fields[i]
			if (a.FieldID != nil && *a.FieldID == f.ID) || (a.FieldID == nil && a.Handle != nil && *a.Handle == f.Handle && f.Handle != "") {
				field = f
				break
			}
		}
		if field == nil || a.Value == nil {
			h.mu.Unlock()
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"errors": map[string][]string{"fields_values": {"field not found or value missing"}}})
			return
		}
		set := false
		for i := range o.FieldsValues {
			if o.FieldsValues[i].FieldID == field.ID {
				o.FieldsValues[i].Value = *a.Value
				set = true
			}
		}
		if !set {
			o.FieldsValues = append(o.FieldsValues, insales.FieldValue{ID: h.nextValueID, FieldID: field.ID, Handle: field.Handle, Name: field.Title, Value: *a.Value})
			h.nextValueID++
		}
	}
	h.touchLocked(s, o)
	j := h.enc.order(&s.order, h.systemStatusLocked(s.order.CustomStatus.Permalink))
	h.mu.Unlock()
	writeJSON(w, http.StatusOK, j)
}
