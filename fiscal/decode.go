package fiscal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on what is kept of the register's own words: they are stored with
// the receipt and shown to the merchant, and come from outside.
const (
	maxMessages   = 16
	maxMessageLen = 1024
)

// isPermanent reports the register errors the server caches: the request is
// wrong (bad parameters, sums) and the same RequestId always gets the same answer.
func isPermanent(code int) bool {
	switch code {
	case 51, 52, 55, 69, 73, 77, 94, 142, 208:
		return true
	}
	return code >= 241 && code <= 246
}

// Register and balancer codes with a meaning of their own.
const (
	codeWrongPassword = 79 // wrong cashier password

	fceNoRegister = 5  // no suitable register
	fceAmbiguous  = 6  // answer state undetermined
	fceBusy       = 18 // register busy
	fceHaltA      = 19 // register needs a person
	fceHaltB      = 20 // register needs a person
	fceInProgress = 24 // the same RequestId is still being processed
)

// ClassifyRegisterError returns the class of a non-zero Response.Error.
func ClassifyRegisterError(code int) Class {
	switch {
	case isPermanent(code):
		return ClassPermanent
	case code == codeWrongPassword:
		return ClassConfig
	default:
		return ClassTransient
	}
}

// ClassifyFCE returns the class of a balancer (FCE) error. The codes the
// protocol names keep their meaning whatever Fatal says; for any other code
// Fatal:true means a person must act on the register (halt), and Fatal:false
// that the balancer expects the request to succeed later (transient).
func ClassifyFCE(code int, fatal bool) Class {
	switch code {
	case fceNoRegister, fceBusy:
		return ClassTransient
	case fceInProgress:
		return ClassInProgress
	case fceAmbiguous:
		return ClassAmbiguous
	case fceHaltA, fceHaltB:
		return ClassHalt
	}
	if fatal {
		return ClassHalt
	}
	return ClassTransient
}

// wireAnswer is the Complex answer. Numbers are read leniently (number or
// numeric string): once the register says Error 0 the document is printed,
// and a quirk in a secondary field must not turn that into a failure.
type wireAnswer struct {
	FCEError         code            `json:"FCEError"`
	ErrorDescription json.RawMessage `json:"ErrorDescription"`
	Fatal            bool            `json:"Fatal"`

	Response *wireResponse `json:"Response"`
	Reponse  *wireResponse `json:"Reponse"` // the 2017 protocol document's spelling

	RequestID                string      `json:"RequestId"`
	FiscalDocNumber          flexUint    `json:"FiscalDocNumber"`
	FiscalSign               flexUint    `json:"FiscalSign"`
	DocNumber                flexUint    `json:"DocNumber"`
	GrandTotal               flexUint    `json:"GrandTotal"`
	TurnNumber               flexUint    `json:"TurnNumber"`
	QR                       string      `json:"QR"`
	FNSerialNumber           string      `json:"FNSerialNumber"`
	DeviceSerialNumber       string      `json:"DeviceSerialNumber"`
	DeviceRegistrationNumber string      `json:"DeviceRegistrationNumber"`
	Date                     *wireDateTS `json:"Date"`
}

type wireResponse struct {
	Error           code            `json:"Error"`
	ErrorMessages   json.RawMessage `json:"ErrorMessages"`
	RequestID       string          `json:"RequestId"`
	FiscalDocNumber flexUint        `json:"FiscalDocNumber"`
	TurnNumber      flexUint        `json:"TurnNumber"`
}

type wireDateTS struct {
	Date struct {
		Day   flexUint `json:"Day"`
		Month flexUint `json:"Month"`
		Year  flexUint `json:"Year"`
	} `json:"Date"`
	Time struct {
		Hour   flexUint `json:"Hour"`
		Minute flexUint `json:"Minute"`
		Second flexUint `json:"Second"`
	} `json:"Time"`
}

// code is an error code: set only when the field is a JSON integer. Go's
// decoder would leave a *int64 pointing at 0 for "Error":"51", and 0 means
// printed, so the code is read strictly.
type code struct {
	v   int64
	set bool
}

