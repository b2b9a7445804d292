// Package fiscal talks to a Chekonline (Чек-онлайн) register: it sends one
// receipt per Complex call and classifies every answer, so the caller knows
// whether a document was printed, may be retried with the same RequestId, or
// needs a person.
//
// The wire types (Request, Line) and the result (Result) live here; the
// receipt itself is built elsewhere. The client resends only the identical
// bytes it was given: the server's answer cache, keyed by (Group, RequestId,
// ClientId), is what makes a resend safe after a timeout or a dropped
// connection.
//
// It must never invent a new RequestId, change a body between attempts,
// resend after a permanent, ambiguous, halt or configuration answer, or log
// a request body (it holds the buyer's e-mail or phone) or key material.
package fiscal

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/go-retryablehttp"
	"golang.org/x/time/rate"
)

// ComplexPath is the Complex command's path on the register.
const ComplexPath = "/fr/api/v2/Complex"

// Defaults for zero Config fields.
const (
	DefaultTimeout      = 60 * time.Second
	DefaultRate         = 1.0
	DefaultMaxInFlight  = 1
	DefaultRetryMax     = 3
	DefaultRetryWaitMin = 1 * time.Second
	DefaultRetryWaitMax = 30 * time.Second

	maxAnswerLength = 4 << 20
)

// Observer receives one call per HTTP attempt, for metrics. class is "" on
// success, else a Class name.
type Observer interface {
	OnRequest(dur time.Duration, class string)
}

// Config configures a Client for one register.
type Config struct {
	// URL is the register's base URL: https://kkt.chekonline.ru, or
	// http://HOST:4444 for a standalone register. ComplexPath is appended
	// unless the URL already ends with it.
	URL string
	// Certificate is the TLS client certificate; zero for plain http.
	Certificate tls.Certificate
	// RootCAs verifies the register's certificate; nil means the system roots.
	RootCAs *x509.CertPool
	// Timeout bounds one attempt (connect, send, answer). Default 60 s.
	Timeout time.Duration
	// Rate is the most requests per second sent to this register. Default 1.
	Rate float64
	// MaxInFlight is the most Send/Check calls running at once. Default 1.
	MaxInFlight int
	// RetryMax is how many times a retryable answer is retried within one
	// Send. 0 means DefaultRetryMax; negative means no retry.
	RetryMax int
	// RetryWaitMin and RetryWaitMax bound the exponential backoff between
	// retries. Defaults 1 s and 30 s.
	RetryWaitMin, RetryWaitMax time.Duration
	Logger                     *slog.Logger
	Observer                   Observer
}

// Client sends Complex requests to one register. It is safe for concurrent use.
type Client struct {
	url      string
	https    bool
	haveCert bool
	http     *retryablehttp.Client
	slots    chan struct{}
	log      *slog.Logger
	obs      Observer
	tr       *transport
}

