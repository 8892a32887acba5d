package webhook

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// outcome is how sending a batch ended.
type outcome int

const (
	delivered outcome = iota // the application acknowledged it
	expired                  // given up after RetryFor: its events are lost
	abandoned                // stopped (shutdown, or lost the cluster's lease) before either
)

// warnEvery is how often at most a failing delivery, or a full queue, is
// logged: an application down for an hour must not fill the logs.
const warnEvery = time.Minute

// sender sends batches to the application, retrying each until it is
// acknowledged or RetryFor has passed, and counts the outcomes. One
// goroutine at a time sends.
type sender struct {
	post     *poster
	log      *slog.Logger
	retryFor time.Duration
	backoff  backoff

	sent, expired, failures atomic.Uint64
	failing                 atomic.Bool

	streak int       // failed requests in a row
	warned time.Time // when the failures were last logged
}

// send delivers body, which carries n events, to the application. Between
// tries it waits with backoff; keep, when not nil, is asked at least
// every keepEvery while it waits whether to go on.
func (s *sender) send(ctx context.Context, body []byte, n int, keep func() bool, keepEvery time.Duration) outcome {
	start := time.Now()
	for attempt := 1; ; attempt++ {
		err := s.post.post(ctx, body, attempt)
		if err == nil {
			s.sent.Add(uint64(n))
			s.recovered()
			return delivered
		}
		if ctx.Err() != nil {
			return abandoned
		}
		s.failed(err, n, attempt)
		left := s.retryFor - time.Since(start)
		if left <= 0 {
			s.expired.Add(uint64(n))
			s.log.Error("webhook events given up: the application did not acknowledge them in time",
				slog.String("url", s.post.shown), slog.Int("events", n), slog.Int("attempts", attempt),
				slog.Duration("retry_for", s.retryFor), slog.Any("err", err))
			return expired
		}
		if !pause(ctx, min(s.backoff.delay(attempt), left), keep, keepEvery) {
			return abandoned
		}
	}
}

// pause waits d, asking keep at least every keepEvery (when keep is not
// nil) whether to go on; it reports whether d passed and keep agreed.
func pause(ctx context.Context, d time.Duration, keep func() bool, keepEvery time.Duration) bool {
	for d > 0 {
		step := d
		if keep != nil {
			step = min(d, keepEvery)
		}
		if !sleep(ctx, step) || keep != nil && !keep() {
			return false
		}
		d -= step
	}
	return true
}

// failed counts a failed request and logs it: the first of a series, then
// once per warnEvery.
func (s *sender) failed(err error, n, attempt int) {
	s.failures.Add(1)
	s.failing.Store(true)
	s.streak++
	if s.streak > 1 && time.Since(s.warned) < warnEvery {
		return
	}
	s.warned = time.Now()
	s.log.Warn("webhook delivery failing; retrying with backoff",
		slog.String("url", s.post.shown), slog.Int("events", n), slog.Int("attempt", attempt),
		slog.Int("failed_requests_in_a_row", s.streak), slog.Duration("retry_for", s.retryFor), slog.Any("err", err))
}

func (s *sender) recovered() {
	if s.streak > 0 {
		s.log.Info("webhook delivery recovered", slog.String("url", s.post.shown), slog.Int("failed_requests", s.streak))
	}
	s.streak = 0
	s.failing.Store(false)
}

// backoff is exponential with jitter: the attempt-th wait is drawn between
// half and all of min·2^(attempt-1), capped at max, so that hubs retrying
// together spread out.
type backoff struct{ min, max time.Duration }

func (b backoff) delay(attempt int) time.Duration {
	d := b.max
	if attempt < 30 {
		d = min(b.max, b.min<<(attempt-1))
	}
	return d/2 + rand.N(d/2+1)
}

// sleep waits d, or until ctx is done: it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