func (c *code) UnmarshalJSON(b []byte) error {
	*c = code{}
	if v, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64); err == nil {
		*c = code{v: v, set: true}
	}
	return nil
}

// flexUint accepts a non-negative integer as a JSON number or string; anything
// else reads as 0 without failing the whole answer.
type flexUint uint64

func (f *flexUint) UnmarshalJSON(b []byte) error {
	*f = 0
	b = bytes.TrimSpace(b)
	if len(b) > 1 && b[0] == '"' && b[len(b)-1] == '"' {
		b = b[1 : len(b)-1]
	}
	if n, err := strconv.ParseUint(string(b), 10, 64); err == nil {
		*f = flexUint(n)
		return nil
	}
	// 1.5e3 and the like: accept only exact non-negative integers.
	if v, err := strconv.ParseFloat(string(b), 64); err == nil && v >= 0 && v < 1<<63 && v == float64(uint64(v)) {
		*f = flexUint(uint64(v))
	}
	return nil
}

// DecodeAnswer turns one HTTP answer to a Complex call into a Result or an
// *Error with its Class. It never panics on any input.
func DecodeAnswer(status int, header http.Header, body []byte) (Result, error) {
	res, _, err := decodeAnswer(status, header, body)
	return res, err
}

// decodeAnswer also returns the RequestId the answer names ("" when none), so
// the client can refuse an answer meant for another request.
func decodeAnswer(status int, header http.Header, body []byte) (Result, string, error) {
	fromCache := header.Get("X-From-Cache") != "" || header.Get("X-From-FCE-Cache") != ""
	var a wireAnswer
	jsonErr := json.Unmarshal(body, &a)
	var typeErr *json.UnmarshalTypeError
	if errors.As(jsonErr, &typeErr) {
		// Valid JSON with an odd type somewhere: the decoder filled in every
		// other field, and Response.Error (strictly typed) decides below.
		jsonErr = nil
	}
	if jsonErr == nil && a.FCEError.set && a.FCEError.v != 0 {
		code := clampInt(a.FCEError.v)
		return Result{}, a.RequestID, &Error{
			Class:      ClassifyFCE(code, a.Fatal),
			FCE:        code,
			HTTPStatus: status,
			Messages:   messages(a.ErrorDescription),
		}
	}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden ||
		status == http.StatusNotFound || status == http.StatusMethodNotAllowed ||
		status == http.StatusProxyAuthRequired:
		// The certificate is not allowed, or the URL is not a Complex endpoint.
		return Result{}, "", &Error{Class: ClassConfig, HTTPStatus: status, Messages: httpMessages(body)}
	case status == http.StatusRequestTimeout || status == http.StatusTooEarly || status == http.StatusTooManyRequests:
		// Refused before processing: nothing was printed.
		return Result{}, "", &Error{Class: ClassTransient, HTTPStatus: status, Messages: httpMessages(body)}
	case status >= 500 && jsonErr == nil && registerCode(&a) != 0:
		// A register error sent with a 5xx status: the register's code decides.
	case status >= 500:
		return Result{}, "", &Error{Class: ClassUnknown, HTTPStatus: status, Messages: httpMessages(body),
			Err: errors.New("no FCE error in the answer")}
	case status == http.StatusBadRequest && bytes.Contains(body, []byte("HTTPS")):
		// nginx and Go both say so when plain HTTP reaches a TLS port.
		return Result{}, "", &Error{Class: ClassConfig, HTTPStatus: status, Messages: httpMessages(body),
			Err: errors.New("the register expects https://")}
	case status >= 400:
		// Rejected as malformed by the server itself: resending the same bytes
		// cannot help, and nothing was printed.
		return Result{}, "", &Error{Class: ClassPermanent, HTTPStatus: status, Messages: httpMessages(body)}
	case status < 200 || status >= 300:
		return Result{}, "", &Error{Class: ClassConfig, HTTPStatus: status,
			Err: fmt.Errorf("unexpected HTTP status %d (a redirect? check register.url)", status)}
	}
	if jsonErr != nil {
		return Result{}, "", &Error{Class: ClassUnknown, HTTPStatus: status,
			Err: fmt.Errorf("answer is not valid JSON: %w", jsonErr)}
	}
	resp := a.Response
	if resp == nil {
		resp = a.Reponse
	}
	if resp == nil || !resp.Error.set {
		return Result{}, a.RequestID, &Error{Class: ClassUnknown, HTTPStatus: status,
			Err: errors.New("answer has no Response.Error")}
	}
	reqID := a.RequestID
	if reqID == "" {
		reqID = resp.RequestID
	}
	if code := resp.Error.v; code != 0 {
		c := clampInt(code)
		return Result{}, reqID, &Error{
			Class:      ClassifyRegisterError(c),
			Code:       c,
			HTTPStatus: status,
			Messages:   messages(resp.ErrorMessages),
		}
	}
	res := Result{
		FiscalDocNumber:    uint64(a.FiscalDocNumber),
		FiscalSign:         uint64(a.FiscalSign),
		FNSerial:           a.FNSerialNumber,
		RegistrationNumber: a.DeviceRegistrationNumber,
		DeviceSerial:       a.DeviceSerialNumber,
		DocNumber:          uint64(a.DocNumber),
		Shift:              uint64(a.TurnNumber),
		Date:               a.Date.time(),
		QR:                 a.QR,
		GrandTotal:         uint64(a.GrandTotal),
		FromCache:          fromCache,
	}
	if res.FiscalDocNumber == 0 {
		res.FiscalDocNumber = uint64(resp.FiscalDocNumber)
	}
	if res.Shift == 0 {
		res.Shift = uint64(resp.TurnNumber)
	}
	return res, reqID, nil
}