// NewClient checks cfg and builds a Client.
func NewClient(cfg Config) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(cfg.URL))
	if err != nil {
		return nil, fmt.Errorf("fiscal: register URL: %w", err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("fiscal: register URL %q: scheme must be https or http", cfg.URL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("fiscal: register URL %q has no host", cfg.URL)
	}
	if u.User != nil {
		return nil, errors.New("fiscal: register URL must not carry a user or password")
	}
	haveCert := len(cfg.Certificate.Certificate) > 0
	if u.Scheme == "http" && haveCert {
		return nil, fmt.Errorf("fiscal: register URL %q is plain http but a client certificate is configured (use https:// or drop the certificate)", u.Redacted())
	}
	if haveCert && cfg.Certificate.PrivateKey == nil {
		return nil, errors.New("fiscal: client certificate has no private key")
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	if !strings.HasSuffix(u.Path, ComplexPath) {
		u.Path += ComplexPath
	}
	u.RawQuery, u.Fragment = "", ""

	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Rate <= 0 {
		cfg.Rate = DefaultRate
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	switch {
	case cfg.RetryMax == 0:
		cfg.RetryMax = DefaultRetryMax
	case cfg.RetryMax < 0:
		cfg.RetryMax = 0
	}
	if cfg.RetryWaitMin <= 0 {
		cfg.RetryWaitMin = DefaultRetryWaitMin
	}
	if cfg.RetryWaitMax <= 0 {
		cfg.RetryWaitMax = DefaultRetryWaitMax
	}
	cfg.RetryWaitMax = max(cfg.RetryWaitMax, cfg.RetryWaitMin)
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	base := cleanhttp.DefaultPooledTransport()
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: cfg.RootCAs}
	if haveCert {
		cert := cfg.Certificate
		// Always offer the certificate: the built-in selection drops it when
		// the server's list of acceptable CAs does not name its issuer, and
		// the server's own verdict is the clearer error.
		tlsCfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &cert, nil
		}
	}
	base.TLSClientConfig = tlsCfg
	tr := &transport{
		base:    base,
		lim:     rate.NewLimiter(rate.Limit(cfg.Rate), 1),
		clk:     realClock{},
		timeout: cfg.Timeout,
	}
	c := &Client{
		url:      u.String(),
		https:    u.Scheme == "https",
		haveCert: haveCert,
		slots:    make(chan struct{}, cfg.MaxInFlight),
		log:      log.With(slog.String("register", u.Host)),
		obs:      cfg.Observer,
		tr:       tr,
	}
	c.http = &retryablehttp.Client{
		HTTPClient: &http.Client{
			Transport: tr,
			// A redirect is a wrong URL; following it would resend a
			// receipt somewhere unexpected.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		RetryWaitMin:   cfg.RetryWaitMin,
		RetryWaitMax:   cfg.RetryWaitMax,
		RetryMax:       cfg.RetryMax,
		CheckRetry:     c.checkRetry,
		Backoff:        retryablehttp.DefaultBackoff,
		ErrorHandler:   retryablehttp.PassthroughErrorHandler,
		RequestLogHook: c.beforeAttempt,
	}
	return c, nil
}

// URL is the full Complex URL the client posts to.
func (c *Client) URL() string { return c.url }

// Send posts body (the exact stored JSON of a Request) and returns the
// printed document's data, or an *Error with its Class. Retryable classes are
// retried within the call, up to RetryMax times, with the identical body.
func (c *Client) Send(ctx context.Context, body []byte) (Result, error) {
	var head struct {
		RequestID string `json:"RequestId"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return Result{}, &Error{Class: ClassPermanent, Err: fmt.Errorf("request body is not a JSON object: %w", err)}
	}
	if head.RequestID == "" {
		return Result{}, &Error{Class: ClassPermanent, Err: errors.New("request body has no RequestId")}
	}
	st := &callState{requestID: head.RequestID}
	status, header, answer, err := c.do(ctx, http.MethodPost, body, st)
	if err != nil {
		return Result{}, err
	}
	res, err := st.decode(status, header, answer)
	if err != nil {
		return Result{}, err
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, "fiscal: printed",
		slog.String("request_id", st.requestID),
		slog.Uint64("fiscal_doc_number", res.FiscalDocNumber),
		slog.Bool("from_cache", res.FromCache),
		slog.Int("attempts", st.attempt))
	return res, nil
}

// Check proves the register is reachable and accepts the client certificate:
// a GET on the Complex path answers with the command's description and
// prints nothing.
func (c *Client) Check(ctx context.Context) error {
	st := &callState{check: true}
	status, header, answer, err := c.do(ctx, http.MethodGet, nil, st)
	if err != nil {
		return err
	}
	return st.checkAnswer(status, header, answer)
}

// do runs one call with retries and returns the last answer read in full, or
// an *Error when no answer came.
func (c *Client) do(ctx context.Context, method string, body []byte, st *callState) (int, http.Header, []byte, error) {
	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return 0, nil, nil, &Error{Class: ClassTransient, Err: fmt.Errorf("waiting for a free slot: %w", ctx.Err())}
	}
	defer func() { <-c.slots }()

	var raw any
	if body != nil {
		raw = body
	}
	req, err := retryablehttp.NewRequestWithContext(context.WithValue(ctx, stateKey{}, st), method, c.url, raw)
	if err != nil {
		return 0, nil, nil, &Error{Class: ClassConfig, Err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		if resp != nil {
			resp.Body.Close()
		}
		if st.lastErr != nil && ctx.Err() == nil {
			return 0, nil, nil, st.lastErr
		}
		return 0, nil, nil, c.transportError(ctx, err)
	}
	defer resp.Body.Close()
	// checkRetry has already read the answer into memory.
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, nil, &Error{Class: ClassUnknown, HTTPStatus: resp.StatusCode, Err: fmt.Errorf("reading the answer: %w", err)}
	}
	return resp.StatusCode, resp.Header, answer, nil
}

// stateKey carries a call's *callState through retryablehttp's hooks. The
// hooks run on the calling goroutine, one attempt after another.
type stateKey struct{}

type callState struct {
	requestID string
	check     bool
	attempt   int
	start     time.Time
	lastErr   *Error // the classified error of the last attempt, if any
}

func stateOf(ctx context.Context) *callState {
	st, _ := ctx.Value(stateKey{}).(*callState)
	if st == nil {
		st = &callState{}
	}
	return st
}

func (st *callState) decode(status int, header http.Header, body []byte) (Result, error) {
	res, answerID, err := decodeAnswer(status, header, body)
	if err != nil {
		return Result{}, err
	}
	if answerID != "" && answerID != st.requestID {
		// Someone else's answer: whether ours printed is unknown, and a
		// resend is safe because of the answer cache.
		return Result{}, &Error{Class: ClassUnknown, HTTPStatus: status,
			Err: fmt.Errorf("answer is for RequestId %q, not %q", answerID, st.requestID)}
	}
	return res, nil
}

func (st *callState) checkAnswer(status int, header http.Header, body []byte) error {
	if status == http.StatusOK {
		return nil
	}
	if _, err := DecodeAnswer(status, header, body); err != nil {
		return err
	}
	return &Error{Class: ClassConfig, HTTPStatus: status, Err: errors.New("unexpected answer to the connection test")}
}

func (c *Client) beforeAttempt(_ retryablehttp.Logger, req *http.Request, retry int) {
	st := stateOf(req.Context())
	st.attempt = retry + 1
	st.start = time.Now()
	if retry > 0 {
		attrs := []slog.Attr{slog.Int("attempt", st.attempt)}
		if st.requestID != "" {
			attrs = append(attrs, slog.String("request_id", st.requestID))
		}
		if st.lastErr != nil {
			attrs = append(attrs, slog.String("class", st.lastErr.Class.String()), slog.String("error", st.lastErr.Error()))
		}
		c.log.LogAttrs(req.Context(), slog.LevelInfo, "fiscal: retrying with the same request", attrs...)
	}
}

// checkRetry classifies each attempt and retries only the retryable classes.
// It reads the answer into memory so the class can depend on the body.
func (c *Client) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	st := stateOf(ctx)
	var e *Error
	switch {
	case ctx.Err() != nil:
		e = c.transportError(ctx, ctx.Err())
	case err != nil:
		e = c.transportError(ctx, err)
	default:
		answer, rerr := io.ReadAll(io.LimitReader(resp.Body, maxAnswerLength+1))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(answer))
		switch {
		case rerr != nil:
			e = &Error{Class: ClassUnknown, HTTPStatus: resp.StatusCode, Err: fmt.Errorf("reading the answer: %w", rerr)}
		case len(answer) > maxAnswerLength:
			e = &Error{Class: ClassUnknown, HTTPStatus: resp.StatusCode, Err: fmt.Errorf("answer longer than %d bytes", maxAnswerLength)}
		case st.check:
			if cerr := st.checkAnswer(resp.StatusCode, resp.Header, answer); cerr != nil {
				e = asError(cerr)
			}
		default:
			if _, derr := st.decode(resp.StatusCode, resp.Header, answer); derr != nil {
				e = asError(derr)
			}
		}
	}
	st.lastErr = e
	class := ""
	if e != nil {
		class = e.Class.String()
	}
	if c.obs != nil {
		c.obs.OnRequest(time.Since(st.start), class)
	}
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if e == nil {
		return false, nil
	}
	if !e.Class.Retryable() {
		return false, nil
	}
	if err != nil {
		return true, err
	}
	return true, nil
}

func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Class: ClassUnknown, Err: err}
}

// transportError classifies a failure to get an answer at all.
func (c *Client) transportError(ctx context.Context, err error) *Error {
	if ctx.Err() != nil {
		// The caller gave up: the request may or may not have reached the register.
		return &Error{Class: ClassUnknown, Err: ctx.Err()}
	}
	var (
		verr   *tls.CertificateVerificationError
		uaerr  x509.UnknownAuthorityError
		herr   x509.HostnameError
		ierr   x509.CertificateInvalidError
		rherr  tls.RecordHeaderError
		alert  tls.AlertError
		operr  *net.OpError
		remote bool
	)
	if errors.As(err, &operr) && operr.Op == "remote error" {
		remote = true
	}
	switch {
	case remote || errors.As(err, &alert):
		msg := "the register rejected the TLS handshake: check register.certificate and register.private_key (is the certificate current and issued by Chekonline?)"
		if !c.haveCert {
			msg = "the register rejected the TLS handshake: no client certificate is configured (set register.certificate and register.private_key)"
		}
		return &Error{Class: ClassConfig, Err: fmt.Errorf("%s: %w", msg, err)}
	case errors.As(err, &verr), errors.As(err, &uaerr), errors.As(err, &herr), errors.As(err, &ierr):
		return &Error{Class: ClassConfig, Err: fmt.Errorf("the register's TLS certificate is not trusted (set register.ca_file if a private CA signs it): %w", err)}
	case errors.As(err, &rherr):
		hint := "the register did not answer with TLS: use http:// for a standalone register"
		if !c.https {
			hint = "the register answered with TLS: use https://"
		}
		return &Error{Class: ClassConfig, Err: fmt.Errorf("%s: %w", hint, err)}
	}
	if c.https && strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") {
		return &Error{Class: ClassConfig, Err: fmt.Errorf("the register did not answer with TLS: use http:// for a standalone register: %w", err)}
	}
	if !c.https && strings.Contains(err.Error(), "malformed HTTP response") {
		return &Error{Class: ClassConfig, Err: fmt.Errorf("the register answered with TLS: use https://: %w", err)}
	}
	return &Error{Class: ClassUnknown, Err: err}
}

// transport applies the register's rate limit and the per-attempt timeout.
type transport struct {
	base    http.RoundTripper
	lim     *rate.Limiter
	clk     clock
	timeout time.Duration
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.wait(req.Context()); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(req.Context(), t.timeout)
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		if ctx.Err() == context.DeadlineExceeded && req.Context().Err() == nil {
			return nil, fmt.Errorf("no answer within %s: %w", t.timeout, err)
		}
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

func (t *transport) wait(ctx context.Context) error {
	now := t.clk.Now()
	r := t.lim.ReserveN(now, 1)
	d := r.DelayFrom(now)
	if d <= 0 {
		return nil
	}
	if err := t.clk.Sleep(ctx, d); err != nil {
		r.CancelAt(t.clk.Now())
		return err
	}
	return nil
}

// cancelBody ends the attempt's timeout context once the answer is read.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// clock is time as the rate limiter sees it.
type clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
