package fakes

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/chekd/chekd/fiscal/chekonlinetest"
	"github.com/chekd/chekd/insales"
	"github.com/chekd/chekd/insales/insalestest"
)

// Limits of the control API's input.
const (
	maxBody        = 16 << 20
	maxOrders      = 5000 // per request
	maxLines       = 100  // per order
	maxQuantity    = 100_000_000
	maxPrice       = 10_000_000_000 // kopecks: 100 million roubles
	maxTitle       = 128            // characters
	maxContact     = 64             // bytes
	maxChanges     = 10000          // per request
	maxFaultsBurst = 1000           // register faults per request
)

// NewHandler is the control API of w:
//
//	GET  /healthz
//	POST /shops/{shop}/orders    CreateOrders → CreatedOrders
//	POST /shops/{shop}/statuses  SetStatuses → {"applied": n}
//	POST /shops/{shop}/faults    ShopFaults → ShopStats
//	GET  /shops/{shop}/stats     ShopStats
//	POST /register/faults        RegisterFaults → RegisterStats
//	GET  /register/ledger        Ledger
//	GET  /register/stats         RegisterStats
//
// Every error is a JSON Error with a 4xx status.
func NewHandler(w *World) http.Handler {
	c := &control{w: w}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) {
		writeJSON(rw, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("POST /shops/{shop}/orders", c.createOrders)
	mux.HandleFunc("POST /shops/{shop}/statuses", c.setStatuses)
	mux.HandleFunc("POST /shops/{shop}/faults", c.shopFaults)
	mux.HandleFunc("GET /shops/{shop}/stats", c.shopStats)
	mux.HandleFunc("POST /register/faults", c.registerFaults)
	mux.HandleFunc("GET /register/ledger", c.ledger)
	mux.HandleFunc("GET /register/stats", c.registerStats)
	return mux
}

type control struct{ w *World }

func (c *control) shopOf(rw http.ResponseWriter, r *http.Request) (*shop, bool) {
	name := r.PathValue("shop")
	s, ok := c.w.shop(name)
	if !ok {
		writeError(rw, http.StatusNotFound, fmt.Errorf("fakes: no shop %q", name))
	}
	return s, ok
}

func (c *control) createOrders(rw http.ResponseWriter, r *http.Request) {
	s, ok := c.shopOf(rw, r)
	if !ok {
		return
	}
	var req CreateOrders
	if err := decode(rw, r, &req); err != nil {
		writeError(rw, http.StatusBadRequest, err)
		return
	}
	if len(req.Orders) == 0 || len(req.Orders) > maxOrders {
		writeError(rw, http.StatusBadRequest, fmt.Errorf("fakes: orders: %d orders, want 1..%d", len(req.Orders), maxOrders))
		return
	}
	orders := make([]insales.Order, len(req.Orders))
	for i, no := range req.Orders {
		o, err := BuildOrder(no)
		if err != nil {
			writeError(rw, http.StatusBadRequest, fmt.Errorf("fakes: orders[%d]: %w", i, err))
			return
		}
		orders[i] = o
	}
	out := CreatedOrders{Orders: make([]Created, len(orders))}
	for i, o := range orders {
		got := s.h.AddOrder(o)
		out.Orders[i] = Created{ID: got.ID, Number: got.Number, Email: got.Client.Email, Total: got.TotalPrice}
	}
	writeJSON(rw, http.StatusOK, out)
}

// BuildOrder makes the order a NewOrder describes, with every total derived
// from the lines, as InSales computes them.
func BuildOrder(no NewOrder) (insales.Order, error) {
	o := insales.Order{
		DeliveryTitle: "Курьером",
		Client:        insales.Buyer{Email: no.Email, Phone: no.Phone, Name: "Покупатель"},
	}
	switch no.Payment {
	case "card":
		o.PaymentGatewayID, o.PaymentTitle, o.FinancialStatus = CardGateway, "Банковской картой онлайн", "paid"
	case "cod":
		o.PaymentGatewayID, o.PaymentTitle, o.FinancialStatus = CODGateway, "Наложенным платежом", "pending"
	default:
		return insales.Order{}, fmt.Errorf("payment %q: want card or cod", no.Payment)
	}
	if len(no.Email) > maxContact || len(no.Phone) > maxContact || !utf8.ValidString(no.Email) || !utf8.ValidString(no.Phone) {
		return insales.Order{}, fmt.Errorf("email and phone must be valid UTF-8 of at most %d bytes", maxContact)
	}
	if no.Delivery < 0 || no.Delivery > maxPrice {
		return insales.Order{}, fmt.Errorf("delivery %d must be 0..%d kopecks", no.Delivery, int64(maxPrice))
	}
	if len(no.Lines) == 0 || len(no.Lines) > maxLines {
		return insales.Order{}, fmt.Errorf("lines: %d lines, want 1..%d", len(no.Lines), maxLines)
	}
	for i, l := range no.Lines {
		switch {
		case strings.TrimSpace(l.Title) == "" || !utf8.ValidString(l.Title) || utf8.RuneCountInString(l.Title) > maxTitle:
			return insales.Order{}, fmt.Errorf("lines[%d].title must be 1..%d characters of valid UTF-8", i, maxTitle)
		case l.Quantity < 1 || l.Quantity > maxQuantity:
			return insales.Order{}, fmt.Errorf("lines[%d].quantity %d must be 1..%d thousandths", i, l.Quantity, maxQuantity)
		case l.Price < 0 || l.Price > maxPrice:
			return insales.Order{}, fmt.Errorf("lines[%d].price %d must be 0..%d kopecks", i, l.Price, int64(maxPrice))
		case l.VAT < -1 || l.VAT > 100:
			return insales.Order{}, fmt.Errorf("lines[%d].vat %d must be -1..100", i, l.VAT)
		}
		// Both factors are bounded, so the product fits in int64: at most
		// 1e8 × 1e10 = 1e18. Rounded half up to the kopeck.
		total := (l.Quantity*l.Price + 500) / 1000
		o.Lines = append(o.Lines, insales.OrderLine{
			Title: l.Title, Quantity: l.Quantity,
			SalePrice: l.Price, FullSalePrice: l.Price,
			TotalPrice: total, FullTotalPrice: total,
			VAT: l.VAT, FiscalProductType: 1,
		})
		o.ItemsPrice += total
	}
	o.DeliveryPrice, o.FullDeliveryPrice = no.Delivery, no.Delivery
	o.TotalPrice = o.ItemsPrice + no.Delivery
	return o, nil
}

func (c *control) setStatuses(rw http.ResponseWriter, r *http.Request) {
	s, ok := c.shopOf(rw, r)
	if !ok {
		return
	}
	var req SetStatuses
	if err := decode(rw, r, &req); err != nil {
		writeError(rw, http.StatusBadRequest, err)
		return
	}
	if len(req.Changes) == 0 || len(req.Changes) > maxChanges {
		writeError(rw, http.StatusBadRequest, fmt.Errorf("fakes: changes: %d changes, want 1..%d", len(req.Changes), maxChanges))
		return
	}
	for i, ch := range req.Changes {
		if err := s.h.SetStatus(ch.ID, ch.Status); err != nil {
			// Earlier changes stay applied, as a merchant's would.
			writeError(rw, http.StatusBadRequest, fmt.Errorf("fakes: changes[%d] (%d applied): %w", i, i, err))
			return
		}
	}
	writeJSON(rw, http.StatusOK, map[string]int{"applied": len(req.Changes)})
}

func (c *control) shopFaults(rw http.ResponseWriter, r *http.Request) {
	s, ok := c.shopOf(rw, r)
	if !ok {
		return
	}
	var req ShopFaults
	if err := decode(rw, r, &req); err != nil {
		writeError(rw, http.StatusBadRequest, err)
		return
	}
	if len(req.Faults) > maxFaultsBurst {
		writeError(rw, http.StatusBadRequest, fmt.Errorf("fakes: faults: %d bursts, want at most %d", len(req.Faults), maxFaultsBurst))
		return
	}
	kinds := make([]insalestest.Fault, len(req.Faults))
	for i, f := range req.Faults {
		k, err := parseShopFault(f)
		if err != nil {
			writeError(rw, http.StatusBadRequest, fmt.Errorf("fakes: faults[%d]: %w", i, err))
			return
		}
		kinds[i] = k
	}
	for i, f := range req.Faults {
		s.h.Fail(f.Count, kinds[i])
	}
	if req.IgnoreFromID != nil {
		s.mu.Lock()
		s.ignoreFromID = *req.IgnoreFromID
		s.h.IgnoreFromID(s.ignoreFromID)
		s.mu.Unlock()
	}
	writeJSON(rw, http.StatusOK, s.stats())
}

func (c *control) shopStats(rw http.ResponseWriter, r *http.Request) {
	s, ok := c.shopOf(rw, r)
	if !ok {
		return
	}
	writeJSON(rw, http.StatusOK, s.stats())
}

func (s *shop) stats() ShopStats {
	s.mu.Lock()
	ignore := s.ignoreFromID
	s.mu.Unlock()
	v := s.h.Violations()
	if v == nil {
		v = []string{}
	}
	return ShopStats{
		Orders:        len(s.h.Orders()),
		Requests:      s.h.Requests(""),
		OrderRequests: s.h.Requests("GET /admin/orders.json"),
		RateLimited:   s.h.RateLimited(),
		PendingFaults: s.h.PendingFaults(),
		IgnoreFromID:  ignore,
		Violations:    v,
	}
}

func (c *control) registerFaults(rw http.ResponseWriter, r *http.Request) {
	var req RegisterFaults
	if err := decode(rw, r, &req); err != nil {
		writeError(rw, http.StatusBadRequest, err)
		return
	}
	if len(req.Faults) == 0 || len(req.Faults) > maxFaultsBurst {
		writeError(rw, http.StatusBadRequest, fmt.Errorf("fakes: faults: %d faults, want 1..%d", len(req.Faults), maxFaultsBurst))
		return
	}
	faults := make([]chekonlinetest.Fault, len(req.Faults))
	for i, f := range req.Faults {
		ff, err := parseRegisterFault(f)
		if err != nil {
			writeError(rw, http.StatusBadRequest, fmt.Errorf("fakes: faults[%d]: %w", i, err))
			return
		}
		faults[i] = ff
	}
	c.w.reg.Inject(faults...)
	writeJSON(rw, http.StatusOK, c.registerStatsOf())
}

func (c *control) ledger(rw http.ResponseWriter, _ *http.Request) {
	docs := c.w.reg.Ledger()
	out := Ledger{Documents: make([]Document, len(docs))}
	for i, d := range docs {
		out.Documents[i] = Document{
			FiscalDocNumber: d.FiscalDocNumber, FiscalSign: d.FiscalSign,
			RequestID: d.RequestID, ClientID: d.ClientID, Group: d.Group,
			DocumentType: d.DocumentType, Total: d.Total, Contact: d.PhoneOrEmail, Time: d.Time,
		}
	}
	writeJSON(rw, http.StatusOK, out)
}

func (c *control) registerStats(rw http.ResponseWriter, _ *http.Request) {
	writeJSON(rw, http.StatusOK, c.registerStatsOf())
}

func (c *control) registerStatsOf() RegisterStats {
	st := c.w.reg.Stats()
	return RegisterStats{
		Requests: st.Requests, Complex: st.Complex, CacheHits: st.CacheHits, Printed: st.Printed,
		Rejected: st.Rejected, Faults: st.Faults, Conflicts: st.Conflicts, MaxConcurrent: st.MaxConcurrent,
		PendingFaults: c.w.reg.Pending(),
	}
}

// decode reads one JSON value strictly: unknown fields and trailing data
// are errors.
func decode(rw http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return fmt.Errorf("fakes: Content-Type %q, want application/json", ct)
	}
	return decodeBody(http.MaxBytesReader(rw, r.Body, maxBody), v)
}

func decodeBody(body io.Reader, v any) error {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("fakes: bad JSON body: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("fakes: bad JSON body: more than one value")
	}
	return nil
}

func writeJSON(rw http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status, data = http.StatusInternalServerError, []byte(`{"error":"fakes: encoding the answer failed"}`)
	}
	rw.Header().Set("Content-Type", "application/json; charset=utf-8")
	rw.WriteHeader(status)
	_, _ = rw.Write(append(data, '\n'))
}

func writeError(rw http.ResponseWriter, status int, err error) {
	writeJSON(rw, status, Error{Error: err.Error()})
}
