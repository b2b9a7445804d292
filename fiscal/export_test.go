package fiscal

import (
	"context"
	"time"
)

// UseClock replaces the clock the rate limiter reads and sleeps on.
func UseClock(c *Client, now func() time.Time, sleep func(ctx context.Context, d time.Duration) error) {
	c.tr.clk = funcClock{now: now, sleep: sleep}
}

type funcClock struct {
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

func (f funcClock) Now() time.Time                                   { return f.now() }
func (f funcClock) Sleep(ctx context.Context, d time.Duration) error { return f.sleep(ctx, d) }
