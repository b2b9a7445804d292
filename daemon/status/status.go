package status

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/chekd/chekd/daemon"
	"github.com/chekd/chekd/daemon/config"
	"github.com/chekd/chekd/store"
)

// Backend is what the status endpoint reads and acts on; *daemon.Daemon
// implements it.
type Backend interface {
	Store() *store.DB
	Shops() []daemon.ShopStatus
	Healthy() error
	Retry(ctx context.Context, id uint64) (store.Receipt, error)
	Metrics() *daemon.Metrics
}

// Options configure the handler.
type Options struct {
	// Token, when set, is required on every path but /healthz.
	Token string
	// Listen is the configured listen address; for a loopback one the Host
	// header is checked against it. Empty means config.DefaultListen.
	Listen string
	// Logger receives the endpoint's log lines; nil discards them.
	Logger *slog.Logger
	// Location is the time zone of the times on the page; nil means
	// time.Local. The JSON API always answers in UTC (RFC 3339).
	Location *time.Location
}

// sessionTTL is how long a login through the page's form lasts.
const sessionTTL = 12 * time.Hour

// sessionCookie is the name of the page's session cookie.
const sessionCookie = "chekd_session"

type server struct {
	b     Backend
	log   *slog.Logger
	loc   *time.Location
	token string // empty: no authentication
	salt  []byte // per-process key material for session cookies
	hosts hostPolicy
	tmpl  *template.Template
	now   func() time.Time
}

// New returns the status endpoint's handler.
func New(b Backend, opts Options) http.Handler {
	s := newServer(b, opts)
	return s.handler()
}

func newServer(b Backend, opts Options) *server {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	loc := opts.Location
	if loc == nil {
		loc = time.Local
	}
	listen := opts.Listen
	if listen == "" {
		listen = config.DefaultListen
	}
	salt := make([]byte, 32)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails (it crashes the program instead)
	return &server{
		b:     b,
		log:   log.With("component", "status"),
		loc:   loc,
		token: opts.Token,
		salt:  salt,
		hosts: newHostPolicy(listen),
		tmpl:  parseTemplates(),
		now:   time.Now,
	}
}

func (s *server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /metrics", s.metrics)
	mux.HandleFunc("GET /api/shops", s.apiShops)
	mux.HandleFunc("GET /api/receipts", s.apiReceipts)
	mux.HandleFunc("GET /api/receipts/{id}", s.apiReceipt)
	mux.HandleFunc("POST /api/receipts/{id}/retry", s.apiRetry)
	mux.HandleFunc("GET /api/backup", s.apiBackup)
	mux.HandleFunc("GET /{$}", s.page)
	mux.HandleFunc("POST /receipts/{id}/retry", s.pageRetry)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("POST /logout", s.logout)

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.log.Warn("cross-origin request refused", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
		http.Error(w, "status: cross-origin request refused", http.StatusForbidden)
	}))
	return s.checkHost(securityHeaders(cop.Handler(s.requireAuth(mux))))
}

// securityHeaders marks every answer private, uncached and not to be framed
// or sniffed.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// hostPolicy is the set of Host headers a loopback listen accepts.
type hostPolicy struct {
	check   bool   // false: the listen is not loopback; any Host
	port    string // "" or "0": any port
	display string // for the refusal message
}

func newHostPolicy(listen string) hostPolicy {
	host, port, err := net.SplitHostPort(listen)
	if err != nil || !isLoopback(host) {
		return hostPolicy{}
	}
	p := hostPolicy{check: true, port: port, display: "localhost, 127.0.0.1 or [::1]"}
	if port != "" && port != "0" {
		p.display += " with port " + port
	}
	return p
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// allows reports whether a request's Host header names this endpoint. Only
// the exact spellings a browser sends are accepted.
func (p hostPolicy) allows(hostHeader string) bool {
	if !p.check {
		return true
	}
	h := strings.ToLower(hostHeader)
	name, port := h, "80" // no port: HTTP's default
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.HasSuffix(h, "]") {
		name, port = h[:i], h[i+1:]
	}
	switch name {
	case "localhost", "127.0.0.1", "[::1]":
	default:
		return false
	}
	if p.port == "" || p.port == "0" {
		return port != "" && strings.Trim(port, "0123456789") == ""
	}
	return port == p.port
}

// checkHost refuses requests for another host name on a loopback listen:
// a page on a hostile site that re-points its own name at 127.0.0.1 (DNS
// rebinding) sends its own name in Host.
func (s *server) checkHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.hosts.allows(r.Host) {
			s.log.Warn("request for another host refused", "path", r.URL.Path, "remote", r.RemoteAddr)
			http.Error(w, "status: this endpoint answers only requests for "+s.hosts.display, http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// writeJSON answers v as indented JSON.
func (s *server) writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		s.log.Error("encode answer", "err", err)
		http.Error(w, "status: internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

type errorJSON struct {
	Error string `json:"error"`
}

func (s *server) writeError(w http.ResponseWriter, code int, msg string) {
	s.writeJSON(w, code, errorJSON{Error: msg})
}
