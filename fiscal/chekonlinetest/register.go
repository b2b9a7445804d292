// Package chekonlinetest is a fake Chekonline register for tests and demos:
// an httptest server (TLS with a required client certificate from a test CA,
// or plain HTTP) that validates Complex requests as strictly as the protocol
// allows, keeps the server's answer cache keyed by (Group, RequestId,
// ClientId), records every printed document in a ledger, and misbehaves on
// demand (balancer and register errors, slow answers, 502s, and a document
// printed whose answer is then lost).
//
// What it assumes where the protocol is silent is written next to the code
// (error codes for sums, which documents consume ФД numbers). It must never be
// used against real money: it prints nothing, and its certificates trust
// anything the test CA signs.
package chekonlinetest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"log"
	"math/bits"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/chekd/chekd/fiscal"
	"github.com/chekd/chekd/fiscal/certs/certstest"
)

// Options configure a fake register. The zero value is a TLS register that
// requires a client certificate signed by certstest.Shared's CA.
type Options struct {
	// Plain serves plain HTTP (a standalone register) instead of TLS.
	Plain bool
	// Certs supplies the CA, server and client certificates; nil means
	// certstest.Shared().
	Certs *certstest.Bundle
	// ClientAuth overrides the TLS client-certificate policy (default
	// tls.RequireAndVerifyClientCert).
	ClientAuth tls.ClientAuthType
	// CashierPassword is the Password every request must carry (error 79
	// otherwise). Default 1.
	CashierPassword uint32
	// MaxTaxID is the highest TaxId accepted. Default 12 (НДС 22/122).
	MaxTaxID uint8
	// Now is the register's clock. Default time.Now.
	Now func() time.Time
	// FNSerial, RegistrationNumber and DeviceSerial identify the register in
	// answers; defaults are fixed test values.
	FNSerial, RegistrationNumber, DeviceSerial string
}

// Register is a running fake register. Close it when done.
type Register struct {
	*Handler
	srv     *httptest.Server
	clients *certstest.Bundle
}

// New starts a fake register. Like httptest.NewServer it panics when it
// cannot start (no free port, no test certificates).
func New(opts Options) *Register {
	h := NewHandler(opts)
	r := &Register{Handler: h}
	if opts.Plain {
		r.srv = httptest.NewUnstartedServer(h)
		r.srv.Config.ErrorLog = quiet()
		r.srv.Start()
		return r
	}
	b := opts.Certs
	if b == nil {
		var err error
		if b, err = certstest.Shared(); err != nil {
			panic(fmt.Sprintf("chekonlinetest: test certificates: %v", err))
		}
	}
	auth := opts.ClientAuth
	if auth == tls.NoClientCert {
		auth = tls.RequireAndVerifyClientCert
	}
	r.clients = b
	r.srv = httptest.NewUnstartedServer(h)
	r.srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{b.Server.TLS()},
		ClientAuth:   auth,
		ClientCAs:    b.CA.Pool(),
		MinVersion:   tls.VersionTLS12,
	}
	// Handshake failures are what tests provoke: keep them off stderr.
	r.srv.Config.ErrorLog = quiet()
	r.srv.StartTLS()
	return r
}

func quiet() *log.Logger { return log.New(io.Discard, "", 0) }

// URL is the register's base URL (https://127.0.0.1:PORT or http://...).
func (r *Register) URL() string { return r.srv.URL }

// ClientCert is a client certificate the register accepts (zero for Plain).
func (r *Register) ClientCert() tls.Certificate {
	if r.clients == nil {
		return tls.Certificate{}
	}
	return r.clients.ClientECDSA.TLS()
}

// RootCAs trusts the register's server certificate (nil for Plain).
func (r *Register) RootCAs() *x509.CertPool {
	if r.clients == nil {
		return nil
	}
	return r.clients.CA.Pool()
}

// Certs is the bundle the register's certificates come from (nil for Plain).
func (r *Register) Certs() *certstest.Bundle { return r.clients }

// Close releases held answers and stops the server.
func (r *Register) Close() {
	r.Handler.Close()
	r.srv.Close()
}

