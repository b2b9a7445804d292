package status

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chekd/chekd/store"
)

// Every path but /healthz needs the token: none → 401, wrong → 401,
// right → the answer.
func TestAuth(t *testing.T) {
	t.Parallel()
	s := startServer(t, newBackend(t), testToken)
	paths := []struct {
		method, path string
		ok           int
		page         bool // unauthenticated, the login form
	}{
		{"GET", "/", 200, true},
		{"GET", "/?state=failed", 200, true},
		{"GET", "/api/shops", 200, false},
		{"GET", "/api/receipts", 200, false},
		{"GET", "/api/receipts/1", 200, false},
		{"GET", "/api/backup", 200, false},
		{"GET", "/metrics", 200, false},
		{"POST", "/api/receipts/2/retry", 200, false},
		{"POST", "/receipts/2/retry", http.StatusSeeOther, true},
		{"POST", "/logout", http.StatusSeeOther, true},
		{"GET", "/nosuch", 404, false},
	}
	for _, p := range paths {
		for _, c := range []struct {
			name, token string
		}{{"no token", ""}, {"wrong token", "tok-9f2c41d7e8a6b3c5d0e2"}, {"token prefix", testToken[:10]}} {
			a := s.do(t, p.method, p.path, c.token, nil, nil)
			if a.code != http.StatusUnauthorized {
				t.Errorf("%s %s with %s: %d, want 401", p.method, p.path, c.name, a.code)
				continue
			}
			if p.page {
				if !strings.Contains(a.body, `<form class="login" method="post" action="/login">`) {
					t.Errorf("%s %s with %s: no login form:\n%s", p.method, p.path, c.name, a.body)
				}
			} else if a.header.Get("WWW-Authenticate") != `Bearer realm="chekd"` {
				t.Errorf("%s %s with %s: WWW-Authenticate %q", p.method, p.path, c.name, a.header.Get("WWW-Authenticate"))
			}
		}
		if a := s.do(t, p.method, p.path, testToken, nil, nil); a.code != p.ok {
			t.Errorf("%s %s with the token: %d, want %d: %.200s", p.method, p.path, a.code, p.ok, a.body)
		}
	}
	// The scheme is case-insensitive; a Basic header is not a token.
	a := s.do(t, "GET", "/api/shops", "", nil, map[string]string{"Authorization": "bearer " + testToken})
	if a.code != http.StatusOK {
		t.Errorf("lower-case bearer: %d", a.code)
	}
	a = s.do(t, "GET", "/api/shops", "", nil, map[string]string{"Authorization": "Basic " + testToken})
	if a.code != http.StatusUnauthorized {
		t.Errorf("Basic: %d", a.code)
	}
	if !strings.Contains(s.logs.String(), "request with a wrong token refused") {
		t.Errorf("wrong tokens are not logged:\n%s", s.logs.String())
	}
}

// Without a token every path is open (the config allows that only on a
// loopback listen).
func TestNoTokenConfigured(t *testing.T) {
	t.Parallel()
	s := startServer(t, newBackend(t), "")
	for _, p := range []string{"/", "/api/shops", "/api/receipts", "/metrics"} {
		if a := s.get(t, p, ""); a.code != http.StatusOK {
			t.Errorf("%s: %d", p, a.code)
		}
	}
	if a := s.do(t, "POST", "/login", "", form("token", "x"), nil); a.code != http.StatusSeeOther {
		t.Errorf("login without a configured token: %d", a.code)
	}
	if a := s.get(t, "/", ""); strings.Contains(a.body, `action="/logout"`) {
		t.Error("logout button shown without a token")
	}
}

func sessionOf(t *testing.T, a answer) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: a.header}).Cookies() {
		if c.Name == sessionCookie {
			return c
		}
	}
	t.Fatalf("no session cookie in %v", a.header)
	return nil
}

