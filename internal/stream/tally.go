package stream

import (
	"sync/atomic"
	"time"

	"github.com/ssehub/ssehub/internal/hub"
)

// writeDeadline is a stream's write deadline. Setting one updates a
// runtime timer, so it is renewed only once half of the write timeout has
// passed: every write still gets at least half of it.
type writeDeadline struct{ at time.Time }

// renew returns the deadline to set now and true, or false while the
// current one leaves at least half of timeout.
func (d *writeDeadline) renew(timeout time.Duration) (time.Time, bool) {
	now := time.Now()
	if d.at.Sub(now) >= timeout/2 {
		return time.Time{}, false
	}
	d.at = now.Add(timeout)
	return d.at, true
}

// tally is where goroutines that write streams count what they wrote.
// Each pool writer has one of its own, so that writers on different cores
// never update the same counters (their cache lines would move from core
// to core at every batch); streams with a goroutine of their own share the
// engine's. Stats sums them.
type tally struct {
	delivered atomic.Uint64
	replayed  atomic.Uint64       // of delivered, the pages of replays
	latency   func(time.Duration) // the latency histogram's, or nil
	_         [40]byte            // a cache line of its own
}

func newTally(o Observer) *tally {
	t := new(tally)
	if o != nil {
		t.latency = o.LatencyObserver()
	}
	return t
}

// batchWritten counts a written batch of a stream and observes the latency
// of its oldest update, unless the batch is a page of a replay (counted as
// replayed), whose age is not a delivery latency: once per batch, with no
// lock and no allocation.
func (t *tally) batchWritten(batch []*hub.Update, replay bool) {
	internal := 0
	for _, u := range batch {
		if u.Internal {
			internal++
		}
	}
	t.delivered.Add(uint64(len(batch) - internal))
	if replay {
		t.replayed.Add(uint64(len(batch)))
	}
	if first := batch[0]; t.latency != nil && !replay && !first.Time.IsZero() {
		t.latency(time.Since(first.Time))
	}
}
