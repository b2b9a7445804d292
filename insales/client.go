package insales

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/go-retryablehttp"
)

// Defaults for Config fields left zero.
const (
	DefaultPerPage       = 100
	DefaultMaxPerPage    = 250
	DefaultOverlap       = 5 * time.Second
	DefaultRateRequests  = 500
	DefaultRateWindow    = 300 * time.Second
	DefaultMaxRetryAfter = 5 * time.Minute
	DefaultRetryMax      = 4
	DefaultRetryWaitMin  = 1 * time.Second
	DefaultRetryWaitMax  = 30 * time.Second
	DefaultMaxBodyBytes  = 32 << 20
	DefaultTimeout       = 70 * time.Second // InSales gives up after 50 s
	DefaultUserAgent     = "chekd"

	// maxRateLimitWaits is how many 429 answers in a row one call sits out
	// before it reports the 429.
	maxRateLimitWaits = 5
)

// Config is one shop's connection. Shop, BaseURL, APIKey and Password are
// required; every other field has a default.
type Config struct {
	Shop      string // the shop's name in chekd's config, used in errors and logs
	BaseURL   string // https://myshop.myinsales.ru
	APIKey    string // the application key's identifier (Basic auth login)
	Password  string // the application key's password; never logged
	UserAgent string // "chekd/VERSION"

	PerPage    int           // orders per request (default 100)
	MaxPerPage int           // largest page asked for when from_id is ignored (default 250)
	Overlap    time.Duration // re-read before the cursor on every scan (default 5 s); negative means none

	RateRequests  int           // requests per RateWindow (default 500)
	RateWindow    time.Duration // default 300 s
	MaxRetryAfter time.Duration // longest single wait after 429/503 (default 5 min)

	RetryMax     int           // retries of a GET after a transport error or 5xx (default 4); negative means none
	RetryWaitMin time.Duration // first backoff (default 1 s)
	RetryWaitMax time.Duration // backoff cap (default 30 s)

	MaxBodyBytes int64 // largest answer accepted (default 32 MiB)

	HTTPClient *http.Client // default: a client with a 70 s timeout
	Logger     *slog.Logger // default: discard
	Observer   Observer     // optional metrics hooks
	Clock      Clock        // default: the system clock
}

// Observer receives metrics events. Its methods must be fast and safe for
// concurrent use.
type Observer interface {
	// OnRequest is called after every HTTP attempt; status is 0 when no
	// answer came. endpoint is a template such as "GET /admin/orders/:id.json".
	OnRequest(endpoint string, status int, dur time.Duration)
	// OnUsage reports the server's API-Usage-Limit header.
	OnUsage(used, limit int)
	// OnRateLimited is called when the server refused with 429 (or a
	// rate-limiting 503) and the client waits before trying again.
	OnRateLimited(wait time.Duration)
}