// Document is one printed receipt.
type Document struct {
	FiscalDocNumber uint64 // ФД, increasing over the register's life
	FiscalSign      uint64 // ФП
	DocNumber       uint64 // receipt number within the shift
	Shift           uint64
	RequestID       string
	ClientID        string
	Group           string
	DocumentType    uint8
	TaxMode         uint8
	Lines           []fiscal.Line
	NonCash         []uint64
	AdvancePayment  uint64
	Total           uint64 // kopecks, Σ lines
	PhoneOrEmail    string
	Place           string
	Time            time.Time
}

// Stats count what the register saw.
type Stats struct {
	Requests      int // every HTTP request
	Checks        int // GETs on the Complex path
	Complex       int // POSTs on the Complex path
	CacheHits     int // answers served from the answer cache
	Printed       int // documents printed (len(Ledger()))
	Rejected      int // requests failed by validation
	Faults        int // injected faults used
	Conflicts     int // a cached key seen again with a different body
	MaxConcurrent int // most requests handled at the same time
}

// FaultKind is a kind of misbehaviour.
type FaultKind int

// Fault kinds.
const (
	FaultFCE           FaultKind = iota + 1 // HTTP 500 with FCEError Code; nothing printed
	FaultRegister                           // Response.Error Code; nothing printed; cached if permanent
	FaultDelay                              // print, then hold the answer for Delay or until the client leaves
	FaultHTTP502                            // HTTP 502 with no body; nothing printed
	FaultPrintThenDrop                      // print and cache, then close the connection without an answer
	FaultTruncated                          // print and cache, then send half of the JSON answer
	FaultHTTPStatus                         // answer Code (401, 403, ...) with a short text; nothing printed
)

// Fault is one misbehaviour, used by the next Complex POST.
type Fault struct {
	Kind  FaultKind
	Code  int
	Fatal bool // for FaultFCE
	Delay time.Duration
}

// FCE is a balancer error answered with HTTP 500. Fatal is set for 19 and 20.
func FCE(code int) Fault { return Fault{Kind: FaultFCE, Code: code, Fatal: code == 19 || code == 20} }

// FCEFatal is a balancer error with Fatal:true.
func FCEFatal(code int) Fault { return Fault{Kind: FaultFCE, Code: code, Fatal: true} }

// RegisterError is a register error in Response.Error.
func RegisterError(code int) Fault { return Fault{Kind: FaultRegister, Code: code} }

// Delay prints the document, then holds the answer for d (past the client's
// timeout, typically); the retry finds the answer in the cache.
func Delay(d time.Duration) Fault { return Fault{Kind: FaultDelay, Delay: d} }

// HTTP502 is a proxy error with no body.
func HTTP502() Fault { return Fault{Kind: FaultHTTP502} }

// PrintThenDrop prints and caches the document, then drops the connection.
func PrintThenDrop() Fault { return Fault{Kind: FaultPrintThenDrop} }

// Truncated prints and caches the document, then sends half an answer.
func Truncated() Fault { return Fault{Kind: FaultTruncated} }

// HTTPStatus answers with a bare HTTP status (401, 403, 404, ...).
func HTTPStatus(code int) Fault { return Fault{Kind: FaultHTTPStatus, Code: code} }

// Handler is the register without a listener: serve it from any http.Server
// (a separate process, for instance). It is safe for concurrent use.
type Handler struct {
	opts Options
	stop chan struct{}

	mu      sync.Mutex
	closed  bool
	faults  []Fault
	cache   map[cacheKey]cached
	ledger  []Document
	stats   Stats
	active  int
	lastFD  uint64
	shift   uint64
	inShift uint64 // receipts in the open shift; shift open when shiftAt is set
	shiftAt time.Time
}

type cacheKey struct{ group, requestID, clientID string }

type cached struct {
	status int
	body   []byte
	req    []byte // the request body that produced it
}

// NewHandler makes a register handler.
func NewHandler(opts Options) *Handler {
	if opts.CashierPassword == 0 {
		opts.CashierPassword = 1
	}
	if opts.MaxTaxID == 0 {
		opts.MaxTaxID = 12
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.FNSerial == "" {
		opts.FNSerial = "9999078900012345"
	}
	if opts.RegistrationNumber == "" {
		opts.RegistrationNumber = "0001234567012345"
	}
	if opts.DeviceSerial == "" {
		opts.DeviceSerial = "00000000381001017439"
	}
	return &Handler{opts: opts, stop: make(chan struct{}), cache: make(map[cacheKey]cached)}
}

// Close releases answers held by Delay faults.
func (h *Handler) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		h.closed = true
		close(h.stop)
	}
}