// time reads the register's wall clock. The register gives no zone, so the
// value is kept as UTC wall time; an impossible date reads as zero.
func (d *wireDateTS) time() time.Time {
	if d == nil {
		return time.Time{}
	}
	day, month, year := int(min(d.Date.Day, 99)), int(min(d.Date.Month, 99)), int(min(d.Date.Year, 99))
	h, m, s := int(min(d.Time.Hour, 99)), int(min(d.Time.Minute, 99)), int(min(d.Time.Second, 99))
	if day < 1 || month < 1 || month > 12 || h > 23 || m > 59 || s > 59 {
		return time.Time{}
	}
	t := time.Date(2000+year, time.Month(month), day, h, m, s, 0, time.UTC)
	if t.Day() != day { // 31 February
		return time.Time{}
	}
	return t
}

func registerCode(a *wireAnswer) int64 {
	for _, r := range []*wireResponse{a.Response, a.Reponse} {
		if r != nil && r.Error.set {
			return r.Error.v
		}
	}
	return 0
}

func clampInt(v int64) int {
	const maxInt = int64(^uint32(0) >> 1)
	switch {
	case v > maxInt:
		return int(maxInt)
	case v < -maxInt:
		return int(-maxInt)
	}
	return int(v)
}

// messages reads ErrorMessages or ErrorDescription: a string or an array of
// strings. Anything else is kept as its JSON text, so nothing is lost.
func messages(raw json.RawMessage) []string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return clip([]string{one})
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		return clip(many)
	}
	return clip([]string{string(raw)})
}

// httpMessages keeps a short piece of a non-JSON error page.
func httpMessages(body []byte) []string {
	b := bytes.TrimSpace(body)
	if len(b) == 0 {
		return nil
	}
	return clip([]string{string(b)})
}

func clip(ms []string) []string {
	var out []string
	for _, m := range ms {
		if m == "" {
			continue
		}
		if len(out) == maxMessages {
			break
		}
		m = strings.ToValidUTF8(m, "\uFFFD")
		if len(m) > maxMessageLen {
			cut := maxMessageLen
			for cut > 0 && !utf8.RuneStart(m[cut]) {
				cut--
			}
			m = m[:cut] + "…"
		}
		out = append(out, m)
	}
	return out
}
