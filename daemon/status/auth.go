package status

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// requireAuth lets a request through when no token is configured, when it
// is /healthz or the login form's POST, or when it carries the token or a
// valid session cookie. Otherwise the page's paths get the login form and
// everything else a 401 with a Bearer challenge.
func (s *server) requireAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.token == "" || r.URL.Path == "/healthz" || (r.URL.Path == "/login" && r.Method == http.MethodPost) {
			next.ServeHTTP(w, r)
			return
		}
		switch s.authenticate(r) {
		case authOK:
			next.ServeHTTP(w, r)
			return
		case authWrong:
			s.log.Warn("request with a wrong token refused", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
		}
		if isPagePath(r.URL.Path) {
			s.renderLogin(w, http.StatusUnauthorized, "")
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="chekd"`)
		s.writeError(w, http.StatusUnauthorized, "status: authentication required: send Authorization: Bearer <http.token>")
	})
}

// isPagePath reports whether a path belongs to the HTML page rather than to
// the API, so an unauthenticated browser gets the login form.
func isPagePath(p string) bool {
	return p == "/" || p == "/logout" || strings.HasPrefix(p, "/receipts/")
}

type authResult int

const (
	authNone  authResult = iota // no credentials
	authWrong                   // credentials that do not match
	authOK
)

func (s *server) authenticate(r *http.Request) authResult {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") && s.tokenMatches(strings.TrimSpace(tok)) {
			return authOK
		}
		return authWrong
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		if s.sessionValid(c.Value) {
			return authOK
		}
		return authWrong
	}
	return authNone
}

// tokenMatches compares in constant time; hashing first makes the time
// independent of the lengths too.
func (s *server) tokenMatches(got string) bool {
	a := sha256.Sum256([]byte(got))
	b := sha256.Sum256([]byte(s.token))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// sessionValue is "EXPIRY.MAC": the Unix expiry and an HMAC-SHA256 of it,
// keyed by the token and this process's salt. It proves the login without
// holding the token, and every session ends when the token changes or
// chekd restarts.
func (s *server) sessionValue(expiry int64) string {
	return strconv.FormatInt(expiry, 10) + "." + hex.EncodeToString(s.sessionMAC(expiry))
}

func (s *server) sessionMAC(expiry int64) []byte {
	m := hmac.New(sha256.New, []byte(s.token))
	m.Write(s.salt)
	m.Write([]byte("chekd status session\x00"))
	m.Write(binary.BigEndian.AppendUint64(nil, uint64(expiry)))
	return m.Sum(nil)
}

// sessionValid checks a cookie value from a browser.
func (s *server) sessionValid(v string) bool {
	exp, mac, ok := strings.Cut(v, ".")
	if !ok || len(exp) == 0 || len(exp) > 19 || len(mac) != 2*sha256.Size {
		return false
	}
	expiry, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || strconv.FormatInt(expiry, 10) != exp || expiry <= s.now().Unix() {
		return false
	}
	got, err := hex.DecodeString(mac)
	if err != nil {
		return false
	}
	return hmac.Equal(got, s.sessionMAC(expiry))
}

func (s *server) setSession(w http.ResponseWriter, r *http.Request) {
	expiry := s.now().Add(sessionTTL)
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    s.sessionValue(expiry.Unix()),
		Path:     "/",
		Expires:  expiry,
		MaxAge:   int(sessionTTL / time.Second),
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
}

// maxFormBytes bounds the page's form posts.
const maxFormBytes = 8 << 10

// login is the page's login form's POST: a right token sets the session
// cookie and goes back to the page.
func (s *server) login(w http.ResponseWriter, r *http.Request) {
	if s.token == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		s.renderLogin(w, http.StatusBadRequest, "Не удалось прочитать форму.")
		return
	}
	if !s.tokenMatches(r.PostForm.Get("token")) {
		s.log.Warn("login with a wrong token", "remote", r.RemoteAddr)
		s.renderLogin(w, http.StatusUnauthorized, "Неверный токен.")
		return
	}
	s.log.Info("login to the status page", "remote", r.RemoteAddr)
	s.setSession(w, r)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *server) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode,
	})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