// Inject queues faults; each is used by one later Complex POST, in order.
func (h *Handler) Inject(faults ...Fault) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.faults = append(h.faults, faults...)
}

// Pending is the number of injected faults not used yet.
func (h *Handler) Pending() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.faults)
}

// Ledger returns a copy of the printed documents, oldest first.
func (h *Handler) Ledger() []Document {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Document, len(h.ledger))
	for i, d := range h.ledger {
		d.Lines = append([]fiscal.Line(nil), d.Lines...)
		d.NonCash = append([]uint64(nil), d.NonCash...)
		out[i] = d
	}
	return out
}

// Stats returns the counters.
func (h *Handler) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.stats
	s.Printed = len(h.ledger)
	return s
}

// complexDescription is what a GET on the Complex path answers: the command's
// description, printing nothing.
const complexDescription = `{"Path":"/fr/api/v2/Complex","Description":"Complex: open a document, add lines, close it and return the fiscal data in one call (POST)."}`

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.stats.Requests++
	h.active++
	h.stats.MaxConcurrent = max(h.stats.MaxConcurrent, h.active)
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		h.active--
		h.mu.Unlock()
	}()

	if r.URL.Path != fiscal.ComplexPath {
		http.Error(w, "unknown command at path: "+r.URL.Path, http.StatusNotFound)
		return
	}
	if r.TLS != nil && len(r.TLS.PeerCertificates) == 0 {
		// Reached only with a relaxed ClientAuth: the cloud identifies the
		// enterprise by the certificate and refuses anonymous callers.
		http.Error(w, "client certificate required", http.StatusForbidden)
		return
	}
	switch r.Method {
	case http.MethodGet:
		h.mu.Lock()
		h.stats.Checks++
		h.mu.Unlock()
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		io.WriteString(w, complexDescription)
		return
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		http.Error(w, "Content-Type must be application/json, got "+ct, http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return // the client went away
	}
	h.complex(w, r, body)
}

// wireRequest is the Complex request as the server reads it: every payment
// field, including those the project never sends.
type wireRequest struct {
	fiscal.Request
	Cash          uint64 `json:"Cash"`
	Credit        uint64 `json:"Credit"`
	Consideration uint64 `json:"Consideration"`
}

func (h *Handler) complex(w http.ResponseWriter, r *http.Request, body []byte) {
	var req wireRequest
	if err := json.Unmarshal(body, &req); err != nil {
		h.mu.Lock()
		h.stats.Complex++
		h.stats.Rejected++
		h.mu.Unlock()
		http.Error(w, "bad JSON: "+err.Error(), http.StatusBadRequest)
		return
	}
	key := cacheKey{req.Group, req.RequestID, req.ClientID}

	h.mu.Lock()
	h.stats.Complex++
	var fault *Fault
	if len(h.faults) > 0 {
		f := h.faults[0]
		h.faults = h.faults[1:]
		h.stats.Faults++
		fault = &f
	}
	if fault != nil {
		switch fault.Kind {
		case FaultFCE, FaultHTTP502, FaultHTTPStatus:
			h.mu.Unlock()
			h.fail(w, *fault)
			return
		case FaultRegister:
			if c, ok := h.cache[key]; ok && req.RequestID != "" {
				// A settled request gets its cached answer whatever happens.
				h.stats.CacheHits++
				h.mu.Unlock()
				writeJSON(w, c.status, c.body, true)
				return
			}
			status, ans := h.errorAnswer(&req, fault.Code, fmt.Sprintf("MSGCODE: %d, injected register error", fault.Code))
			if isPermanent(fault.Code) && req.RequestID != "" {
				h.cache[key] = cached{status: status, body: ans, req: body}
			}
			h.mu.Unlock()
			writeJSON(w, status, ans, false)
			return
		}
	}
	status, ans, fromCache := h.answerLocked(key, &req, body)
	h.mu.Unlock()

	if fault == nil {
		writeJSON(w, status, ans, fromCache)
		return
	}
	switch fault.Kind {
	case FaultDelay:
		t := time.NewTimer(fault.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
		case <-h.stop:
		}
		writeJSON(w, status, ans, fromCache)
	case FaultTruncated:
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		w.Write(ans[:len(ans)/2])
	case FaultPrintThenDrop:
		drop(w)
	default:
		writeJSON(w, status, ans, fromCache)
	}
}

