// Package histogram counts durations in fixed buckets with atomics, so
// that an observation takes no lock, and snapshots them for /metrics.
package histogram

import (
	"sync/atomic"
	"time"
)

// Histogram is a snapshot of durations counted by bucket.
type Histogram struct {
	Bounds []float64 // the buckets' upper bounds, in seconds
	Counts []uint64  // observations per bucket, not cumulative; the last is past every bound
	Sum    time.Duration
}

// Counter counts durations by bucket; its zero value is not usable (see
// New).
type Counter struct {
	bounds  []time.Duration
	seconds []float64
	buckets []atomic.Uint64
	sum     atomic.Int64
}

// New returns a Counter whose buckets end at bounds, in increasing order.
func New(bounds ...time.Duration) *Counter {
	c := &Counter{bounds: bounds, buckets: make([]atomic.Uint64, len(bounds)+1)}
	for _, b := range bounds {
		c.seconds = append(c.seconds, b.Seconds())
	}
	return c
}

// Observe counts d.
func (c *Counter) Observe(d time.Duration) {
	i := 0
	for i < len(c.bounds) && d > c.bounds[i] {
		i++
	}
	c.buckets[i].Add(1)
	c.sum.Add(int64(d))
}

// Snapshot returns the counts so far.
func (c *Counter) Snapshot() Histogram {
	h := Histogram{Bounds: c.seconds, Counts: make([]uint64, len(c.buckets)), Sum: time.Duration(c.sum.Load())}
	for i := range c.buckets {
		h.Counts[i] = c.buckets[i].Load()
	}
	return h
}
