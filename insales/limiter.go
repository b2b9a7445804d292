package insales

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Clock is the time source of a Client. Tests pass a fake that advances when
// something sleeps; production uses the system clock.
type Clock interface {
	Now() time.Time
	// Sleep waits d or until ctx is done, whichever comes first, and then
	// returns ctx.Err() if ctx is done.
	Sleep(ctx context.Context, d time.Duration) error
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// limiter keeps one shop's request rate under InSales' limit of N requests per
// window W.
//
// Its own guarantee is a sliding log: a request may start only while fewer than
// N requests finished within the last W (requests in flight count too). Times
// are taken when the answer arrives, which is no earlier than when the server
// counted the request, so no window of the server's can hold more than N of
// ours, wherever it starts.
//
// The server's API-Usage-Limit header also counts requests made by others with
// the same key (or by this program before a restart). With R requests left the
// server's window resets within at most W, so once R is small requests are
// spaced W/R apart, which can never exceed what is left.
type limiter struct {
	clock  Clock
	n      int
	window time.Duration

	mu        sync.Mutex
	done      []time.Time // answer times within the window, ascending
	inflight  int
	notBefore time.Time     // no request starts before this (429 or low server budget)
	changed   chan struct{} // closed and replaced whenever a slot frees
}

func newLimiter(clock Clock, n int, window time.Duration) *limiter {
	return &limiter{clock: clock, n: n, window: window, changed: make(chan struct{})}
}

// acquire waits for a slot. The caller must call release once the answer (or
// the failure) is in.
func (l *limiter) acquire(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		l.mu.Lock()
		now := l.clock.Now()
		l.pruneLocked(now)
		var wait time.Duration
		switch {
		case now.Before(l.notBefore):
			wait = l.notBefore.Sub(now)
		case len(l.done)+l.inflight < l.n:
			l.inflight++
			l.mu.Unlock()
			return nil
		case len(l.done) > 0:
			wait = l.done[0].Add(l.window).Sub(now)
		}
		changed := l.changed
		l.mu.Unlock()
		if wait > 0 {
			if err := l.clock.Sleep(ctx, wait); err != nil {
				return err
			}
			continue
		}
		// Every slot is in flight: wait until one finishes.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}

// release records that a request acquired earlier has finished.
func (l *limiter) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	l.inflight--
	// Answers mostly arrive in order; keep the log sorted regardless.
	i := sort.Search(len(l.done), func(i int) bool { return l.done[i].After(now) })
	l.done = append(l.done, time.Time{})
	copy(l.done[i+1:], l.done[i:])
	l.done[i] = now
	close(l.changed)
	l.changed = make(chan struct{})
}

func (l *limiter) pruneLocked(now time.Time) {
	cut := now.Add(-l.window)
	i := 0
	for i < len(l.done) && !l.done[i].After(cut) {
		i++
	}
	if i > 0 {
		l.done = append(l.done[:0], l.done[i:]...)
	}
}

// pauseUntil stops every request from starting before t.
func (l *limiter) pauseUntil(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.After(l.notBefore) {
		l.notBefore = t
	}
}

// observe takes the server's count from API-Usage-Limit: used of limit.
func (l *limiter) observe(used, limit int) {
	if limit <= 0 {
		return
	}
	left := limit - used
	slowFrom := limit / 10
	if slowFrom < 2 {
		slowFrom = 2
	}
	if left > slowFrom {
		return
	}
	if left < 1 {
		left = 1 // nothing left: wait a whole window
	}
	l.pauseUntil(l.clock.Now().Add(l.window / time.Duration(left)))
}

// parseUsage parses "USED/LIMIT".
func parseUsage(h string) (used, limit int, ok bool) {
	a, b, found := strings.Cut(strings.TrimSpace(h), "/")
	if !found {
		return 0, 0, false
	}
	u, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || u < 0 || n <= 0 {
		return 0, 0, false
	}
	return u, n, true
}

// parseRetryAfter parses Retry-After as seconds or an HTTP date.
func parseRetryAfter(h string, now time.Time) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(h, 10, 64); err == nil {
		if s < 0 {
			return 0, false
		}
		if s > int64(24*time.Hour/time.Second) {
			s = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(s) * time.Second, true
	}
	if t, err := time.Parse(time.RFC1123, h); err == nil {
		// A date is capped like a number of seconds: a far-off one (a
		// misconfigured server clock) must not stop the shop for years.
		return min(max(t.Sub(now), 0), 24*time.Hour), true
	}
	return 0, false
}
