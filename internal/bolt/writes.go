package bolt

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// A full disk or a failing device fails the store's write transactions:
// the publishers of a failed commit are answered 503, and the store tells
// the operator too. writes keeps the state of the current outage: one log
// line when it starts and one when it ends, /readyz failing meanwhile (see
// Store.Ping) and counters for /metrics.

// keyProbe is the meta key a probe writes and deletes in one transaction.
var keyProbe = []byte("probe")

// probeAfter is how long after a failed write transaction Ping reports the
// failure as it is, before it tries a write of its own: a full disk may
// still take a probe's few bytes in pages the file has freed while it
// refuses the publishes' larger commits.
const probeAfter = 2 * time.Second

// writes tracks whether the store's write transactions succeed.
type writes struct {
	log     *slog.Logger
	failing atomic.Bool
	errors  atomic.Uint64

	mu     sync.Mutex // the current outage
	since  time.Time  // its first failure
	at     time.Time  // its latest failure
	failed int        // its failed transactions
	last   error      // its latest error
}

// fail records a failed write transaction; it logs the first of an outage.
func (w *writes) fail(err error) {
	w.errors.Add(1)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.failed++
	w.last, w.at = err, time.Now()
	if !w.failing.Swap(true) {
		w.since = time.Now()
		w.log.Error("history writes failing: publishes answer 503 and /readyz fails until a write succeeds",
			slog.Any("err", err))
	}
}

// succeed records a committed write transaction; it logs the end of an
// outage.
func (w *writes) succeed() {
	if !w.failing.Load() {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.failing.Swap(false) {
		return
	}
	w.log.Info("history writes succeed again",
		slog.Int("failed_transactions", w.failed), slog.Duration("after", time.Since(w.since).Round(time.Millisecond)))
	w.failed, w.last = 0, nil
}

// note records the outcome of a write transaction and returns err.
func (w *writes) note(err error) error {
	if err != nil {
		w.fail(err)
	} else {
		w.succeed()
	}
	return err
}

// recent reports whether the latest failure is younger than probeAfter.
func (w *writes) recent() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return time.Since(w.at) < probeAfter
}

// outage describes the current outage, or is nil when writes succeed.
func (w *writes) outage() error {
	if !w.failing.Load() {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.last == nil {
		return nil
	}
	return fmt.Errorf("writes failing since %s (%d failed): %w", w.since.UTC().Format(time.RFC3339), w.failed, w.last)
}

// probeWrites, while writes fail, reports the outage; from probeAfter
// after the latest failure it tries a write transaction of its own, so that
// the end of an outage is seen even when nobody publishes (a node taken out
// of rotation by its failing /readyz gets no publishes).
func (s *Store) probeWrites() error {
	if !s.writes.failing.Load() {
		return nil
	}
	if s.writes.recent() {
		return s.writes.outage()
	}
	err := s.db.Update(func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if err := meta.Put(keyProbe, nil); err != nil {
			return err
		}
		return meta.Delete(keyProbe)
	})
	if err != nil {
		s.writes.fail(err)
		return s.writes.outage()
	}
	s.writes.succeed()
	return nil
}

// Writable reports whether the last write transaction succeeded.
func (s *Store) Writable() bool { return !s.writes.failing.Load() }

// WriteErrors counts the write transactions (commits, retention, probes)
// that failed.
func (s *Store) WriteErrors() uint64 { return s.writes.errors.Load() }
