package appauth

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ssehub/ssehub/internal/histogram"
)

// LatencyBounds are the upper bounds, in seconds, of the histogram of the
// calls' durations: from a millisecond (an app on the same machine) to the
// longest Timeout worth having.
func LatencyBounds() []float64 {
	return []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
}

// Stats counts the client's work since it was made.
type Stats struct {
	Calls     uint64              // calls made to the application: Granted + Refused + the Failures
	Granted   uint64              // calls it answered with rights
	Refused   uint64              // calls it answered 401 or 403
	Failures  map[string]uint64   // calls that decided nothing, by kind (FailTimeout…)
	CacheHits uint64              // requests answered from the cache
	Merged    uint64              // requests that waited for an identical call in flight
	Latency   histogram.Histogram // the calls' durations, by LatencyBounds
}

// counters are the atomic counts behind Stats.
type counters struct {
	granted, refused, cacheHits, merged atomic.Uint64
	failures                            map[string]*atomic.Uint64 // fixed keys: read without a lock
	latency                             *histogram.Counter
}

func (s *counters) init() {
	s.failures = map[string]*atomic.Uint64{}
	for _, k := range []string{FailUnreachable, FailTimeout, FailStatus, FailMalformed} {
		s.failures[k] = new(atomic.Uint64)
	}
	var bounds []time.Duration
	for _, b := range LatencyBounds() {
		bounds = append(bounds, time.Duration(b*float64(time.Second)))
	}
	s.latency = histogram.New(bounds...)
}

func (s *counters) failed(kind string) { s.failures[kind].Add(1) }

// observe records a call's duration.
func (s *counters) observe(d time.Duration) { s.latency.Observe(d) }

// Stats returns the client's counts.
func (c *Client) Stats() Stats {
	s := &c.stats
	st := Stats{
		Granted: s.granted.Load(), Refused: s.refused.Load(),
		CacheHits: s.cacheHits.Load(), Merged: s.merged.Load(), Failures: map[string]uint64{},
		Latency: s.latency.Snapshot(),
	}
	st.Calls = st.Granted + st.Refused
	for k, n := range s.failures {
		st.Failures[k] = n.Load()
		st.Calls += st.Failures[k]
	}
	return st
}

// logEvery is how often a kind of failure that goes on is logged again.
const logEvery = 10 * time.Second

// failLog logs the application's failures without flooding the log while
// it is down: the first failure of a kind is logged at once, the next ones
// of that kind once per logEvery with their count, and the first answer
// after failures says the application answers again.
type failLog struct {
	mu      sync.Mutex
	kinds   map[string]*failState
	failing uint64 // failures since the last answer
}

// failState is one kind's logging.
type failState struct {
	logged time.Time // last line
	since  uint64    // failures not logged since
}

// failed accounts for a failure, logging it unless its kind was logged less
// than logEvery ago.
func (l *failLog) failed(log *slog.Logger, url string, f *Failure) {
	l.mu.Lock()
	if l.kinds == nil {
		l.kinds = map[string]*failState{}
	}
	l.failing++
	st := l.kinds[f.Kind]
	if st == nil {
		st = &failState{}
		l.kinds[f.Kind] = st
	}
	now := time.Now()
	if !st.logged.IsZero() && now.Sub(st.logged) < logEvery {
		st.since++
		l.mu.Unlock()
		return
	}
	repeated := st.since
	st.logged, st.since = now, 0
	l.mu.Unlock()
	attrs := []slog.Attr{slog.String("url", url), slog.String("kind", f.Kind)}
	if f.Status != 0 {
		attrs = append(attrs, slog.Int("status", f.Status))
	}
	attrs = append(attrs, slog.String("error", f.Err.Error()))
	if repeated > 0 {
		attrs = append(attrs, slog.Uint64("unlogged_since_last_line", repeated))
	}
	log.LogAttrs(context.Background(), slog.LevelWarn,
		"the app's authorization callback failed: requests it should decide get 503", attrs...)
}

// answered notes an answer (a grant or a refusal), logging the end of a
// run of failures.
func (l *failLog) answered(log *slog.Logger, url string) {
	l.mu.Lock()
	failures := l.failing
	if failures == 0 {
		l.mu.Unlock()
		return
	}
	l.failing = 0
	clear(l.kinds)
	l.mu.Unlock()
	log.LogAttrs(context.Background(), slog.LevelInfo, "the app's authorization callback answers again",
		slog.String("url", url), slog.Uint64("failures", failures))
}