// APIError is an answer InSales gave with a status other than 2xx.
type APIError struct {
	Shop       string
	Endpoint   string // "GET /admin/orders.json"
	Status     int
	Message    string        // the server's own message, when it sent one
	RetryAfter time.Duration // from Retry-After on 429/503, 0 when absent
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "insales: shop %q: %s: HTTP %d", e.Shop, e.Endpoint, e.Status)
	switch e.Status {
	case http.StatusUnauthorized:
		b.WriteString(": InSales refused the credentials; check insales.url, insales.api_key and insales.password (or insales.password_file) of this shop")
	case http.StatusTooManyRequests:
		b.WriteString(": rate limit exceeded")
		if e.RetryAfter > 0 {
			fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
		}
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// Client talks to one InSales shop. It is safe for concurrent use.
type Client struct {
	cfg   Config
	base  *url.URL
	log   *slog.Logger
	clock Clock
	lim   *limiter
	rc    *retryablehttp.Client // GETs: retried
	hc    *http.Client          // writes: never retried after 5xx

	// serverDate is the Date header of the latest answer (Unix seconds), and
	// anchor the server time at which the latest ChangedOrders scan ended
	// with nothing more to read (Unix seconds; 0: none yet).
	serverDate atomic.Int64
	anchor     atomic.Int64
}

// NewClient checks cfg and makes a client. Errors never contain the password.
func NewClient(cfg Config) (*Client, error) {
	if cfg.Shop == "" {
		return nil, errors.New("insales: shop name is empty")
	}
	if cfg.APIKey == "" {
		return nil, fmt.Errorf("insales: shop %q: insales.api_key is empty", cfg.Shop)
	}
	if cfg.Password == "" {
		return nil, fmt.Errorf("insales: shop %q: insales.password is empty", cfg.Shop)
	}
	u, err := url.Parse(strings.TrimSpace(cfg.BaseURL))
	switch {
	case err != nil:
		return nil, fmt.Errorf("insales: shop %q: insales.url is not a URL", cfg.Shop)
	case u.User != nil:
		return nil, fmt.Errorf("insales: shop %q: insales.url must not contain credentials; use insales.api_key and insales.password", cfg.Shop)
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, fmt.Errorf("insales: shop %q: insales.url %q must start with https://", cfg.Shop, u.Redacted())
	case u.Host == "":
		return nil, fmt.Errorf("insales: shop %q: insales.url %q has no host", cfg.Shop, u.Redacted())
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("insales: shop %q: insales.url %q must not have a query or fragment", cfg.Shop, u.Redacted())
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""

	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	if cfg.PerPage <= 0 {
		cfg.PerPage = DefaultPerPage
	}
	if cfg.MaxPerPage <= 0 {
		cfg.MaxPerPage = DefaultMaxPerPage
	}
	if cfg.MaxPerPage < cfg.PerPage {
		cfg.MaxPerPage = cfg.PerPage
	}
	switch {
	case cfg.Overlap == 0:
		cfg.Overlap = DefaultOverlap
	case cfg.Overlap < 0:
		cfg.Overlap = 0
	}
	if cfg.RateRequests <= 0 {
		cfg.RateRequests = DefaultRateRequests
	}
	if cfg.RateWindow <= 0 {
		cfg.RateWindow = DefaultRateWindow
	}
	if cfg.MaxRetryAfter <= 0 {
		cfg.MaxRetryAfter = DefaultMaxRetryAfter
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
	if cfg.RetryWaitMax < cfg.RetryWaitMin {
		cfg.RetryWaitMax = cfg.RetryWaitMin
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = systemClock{}
	}
	base := cfg.HTTPClient
	if base == nil {
		base = &http.Client{Timeout: DefaultTimeout}
	}

	c := &Client{
		cfg:   cfg,
		base:  u,
		log:   cfg.Logger.With(slog.String("shop", cfg.Shop)),
		clock: cfg.Clock,
		lim:   newLimiter(cfg.Clock, cfg.RateRequests, cfg.RateWindow),
	}
	// Every attempt, retried or not, passes the limiter and reports usage.
	hc := *base
	inner := hc.Transport
	if inner == nil {
		inner = http.DefaultTransport
	}
	hc.Transport = &meteredTransport{c: c, next: inner}
	c.hc = &hc
	c.rc = &retryablehttp.Client{
		HTTPClient:   c.hc,
		Logger:       nil,
		RetryWaitMin: cfg.RetryWaitMin,
		RetryWaitMax: cfg.RetryWaitMax,
		RetryMax:     cfg.RetryMax,
		CheckRetry:   c.checkRetry,
		Backoff:      retryablehttp.DefaultBackoff,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
	return c, nil
}

// Shop is the shop name the client was made for.
func (c *Client) Shop() string { return c.cfg.Shop }

// meteredTransport applies the limiter to every attempt, reads
// API-Usage-Limit and reports each attempt to the Observer.
type meteredTransport struct {
	c    *Client
	next http.RoundTripper
}

func (t *meteredTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c := t.c
	if err := c.lim.acquire(req.Context()); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("insales: waiting for the rate limiter: %w", err)
	}
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	c.lim.release()
	status := 0
	if err == nil {
		status = resp.StatusCode
		if d, derr := http.ParseTime(resp.Header.Get("Date")); derr == nil {
			c.serverDate.Store(d.Unix())
		}
		if used, limit, ok := parseUsage(resp.Header.Get("API-Usage-Limit")); ok {
			c.lim.observe(used, limit)
			if c.cfg.Observer != nil {
				c.cfg.Observer.OnUsage(used, limit)
			}
		}
	}
	if c.cfg.Observer != nil {
		c.cfg.Observer.OnRequest(req.Method+" "+endpointTemplate(req.URL.Path, c.base.Path), status, time.Since(start))
	}
	return resp, err
}

// CloseIdleConnections lets retryablehttp and callers drop pooled connections.
func (t *meteredTransport) CloseIdleConnections() {
	if ci, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// endpointTemplate replaces numeric path parts so metrics stay bounded:
// /admin/orders/123.json → /admin/orders/:id.json.
func endpointTemplate(path, prefix string) string {
	path = strings.TrimPrefix(path, prefix)
	parts := strings.Split(path, "/")
	for i, p := range parts {
		num, ext, _ := strings.Cut(p, ".")
		if num != "" && strings.Trim(num, "0123456789") == "" {
			if ext != "" {
				parts[i] = ":id." + ext
			} else {
				parts[i] = ":id"
			}
		}
	}
	return strings.Join(parts, "/")
}

// rateLimited reports whether an answer means "too many requests": 429, or
// 503 as older servers sent it (with Retry-After or with a full usage count).
func rateLimited(resp *http.Response) bool {
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		return true
	case http.StatusServiceUnavailable:
		if resp.Header.Get("Retry-After") != "" {
			return true
		}
		used, limit, ok := parseUsage(resp.Header.Get("API-Usage-Limit"))
		return ok && used >= limit
	}
	return false
}

// checkRetry is the retry policy for GETs: transport errors and 5xx are
// retried; rate limiting is handled by do, other 4xx never.
func (c *Client) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		return retryablehttp.DefaultRetryPolicy(ctx, nil, err)
	}
	if rateLimited(resp) {
		return false, nil
	}
	return resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented, nil
}

// do performs one API call and returns the body of a 2xx answer. GETs are
// retried on transport errors and 5xx; 429 (and rate-limiting 503) are waited
// out for every method, as the server did not process those requests.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body []byte) ([]byte, error) {
	endpoint := method + " " + path
	u := *c.base
	u.Path = c.base.Path + path
	u.RawQuery = query.Encode()
	for waits := 0; ; waits++ {
		resp, err := c.send(ctx, method, u.String(), body)
		if err != nil {
			return nil, fmt.Errorf("insales: shop %q: %s: %w", c.cfg.Shop, endpoint, err)
		}
		data, readErr := c.readBody(resp)
		if readErr != nil {
			return nil, fmt.Errorf("insales: shop %q: %s: %w", c.cfg.Shop, endpoint, readErr)
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return data, nil
		}
		apiErr := &APIError{Shop: c.cfg.Shop, Endpoint: endpoint, Status: resp.StatusCode, Message: serverMessage(data)}
		if !rateLimited(resp) {
			return nil, apiErr
		}
		wait, ok := parseRetryAfter(resp.Header.Get("Retry-After"), c.clock.Now())
		if ok {
			apiErr.RetryAfter = wait
		} else {
			wait = c.cfg.RateWindow // the window can have reset by then
		}
		if wait > c.cfg.MaxRetryAfter {
			wait = c.cfg.MaxRetryAfter
		}
		if waits >= maxRateLimitWaits {
			return nil, apiErr
		}
		c.log.LogAttrs(ctx, slog.LevelWarn, "insales: rate limited; waiting",
			slog.String("endpoint", endpoint), slog.Int("status", resp.StatusCode), slog.Duration("wait", wait))
		if c.cfg.Observer != nil {
			c.cfg.Observer.OnRateLimited(wait)
		}
		c.lim.pauseUntil(c.clock.Now().Add(wait))
		if err := c.clock.Sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("insales: shop %q: %s: waiting after HTTP %d: %w", c.cfg.Shop, endpoint, resp.StatusCode, err)
		}
	}
}

