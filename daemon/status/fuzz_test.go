package status

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzParseQuery: any URL query gives a filter or an error, never a panic;
// a filter survives the trip through the links the page makes from it.
func FuzzParseQuery(f *testing.F) {
	for _, seed := range []string{
		"", "shop=alpha&state=failed", "order=1001&kind=refund&limit=10&before=99",
		"limit=5000", "limit=-1", "before=18446744073709551615", "before=18446744073709551616",
		"state=done", "order=%00", "shop=%E2%80%AE", "order=+1001+", "limit=1e3", "%zz",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := parseQuery(v)
		if err != nil {
			if !strings.Contains(err.Error(), "bad query") {
				t.Fatalf("error %q does not say it is a bad query", err)
			}
			return
		}
		if q.Limit < 1 || q.Limit > maxLimit {
			t.Fatalf("limit %d", q.Limit)
		}
		if q.State != "" && !q.State.Valid() {
			t.Fatalf("state %q let through", q.State)
		}
		again, err := parseQuery(q.values())
		if err != nil || again != q {
			t.Fatalf("round trip: %+v → %+v (%v)", q, again, err)
		}
	})
}

// FuzzSessionValue: a cookie value is accepted only if it is exactly what
// the server made for an unexpired time.
func FuzzSessionValue(f *testing.F) {
	now := time.Date(2024, 1, 15, 12, 0, 0, 0, time.UTC)
	s := newServer(nil, Options{Token: testToken})
	s.now = func() time.Time { return now }
	good := s.sessionValue(now.Add(time.Hour).Unix())
	for _, seed := range []string{good, "", ".", "1.", "9223372036854775807." + strings.Repeat("0", 64),
		"-1." + strings.Repeat("a", 64), good[:len(good)-1] + "x", "+1705323600." + strings.Repeat("f", 64), testToken} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		ok := s.sessionValid(v)
		if !ok {
			return
		}
		exp, _, _ := strings.Cut(v, ".")
		e, err := strconv.ParseInt(exp, 10, 64)
		if err == nil && v == s.sessionValue(e) && e > now.Unix() {
			return
		}
		t.Fatalf("forged session %q accepted (expiry %s)", v, exp)
	})
}

// FuzzCheckURL: QR text from a register becomes a link to the check
// service or no link, never anything else.
func FuzzCheckURL(f *testing.F) {
	for _, seed := range []string{
		"t=20170715T1438&s=1250.00&fn=9999078900004792&i=31&fp=2882396480&n=1", "",
		`"><script>alert(1)</script>`, "javascript:alert(1)", "t=1\n2", "t=1#frag", "a/../b",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, qr string) {
		u := checkURL(qr)
		if u == "" {
			return
		}
		if u != checkBaseURL+qr {
			t.Fatalf("link %q", u)
		}
		if strings.ContainsAny(qr, "\"'<> #/\\?\n\r\t%") {
			t.Fatalf("QR %q let into a link", qr)
		}
		p, err := url.Parse(u)
		if err != nil || p.Scheme != "https" || p.Host != "proverkacheka.nalog.ru" {
			t.Fatalf("link %q parses to %v (%v)", u, p, err)
		}
	})
}

// FuzzHostPolicy: a loopback listen lets through only loopback names.
func FuzzHostPolicy(f *testing.F) {
	for _, seed := range []string{"localhost:8080", "127.0.0.1:8080", "[::1]:8080", "evil.example:8080",
		"localhost", "[::1]", "LocalHost:8080", "127.0.0.1:08080", "[localhost]:8080", ":8080", "", "[", "::1"} {
		f.Add(seed)
	}
	p := newHostPolicy("127.0.0.1:8080")
	f.Fuzz(func(t *testing.T, host string) {
		if !p.allows(host) {
			return
		}
		h := strings.ToLower(host)
		for _, ok := range []string{"localhost:8080", "127.0.0.1:8080", "[::1]:8080"} {
			if h == ok {
				return
			}
		}
		t.Fatalf("Host %q let through", host)
	})
}