func TestLoginForm(t *testing.T) {
	t.Parallel()
	s := startServer(t, newBackend(t), testToken)

	a := s.do(t, "POST", "/login", "", form("token", "wrong-token-1234567"), nil)
	if a.code != http.StatusUnauthorized || !strings.Contains(a.body, "Неверный токен.") || a.header.Get("Set-Cookie") != "" {
		t.Fatalf("wrong token: %d %q\n%s", a.code, a.header.Get("Set-Cookie"), a.body)
	}
	a = s.do(t, "POST", "/login", "", form("token", testToken), nil)
	if a.code != http.StatusSeeOther || a.header.Get("Location") != "/" {
		t.Fatalf("right token: %d %q", a.code, a.header.Get("Location"))
	}
	c := sessionOf(t, a)
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.MaxAge != 12*3600 {
		t.Errorf("cookie attributes: %+v", c)
	}
	if strings.Contains(c.Value, testToken) {
		t.Fatal("the cookie holds the token")
	}
	withCookie := func(v string) map[string]string { return map[string]string{"Cookie": sessionCookie + "=" + v} }

	a = s.do(t, "GET", "/", "", nil, withCookie(c.Value))
	if a.code != http.StatusOK || !strings.Contains(a.body, `<tr id="r-9"`) || !strings.Contains(a.body, `action="/logout"`) {
		t.Fatalf("page with the cookie: %d\n%.300s", a.code, a.body)
	}
	if a := s.do(t, "GET", "/api/receipts/1", "", nil, withCookie(c.Value)); a.code != http.StatusOK {
		t.Errorf("API with the cookie: %d", a.code)
	}

	exp, mac, _ := strings.Cut(c.Value, ".")
	n, _ := strconv.ParseInt(exp, 10, 64)
	flipped := []byte(mac)
	flipped[0] ^= 1
	for name, v := range map[string]string{
		"forged expiry": strconv.FormatInt(n+3600, 10) + "." + mac,
		"forged mac":    exp + "." + string(flipped),
		"no mac":        exp,
		"the token":     testToken,
		"empty":         "",
		"short mac":     exp + "." + mac[:10],
	} {
		if a := s.do(t, "GET", "/", "", nil, withCookie(v)); a.code != http.StatusUnauthorized {
			t.Errorf("%s: %d", name, a.code)
		}
	}

	// Logout clears the cookie.
	a = s.do(t, "POST", "/logout", "", nil, withCookie(c.Value))
	if a.code != http.StatusSeeOther {
		t.Fatalf("logout: %d", a.code)
	}
	if out := sessionOf(t, a); out.Value != "" || out.MaxAge >= 0 {
		t.Errorf("logout cookie: %+v", out)
	}
}

// A session ends at its expiry and with the token: the cookie is checked
// against the server's clock and key.
func TestSessionExpiry(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 1, 15, 12, 0, 0, 0, time.UTC)
	s := newServer(nil, Options{Token: testToken})
	s.now = func() time.Time { return now }
	v := s.sessionValue(now.Add(sessionTTL).Unix())
	if !s.sessionValid(v) {
		t.Fatal("fresh session refused")
	}
	now = now.Add(sessionTTL - time.Second)
	if !s.sessionValid(v) {
		t.Fatal("session refused before its expiry")
	}
	now = now.Add(time.Second)
	if s.sessionValid(v) {
		t.Fatal("session accepted at its expiry")
	}
	other := newServer(nil, Options{Token: testToken + "x"})
	other.now = s.now
	if other.sessionValid(s.sessionValue(now.Add(time.Hour).Unix())) {
		t.Fatal("session accepted under another token")
	}
	restarted := newServer(nil, Options{Token: testToken})
	restarted.now = s.now
	if restarted.sessionValid(s.sessionValue(now.Add(time.Hour).Unix())) {
		t.Fatal("session accepted after a restart")
	}
}

// State-changing requests from another origin are refused, with or without
// credentials, and change nothing.
func TestCrossOriginPost(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	s := startServer(t, b, testToken)
	login := s.do(t, "POST", "/login", "", form("token", testToken), nil)
	cookie := sessionCookie + "=" + sessionOf(t, login).Value

	for _, hdr := range []map[string]string{
		{"Sec-Fetch-Site": "cross-site", "Cookie": cookie},
		{"Sec-Fetch-Site": "same-site", "Cookie": cookie},
		{"Origin": "http://evil.example", "Cookie": cookie},
		{"Origin": "http://evil.example"},
	} {
		for _, path := range []string{"/receipts/3/retry", "/api/receipts/3/retry", "/login", "/logout"} {
			body := form("token", testToken)
			a := s.do(t, "POST", path, "", body, hdr)
			if a.code != http.StatusForbidden || !strings.Contains(a.body, "cross-origin request refused") {
				t.Errorf("POST %s with %v: %d %s", path, hdr, a.code, a.body)
			}
		}
	}
	if n := len(b.retries()); n != 0 {
		t.Fatalf("%d cross-origin retries reached the backend", n)
	}
	if rec, _ := b.db.GetByID(3); rec.State != store.StateFailed {
		t.Fatalf("receipt 3 is %s after refused retries", rec.State)
	}
	// The same origin passes.
	a := s.do(t, "POST", "/receipts/3/retry", "", form("back", ""), map[string]string{
		"Sec-Fetch-Site": "same-origin", "Origin": s.URL, "Cookie": cookie,
	})
	if a.code != http.StatusSeeOther {
		t.Fatalf("same-origin retry: %d %s", a.code, a.body)
	}
	// A cross-site GET (a link) still shows the page.
	if a := s.do(t, "GET", "/", "", nil, map[string]string{"Sec-Fetch-Site": "cross-site", "Cookie": cookie}); a.code != http.StatusOK {
		t.Errorf("cross-site GET: %d", a.code)
	}
}

