package backoff

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// ErrNoTime means the next wait would end past the deadline (minus the
// safety margin): the caller must give up now and leave the work to a later
// retry (SQS redelivery, Lambda's async retry).
var ErrNoTime = errors.New("no time left before the deadline")

// Policy is a retry schedule. The zero value is not useful; see Default.
type Policy struct {
	// Base is the first wait's upper bound; each attempt doubles it.
	Base time.Duration
	// Max caps any single wait, including a server's Retry-After.
	Max time.Duration
	// Margin is kept free before the context's deadline.
	Margin time.Duration
	// Rand returns a value in [0, 1); nil uses math/rand/v2.
	Rand func() float64
}

// Default is the policy used against AWS APIs and the node.
var Default = Policy{Base: 100 * time.Millisecond, Max: 5 * time.Second, Margin: 2 * time.Second}

// Delay returns the wait before retry number attempt (0 for the first
// retry): a uniformly random duration in [0, min(Max, Base·2^attempt)).
func (p Policy) Delay(attempt int) time.Duration {
	ceiling := p.Base
	for i := 0; i < attempt && ceiling < p.Max; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, p.Max)
	r := rand.Float64
	if p.Rand != nil {
		r = p.Rand
	}
	return time.Duration(r() * float64(ceiling))
}

// Wait sleeps for d, capped at Max. It returns ErrNoTime without sleeping
// when ctx's deadline minus Margin would pass first, and ctx.Err() if ctx
// ends during the wait.
func (p Policy) Wait(ctx context.Context, d time.Duration) error {
	if p.Max > 0 {
		d = min(d, p.Max)
	}
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline)-p.Margin < d {
		return ErrNoTime
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

// Remaining reports how long the caller may keep working: the time to ctx's
// deadline minus Margin, or ok=false when ctx has no deadline.
func (p Policy) Remaining(ctx context.Context) (d time.Duration, ok bool) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return 0, false
	}
	return time.Until(deadline) - p.Margin, true
}
