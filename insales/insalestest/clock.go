package insalestest

import (
	"context"
	"sync"
	"time"
)

// Clock is a fake time source shared by a fake shop and the client under
// test. Sleep does not block: it moves the time forward by the requested
// duration, so waits of minutes (rate-limit windows, Retry-After) take no real
// time and tests stay fast and deterministic.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock makes a clock that starts at start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now is the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Sleep advances the clock by d unless ctx is already done.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.Advance(d)
	return nil
}

// Advance moves the clock forward by d (never backwards).
func (c *Clock) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}