func TestHostCheck(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	s := startServer(t, b, "")
	_, port, _ := strings.Cut(strings.TrimPrefix(s.URL, "http://"), ":")
	for host, ok := range map[string]bool{
		"127.0.0.1:" + port:          true,
		"localhost:" + port:          true,
		"LOCALHOST:" + port:          true,
		"[::1]:" + port:              true,
		"evil.example:" + port:       false,
		"evil.example":               false,
		"127.0.0.1:1":                false,
		"localhost":                  false, // port 80 is not the listen port
		"127.0.0.2:" + port:          false,
		"localhost.evil.com:" + port: false,
	} {
		for _, path := range []string{"/healthz", "/", "/api/receipts"} {
			a := s.do(t, "GET", path, "", nil, map[string]string{"Host": host})
			if ok && a.code != http.StatusOK || !ok && a.code != http.StatusMisdirectedRequest {
				t.Errorf("Host %q %s: %d", host, path, a.code)
			}
		}
	}
}

func TestHostPolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		listen string
		host   string
		ok     bool
	}{
		{"127.0.0.1:8080", "localhost:8080", true},
		{"127.0.0.1:8080", "127.0.0.1:8081", false},
		{"localhost:8080", "[::1]:8080", true},
		{"[::1]:8080", "evil.example:8080", false},
		{"127.0.0.1:80", "localhost", true},
		{"127.0.0.1:80", "[::1]", true},
		{"127.0.0.1:80", "evil.example", false},
		{"127.0.0.1:0", "localhost:41234", true},
		{"127.0.0.1:0", "evil.example:41234", false},
		// Not loopback: the token protects it, any name may reach it.
		{"0.0.0.0:8080", "evil.example:8080", true},
		{":8080", "shop-server.lan:8080", true},
		{"192.168.1.10:8080", "192.168.1.10:8080", true},
	}
	for _, tt := range tests {
		if got := newHostPolicy(tt.listen).allows(tt.host); got != tt.ok {
			t.Errorf("listen %s, Host %q: %v, want %v", tt.listen, tt.host, got, tt.ok)
		}
	}
}

// No secret appears in any answer or log line: not the token, not the
// register request bodies. The backup is the database itself and holds the
// bodies; it must still not hold the token.
func TestNoSecretInAnswers(t *testing.T) {
	t.Parallel()
	b := newBackend(t)
	s := startServer(t, b, testToken)
	login := s.do(t, "POST", "/login", "", form("token", testToken), nil)
	cookie := map[string]string{"Cookie": sessionCookie + "=" + sessionOf(t, login).Value}
	answers := []answer{login,
		s.do(t, "POST", "/login", "", form("token", testToken+"0"), nil),
		s.do(t, "POST", "/login", "", form("token", testToken[:8]), nil),
		s.do(t, "GET", "/", "", nil, cookie),
		s.do(t, "POST", "/receipts/1/retry", "", form("back", "state=printed"), cookie), // refused: the error page
		s.do(t, "POST", "/receipts/3/retry", "", form("back", "state=failed"), cookie),
		s.get(t, "/?state=bogus", testToken),
	}
	b.setHealth(errDummy("store: closed"))
	for _, p := range []string{"/healthz", "/", "/?state=pending", "/?order=1001", "/api/shops", "/api/receipts", "/api/receipts?limit=1000",
		"/api/receipts/1", "/api/receipts/3", "/api/receipts/7", "/metrics", "/api/receipts?state=bogus"} {
		answers = append(answers, s.get(t, p, testToken), s.get(t, p, ""), s.get(t, p, testToken+"x"))
	}
	answers = append(answers, s.do(t, "POST", "/api/receipts/7/retry", testToken, nil, nil), s.do(t, "POST", "/api/receipts/1/retry", testToken, nil, nil))
	for i, a := range answers {
		all := a.body
		for k, v := range a.header {
			all += "\n" + k + ": " + strings.Join(v, ", ")
		}
		if strings.Contains(all, testToken) || strings.Contains(all, bodySecret) {
			t.Errorf("answer %d (%d) holds a secret:\n%s", i, a.code, all)
		}
		for _, contact := range []string{"ivan.petrov@example.com", "+79991234567", "anna@example.org", "+79995550011"} {
			if strings.Contains(all, contact) {
				t.Errorf("answer %d shows the contact %s unmasked", i, contact)
			}
		}
	}
	backup := s.get(t, "/api/backup", testToken)
	if backup.code != http.StatusOK || strings.Contains(backup.body, testToken) {
		t.Errorf("backup: %d, holds the token: %v", backup.code, strings.Contains(backup.body, testToken))
	}
	if logs := s.logs.String(); strings.Contains(logs, testToken) || strings.Contains(logs, bodySecret) || strings.Contains(logs, testToken[:8]) {
		t.Errorf("a log line holds a secret:\n%s", logs)
	}
}

type errDummy string

func (e errDummy) Error() string { return string(e) }
