package insales

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// stepClock is a clock whose Sleep advances time instead of blocking.
type stepClock struct {
	mu    sync.Mutex
	now   time.Time
	slept time.Duration
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.slept += d
	c.mu.Unlock()
	return nil
}

func TestLimiterSlidingWindow(t *testing.T) {
	t.Parallel()
	clk := &stepClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := newLimiter(clk, 5, time.Minute)
	ctx := context.Background()
	var starts []time.Time
	for i := 0; i < 12; i++ {
		if err := l.acquire(ctx); err != nil {
			t.Fatal(err)
		}
		starts = append(starts, clk.Now())
		l.release()
	}
	// No minute may hold more than 5 starts.
	for i := 5; i < len(starts); i++ {
		if d := starts[i].Sub(starts[i-5]); d < time.Minute {
			t.Fatalf("requests %d and %d only %s apart", i-5, i, d)
		}
	}
	if clk.slept != 2*time.Minute {
		t.Errorf("slept %s, want exactly 2m (two full windows)", clk.slept)
	}
}

func TestLimiterServerUsage(t *testing.T) {
	t.Parallel()
	clk := &stepClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := newLimiter(clk, 500, 300*time.Second)
	ctx := context.Background()

	l.observe(10, 500) // plenty left: no slowdown
	if err := l.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	l.release()
	if clk.slept != 0 {
		t.Fatalf("slept %s with plenty of budget left", clk.slept)
	}

	l.observe(490, 500) // 10 left: space requests W/10 apart
	if err := l.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	l.release()
	if clk.slept != 30*time.Second {
		t.Fatalf("slept %s, want 30s (300s / 10 left)", clk.slept)
	}

	l.observe(500, 500) // nothing left: a whole window
	if err := l.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	l.release()
	if clk.slept != 330*time.Second {
		t.Fatalf("slept %s, want 330s", clk.slept)
	}
}

func TestLimiterCancelled(t *testing.T) {
	t.Parallel()
	l := newLimiter(systemClock{}, 1, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	if err := l.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	// The only slot is in flight: a second acquire waits until cancelled.
	done := make(chan error, 1)
	go func() { done <- l.acquire(ctx) }()
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("acquire = %v, want context.Canceled", err)
	}
}

func TestParseHeaders(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		in          string
		used, limit int
		ok          bool
	}{
		{"2/500", 2, 500, true}, {" 499 / 500 ", 499, 500, true}, {"500", 0, 0, false}, {"a/500", 0, 0, false}, {"1/0", 0, 0, false}, {"", 0, 0, false},
	} {
		u, l, ok := parseUsage(tt.in)
		if u != tt.used || l != tt.limit || ok != tt.ok {
			t.Errorf("parseUsage(%q) = %d, %d, %v", tt.in, u, l, ok)
		}
	}
	for _, tt := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30", 30 * time.Second, true}, {"0", 0, true}, {"-5", 0, false}, {"", 0, false}, {"soon", 0, false},
		{"Thu, 01 Jan 2026 00:01:00 GMT", time.Minute, true}, {"99999999999", 24 * time.Hour, true},
	} {
		d, ok := parseRetryAfter(tt.in, now)
		if d != tt.want || ok != tt.ok {
			t.Errorf("parseRetryAfter(%q) = %s, %v", tt.in, d, ok)
		}
	}
}

func TestEndpointTemplate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ path, prefix, want string }{
		{"/admin/orders.json", "", "/admin/orders.json"},
		{"/admin/orders/123.json", "", "/admin/orders/:id.json"},
		{"/shop/admin/orders/9.json", "/shop", "/admin/orders/:id.json"},
		{"/shop/admin/account.json", "/shop", "/admin/account.json"},
	} {
		if got := endpointTemplate(tt.path, tt.prefix); got != tt.want {
			t.Errorf("endpointTemplate(%q, %q) = %q, want %q", tt.path, tt.prefix, got, tt.want)
		}
	}
}

func TestServerMessage(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`{"status":"error","message":"Forbidden for this app"}`: "Forbidden for this app",
		`{"errors":{"fields_values":["is invalid"]}}`:           `{"fields_values":["is invalid"]}`,
		"plain\ntext":                    "plain text",
		"<html><body>oops</body></html>": "",
		"":                               "",
	} {
		if got := serverMessage([]byte(in)); got != want {
			t.Errorf("serverMessage(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzAnswerParts feeds arbitrary text to the parsers of answer headers,
// error bodies and timestamps: no panics, and sane results.
func FuzzAnswerParts(f *testing.F) {
	for _, s := range []string{"2/500", "500/500", "30", "Thu, 01 Jan 2026 00:01:00 GMT", `{"message":"x"}`, `{"errors":{"a":[1]}}`,
		"2025-01-15T15:13:19.000+03:00", "2010-08-19 10:26:16 +0400", "\xff\xfe", "<html>"} {
		f.Add(s)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		if used, limit, ok := parseUsage(s); ok && (used < 0 || limit <= 0) {
			t.Fatalf("parseUsage(%q) = %d/%d", s, used, limit)
		}
		if d, ok := parseRetryAfter(s, now); ok && (d < 0 || d > 24*time.Hour) {
			t.Fatalf("parseRetryAfter(%q) = %s", s, d)
		}
		m := serverMessage([]byte(s))
		if !utf8.ValidString(m) || len(m) > 520 || strings.ContainsAny(m, "\n\r\x00") {
			t.Fatalf("serverMessage(%q) = %q", s, m)
		}
		if tm, err := ParseTime(s); err == nil {
			// What parses must survive being written as a cursor and read back.
			back, err := ParseTime(tm.Format("2006-01-02T15:04:05.999999999-07:00"))
			if err != nil || !back.Equal(tm) {
				t.Fatalf("ParseTime(%q) = %v; written back it reads %v, %v", s, tm, back, err)
			}
		}
	})
}