// answerLocked serves from the cache or validates, prints and caches.
func (h *Handler) answerLocked(key cacheKey, req *wireRequest, body []byte) (int, []byte, bool) {
	if req.RequestID != "" {
		if c, ok := h.cache[key]; ok {
			h.stats.CacheHits++
			if !bytes.Equal(c.req, body) {
				h.stats.Conflicts++
			}
			return c.status, c.body, true
		}
	}
	if code, msg := h.validate(req); code != 0 {
		h.stats.Rejected++
		status, ans := h.errorAnswer(req, code, msg)
		if isPermanent(code) && req.RequestID != "" {
			h.cache[key] = cached{status: status, body: ans, req: body}
		}
		return status, ans, false
	}
	doc := h.printLocked(req)
	ans := h.successAnswer(req, doc)
	h.cache[key] = cached{status: http.StatusOK, body: ans, req: body}
	return http.StatusOK, ans, false
}

// Register error codes the fake answers with. Which of 69 and 77 the real
// register uses for which side of a sum mismatch is not documented: here 69
// means the payments fall short and 77 that they exceed the lines.
const (
	errBadParam      = 51
	errPaymentsShort = 69
	errPaymentsOver  = 77
	errWrongPassword = 79
)

func isPermanent(code int) bool {
	switch code {
	case 51, 52, 55, 69, 73, 77, 94, 142, 208:
		return true
	}
	return code >= 241 && code <= 246
}

func (h *Handler) validate(req *wireRequest) (int, string) {
	bad := func(field string, v any) (int, string) {
		return errBadParam, fmt.Sprintf("MSGCODE: 48, Неправильный параметр платежа [%s]: %v", field, v)
	}
	if req.RequestID == "" {
		return bad("RequestId", `""`)
	}
	if req.Password != h.opts.CashierPassword {
		return errWrongPassword, "MSGCODE: 79, Неверный пароль кассира"
	}
	if req.DocumentType > 3 {
		return bad("DocumentType", req.DocumentType)
	}
	if req.TaxMode != 0 && (req.TaxMode > 32 || req.TaxMode&(req.TaxMode-1) != 0) {
		return bad("TaxMode", req.TaxMode)
	}
	if len(req.Lines) == 0 {
		return bad("Lines", "[]")
	}
	if len(req.NonCash) > 3 {
		return bad("NonCash", len(req.NonCash))
	}
	if req.PhoneOrEmail != "" && !validContact(req.PhoneOrEmail) {
		return bad("PhoneOrEmail", req.PhoneOrEmail)
	}
	if !cp866(req.Place) || utf8.RuneCountInString(req.Place) > 256 {
		return bad("Place", req.Place)
	}
	var total uint64
	for i, l := range req.Lines {
		switch {
		case l.Qty == 0:
			return bad(fmt.Sprintf("Lines[%d].Qty", i), l.Qty)
		case l.PayAttribute < 1 || l.PayAttribute > 7:
			return bad(fmt.Sprintf("Lines[%d].PayAttribute", i), l.PayAttribute)
		case l.TaxID < 1 || l.TaxID > h.opts.MaxTaxID:
			return bad(fmt.Sprintf("Lines[%d].TaxId", i), l.TaxID)
		case l.LineAttribute > 33:
			return bad(fmt.Sprintf("Lines[%d].LineAttribute", i), l.LineAttribute)
		case strings.TrimSpace(l.Description) == "":
			return bad(fmt.Sprintf("Lines[%d].Description", i), `""`)
		case utf8.RuneCountInString(l.Description) > 128:
			return bad(fmt.Sprintf("Lines[%d].Description", i), "longer than 128 characters")
		case !cp866(l.Description):
			return bad(fmt.Sprintf("Lines[%d].Description", i), "not representable in CP866")
		}
		sum, ok := lineSum(l.Qty, l.Price)
		if !ok {
			return bad(fmt.Sprintf("Lines[%d].Price", i), l.Price)
		}
		var carry uint64
		if total, carry = bits.Add64(total, sum, 0); carry != 0 {
			return bad("Lines", "sum overflows")
		}
	}
	paid, ok := addAll(append([]uint64{req.Cash, req.AdvancePayment, req.Credit, req.Consideration}, req.NonCash...))
	switch {
	case !ok:
		return bad("NonCash", "sum overflows")
	case paid < total:
		return errPaymentsShort, fmt.Sprintf("MSGCODE: 69, Сумма оплаты %d меньше суммы чека %d", paid, total)
	case paid > total:
		return errPaymentsOver, fmt.Sprintf("MSGCODE: 77, Сумма оплаты %d больше суммы чека %d", paid, total)
	}
	return 0, ""
}

