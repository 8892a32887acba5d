// Package outage tracks whether the writes of a store succeed, so that a
// full disk or a Redis out of memory reaches the operator and not only the
// publishers' 503s: one log line when an outage starts and one when it
// ends, and its state for the readiness probe and the metrics.
package outage

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Tracker follows the outcome of one store's writes. It is safe for
// concurrent use.
type Tracker struct {
	log     *slog.Logger
	what    string // "history writes", "redis writes"
	failing atomic.Bool
	errors  atomic.Uint64

	mu     sync.Mutex // the current outage
	since  time.Time  // its first failure
	at     time.Time  // its latest failure
	failed int        // its failed writes
	last   error      // its latest error
}

// New returns a Tracker logging to log about what (the writes it follows,
// e.g. "history writes").
func New(log *slog.Logger, what string) *Tracker {
	return &Tracker{log: log, what: what}
}

// Note records the outcome of a write and returns err.
func (t *Tracker) Note(err error) error {
	if err != nil {
		t.Fail(err)
	} else {
		t.Succeed()
	}
	return err
}

// Fail records a failed write; the first of an outage is logged.
func (t *Tracker) Fail(err error) {
	t.errors.Add(1)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failed++
	t.last, t.at = err, time.Now()
	if !t.failing.Swap(true) {
		t.since = t.at
		t.log.Error(t.what+" failing: publishes answer 503 and /readyz fails until a write succeeds",
			slog.Any("err", err))
	}
}

// Succeed records a successful write; the end of an outage is logged.
func (t *Tracker) Succeed() {
	if !t.failing.Load() {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.failing.Swap(false) {
		return
	}
	t.log.Info(t.what+" succeed again",
		slog.Int("failed", t.failed), slog.Duration("after", time.Since(t.since).Round(time.Millisecond)))
	t.failed, t.last = 0, nil
}

// Failing reports whether the latest write failed.
func (t *Tracker) Failing() bool { return t.failing.Load() }

// Errors counts the failed writes.
func (t *Tracker) Errors() uint64 { return t.errors.Load() }

// FailedWithin reports whether the latest failure is younger than d.
func (t *Tracker) FailedWithin(d time.Duration) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failing.Load() && time.Since(t.at) < d
}

// ProbeAfter is how long after a failed write Probe reports the failure as
// it is, before it tries a write of its own: a full store may still take a
// probe's few bytes while it refuses the publishes' larger writes.
const ProbeAfter = 2 * time.Second

// Probe backs a readiness check: nil while writes succeed; during an
// outage its error, and from ProbeAfter after the latest failure the
// outcome of write, a small write of the caller's, so that the end of an
// outage is seen even when nobody publishes (a node taken out of rotation
// by its failing readiness gets no publishes).
func (t *Tracker) Probe(write func() error) error {
	if t.Failing() && !t.FailedWithin(ProbeAfter) {
		_ = t.Note(write())
	}
	return t.Err()
}

// Err describes the current outage, or is nil when writes succeed.
func (t *Tracker) Err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.failing.Load() || t.last == nil {
		return nil
	}
	return fmt.Errorf("%s failing since %s (%d failed): %w", t.what, t.since.UTC().Format(time.RFC3339), t.failed, t.last)
}