func (c *Client) send(ctx context.Context, method, target string, body []byte) (*http.Response, error) {
	if method == http.MethodGet {
		req, err := retryablehttp.NewRequestWithContext(ctx, method, target, nil)
		if err != nil {
			return nil, err
		}
		c.authorize(req.Request, false)
		return c.rc.Do(req)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	c.authorize(req, true)
	return c.hc.Do(req)
}

func (c *Client) authorize(req *http.Request, hasBody bool) {
	req.SetBasicAuth(c.cfg.APIKey, c.cfg.Password)
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	req.Header.Set("Accept", "application/json")
	if hasBody {
		req.Header.Set("Content-Type", "application/json")
	}
}

// readBody reads at most MaxBodyBytes; a longer answer is an error.
func (c *Client) readBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.cfg.MaxBodyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the answer (HTTP %d): %w", resp.StatusCode, err)
	}
	if int64(len(data)) > c.cfg.MaxBodyBytes {
		return nil, fmt.Errorf("the answer (HTTP %d) is larger than %d bytes", resp.StatusCode, c.cfg.MaxBodyBytes)
	}
	return data, nil
}

// serverMessage extracts InSales' error text: {"message": "..."},
// {"errors": ...} or a short plain body.
func serverMessage(data []byte) string {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return ""
	}
	var m struct {
		Message jsonText `json:"message"`
		Error   jsonText `json:"error"`
		Errors  jsonText `json:"errors"`
	}
	if data[0] == '{' && json.Unmarshal(data, &m) == nil {
		var parts []string
		for _, t := range []jsonText{m.Message, m.Error, m.Errors} {
			if t.set && t.s != "" {
				parts = append(parts, t.s)
			}
		}
		if len(parts) > 0 {
			return clipMessage(strings.Join(parts, "; "))
		}
	}
	if data[0] == '<' {
		return "" // an HTML error page says nothing useful
	}
	return clipMessage(string(data))
}

// clipMessage makes outside text safe for one log line or error: valid UTF-8,
// no control characters, at most a few hundred bytes.
func clipMessage(s string) string {
	const max = 500
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