// lineSum is Price×Qty/1000 rounded half up to the kopeck.
func lineSum(qty, price uint64) (uint64, bool) {
	hi, lo := bits.Mul64(qty, price)
	lo, carry := bits.Add64(lo, 500, 0)
	hi += carry
	if hi >= 1000 {
		return 0, false
	}
	q, _ := bits.Div64(hi, lo, 1000)
	return q, true
}

func addAll(vs []uint64) (uint64, bool) {
	var s, c uint64
	for _, v := range vs {
		if s, c = bits.Add64(s, v, 0); c != 0 {
			return 0, false
		}
	}
	return s, true
}

func cp866(s string) bool {
	_, err := charmap.CodePage866.NewEncoder().String(s)
	return err == nil
}

// validContact accepts an e-mail or a phone as +7 and ten digits.
func validContact(s string) bool {
	if strings.HasPrefix(s, "+7") {
		if len(s) != 12 {
			return false
		}
		for _, c := range s[2:] {
			if c < '0' || c > '9' {
				return false
			}
		}
		return true
	}
	at := strings.IndexByte(s, '@')
	return at > 0 && at < len(s)-1 && !strings.ContainsAny(s, " \t\r\n") && cp866(s) && len(s) <= 64
}

// printLocked records a document. A shift opens on demand and closes after
// the request's MaxDocumentsInTurn receipts or 86 000 s; opening and closing
// a shift are fiscal documents too, so ФД numbers jump across shifts.
func (h *Handler) printLocked(req *wireRequest) Document {
	now := h.opts.Now().UTC()
	if !h.shiftAt.IsZero() && now.Sub(h.shiftAt) >= 86000*time.Second {
		h.closeShiftLocked()
	}
	if h.shiftAt.IsZero() {
		h.shift++
		h.lastFD++ // shift-opening report
		h.shiftAt = now
		h.inShift = 0
	}
	h.lastFD++
	h.inShift++
	var total uint64
	for _, l := range req.Lines {
		s, _ := lineSum(l.Qty, l.Price)
		total += s
	}
	doc := Document{
		FiscalDocNumber: h.lastFD,
		DocNumber:       h.inShift,
		Shift:           h.shift,
		RequestID:       req.RequestID,
		ClientID:        req.ClientID,
		Group:           req.Group,
		DocumentType:    req.DocumentType,
		TaxMode:         req.TaxMode,
		Lines:           append([]fiscal.Line(nil), req.Lines...),
		NonCash:         append([]uint64(nil), req.NonCash...),
		AdvancePayment:  req.AdvancePayment,
		Total:           total,
		PhoneOrEmail:    req.PhoneOrEmail,
		Place:           req.Place,
		Time:            now,
	}
	f := fnv.New32a()
	fmt.Fprintf(f, "%d/%s/%s", doc.FiscalDocNumber, doc.RequestID, h.opts.FNSerial)
	doc.FiscalSign = uint64(f.Sum32())
	h.ledger = append(h.ledger, doc)
	if req.MaxDocumentsInTurn > 0 && h.inShift >= uint64(req.MaxDocumentsInTurn) {
		h.closeShiftLocked()
	}
	return doc
}

func (h *Handler) closeShiftLocked() {
	h.lastFD++ // shift-closing report
	h.shiftAt = time.Time{}
	h.inShift = 0
}

type wireDate struct {
	Date struct{ Day, Month, Year int }     `json:"Date"`
	Time struct{ Hour, Minute, Second int } `json:"Time"`
}

