package client

import (
	"context"
	"math/rand/v2"
	"time"
)

// delay returns the wait before the next connection attempt: the hub's
// reconnection time (or the client's minimum) plus a random share, drawn
// uniformly (full jitter), of a window that doubles with each failure in a
// row, capped so that the wait stays within the client's maximum; and at
// least the Retry-After the hub asked for.
func (s *Subscription) delay(retryAfter time.Duration) time.Duration {
	return backoff(s.retry, s.c.minDelay, s.c.maxDelay, s.failures, retryAfter, rand.Int64N)
}

// backoff computes [Subscription.delay]; randN(n) returns a number in [0, n).
func backoff(retry, minDelay, maxDelay time.Duration, failures int, retryAfter time.Duration, randN func(int64) int64) time.Duration {
	base := minDelay
	if retry > 0 {
		base = retry
	}
	limit := maxDelay - base
	window := limit
	if failures < 62 && base<<failures > 0 && base<<failures < limit {
		window = base << failures
	}
	d := base
	if window > 0 {
		d += time.Duration(randN(int64(window) + 1))
	}
	return max(d, retryAfter)
}

// sleep waits for d or until ctx ends, returning its cause then.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return context.Cause(ctx)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
