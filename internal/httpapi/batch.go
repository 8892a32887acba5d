package httpapi

import (
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

// batchWritten counts a written batch of a stream and observes the latency
// of its oldest update, unless the batch held the replayed updates, whose
// age is not a delivery latency: once per batch, with no lock and no
// allocation.
func (a *API) batchWritten(batch []*hub.Update, replay bool) {
	internal := 0
	for _, u := range batch {
		if u.Internal {
			internal++
		}
	}
	a.counts.delivered.Add(uint64(len(batch) - internal))
	if m, first := a.cfg.Metrics, batch[0]; m != nil && !replay && !first.Time.IsZero() {
		m.ObserveLatency(time.Since(first.Time))
	}
}