type wireAnswer struct {
	RequestID                string     `json:"RequestId"`
	ClientID                 string     `json:"ClientId"`
	Path                     string     `json:"Path"`
	Device                   wireDevice `json:"Device"`
	Response                 wireResp   `json:"Response"`
	FiscalDocNumber          uint64     `json:"FiscalDocNumber,omitempty"`
	DocNumber                uint64     `json:"DocNumber,omitempty"`
	TurnNumber               uint64     `json:"TurnNumber,omitempty"`
	Date                     wireDate   `json:"Date"`
	GrandTotal               uint64     `json:"GrandTotal,omitempty"`
	FiscalSign               uint64     `json:"FiscalSign,omitempty"`
	DocumentType             uint8      `json:"DocumentType"`
	QR                       string     `json:"QR,omitempty"`
	FNSerialNumber           string     `json:"FNSerialNumber"`
	DeviceSerialNumber       string     `json:"DeviceSerialNumber"`
	DeviceRegistrationNumber string     `json:"DeviceRegistrationNumber"`
}

type wireDevice struct {
	Name    string `json:"Name"`
	Address string `json:"Address"`
}

type wireResp struct {
	Error         int      `json:"Error"`
	ErrorMessages []string `json:"ErrorMessages,omitempty"`
}

func (h *Handler) base(req *wireRequest) wireAnswer {
	return wireAnswer{
		RequestID:                req.RequestID,
		ClientID:                 req.ClientID,
		Path:                     fiscal.ComplexPath,
		Device:                   wireDevice{Name: h.opts.DeviceSerial, Address: "127.0.0.1:4444"},
		DocumentType:             req.DocumentType,
		FNSerialNumber:           h.opts.FNSerial,
		DeviceSerialNumber:       h.opts.DeviceSerial,
		DeviceRegistrationNumber: h.opts.RegistrationNumber,
	}
}

func (h *Handler) errorAnswer(req *wireRequest, code int, msg string) (int, []byte) {
	a := h.base(req)
	a.Response = wireResp{Error: code, ErrorMessages: []string{msg}}
	return http.StatusOK, mustJSON(a)
}

func (h *Handler) successAnswer(req *wireRequest, d Document) []byte {
	a := h.base(req)
	a.FiscalDocNumber = d.FiscalDocNumber
	a.DocNumber = d.DocNumber
	a.TurnNumber = d.Shift
	a.GrandTotal = d.Total
	a.FiscalSign = d.FiscalSign
	t := d.Time
	a.Date.Date.Day, a.Date.Date.Month, a.Date.Date.Year = t.Day(), int(t.Month()), t.Year()%100
	a.Date.Time.Hour, a.Date.Time.Minute, a.Date.Time.Second = t.Hour(), t.Minute(), t.Second()
	a.QR = fmt.Sprintf("t=%s&s=%d.%02d&fn=%s&i=%d&fp=%d&n=%d",
		t.Format("20060102T1504"), d.Total/100, d.Total%100, h.opts.FNSerial, d.FiscalDocNumber, d.FiscalSign, d.DocumentType+1)
	return mustJSON(a)
}

func (h *Handler) fail(w http.ResponseWriter, f Fault) {
	switch f.Kind {
	case FaultFCE:
		b := mustJSON(struct {
			FCEError         int    `json:"FCEError"`
			ErrorDescription string `json:"ErrorDescription"`
			Fatal            bool   `json:"Fatal"`
		}{f.Code, fmt.Sprintf("injected FCE error %d", f.Code), f.Fatal})
		writeJSON(w, http.StatusInternalServerError, b, false)
	case FaultHTTP502:
		w.WriteHeader(http.StatusBadGateway)
	case FaultHTTPStatus:
		http.Error(w, http.StatusText(f.Code), f.Code)
	}
}

func writeJSON(w http.ResponseWriter, status int, body []byte, fromCache bool) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if fromCache {
		w.Header().Set("X-From-Cache", "true")
	}
	w.WriteHeader(status)
	w.Write(body)
}

// drop closes the connection without a word: the client cannot tell whether
// the document was printed.
func drop(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = buf.Flush()
	_ = conn.Close()
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("chekonlinetest: marshal answer: %v", err))
	}
	return b
}
