package hub

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMaxSlowBytes is the bytes the subscribers of a hub may have
// queued together before the slowest are cut off.
const DefaultMaxSlowBytes = 256 << 20

// slowGrace is how long a subscriber has to drain once the hub is past
// MaxSlowBytes before it may be cut off: a stream whose client reads
// drains within milliseconds, even on a busy machine.
const slowGrace = time.Second

// slowBound bounds the bytes queued for all the subscribers of a hub:
// their live queues, the replay pages read for them and the batch each one
// is writing (handed out by DrainBatch, not yet given back). An update is
// counted once for every subscriber holding it, although they share it
// (and usually share it with the history): the sum over-counts the memory
// held, on the safe side. A batch given back leaves the sum at the
// subscriber's next update, or at a check past the bound, rather than at
// once: draining makes no atomic write on the sum, which writers on every
// core would contend for.
//
// Past the bound, the subscribers holding the most are cut off with
// ErrSlowConsumer (they resume with Last-Event-ID) until the sum is back
// under it; but only those that have not drained for the grace period
// (slowGrace) since the hub found itself over the bound, so that a burst
// fanned out to many subscribers, which their writers are draining, cuts
// none: the first check past the bound raises the mark, and the first
// one a grace period later cuts the subscribers whose last drain came
// before it. The sum may exceed the bound by what is queued meanwhile.
type slowBound struct {
	held atomic.Int64 // bytes counted, summed over the subscribers
	_    [56]byte     // a cache line of its own: fan-outs write it, drains read mark
	max  int64        // 0 for none
	over atomic.Bool  // a check found held over max; none since found it under
	mark atomic.Uint64

	mu     sync.Mutex // one check at a time, and the fields below
	grace  time.Duration
	marked time.Time // when mark was raised
}

// checkSlow cuts off the slowest subscribers while the bytes queued for
// all are past the bound. Called with no lock held, after bytes were
// queued; cheap while under the bound.
func (h *Hub) checkSlow() {
	b := &h.slow
	if b.max == 0 || b.held.Load() <= b.max {
		if b.over.Load() {
			b.over.Store(false)
		}
		return
	}
	if !b.mu.TryLock() {
		return // another check is under way
	}
	defer b.mu.Unlock()
	now := time.Now()
	if b.over.Load() && now.Sub(b.marked) < b.grace {
		return // the subscribers still have time to drain
	}
	slowest := h.slowest(b.mark.Load()) // takes the batches given back out of the sum
	switch {
	case b.held.Load() <= b.max:
		b.over.Store(false)
		return
	case !b.over.Load():
		b.over.Store(true)
		b.raise(now)
		return
	}
	for _, s := range slowest {
		if b.held.Load() <= b.max {
			return
		}
		h.cut(s, ErrSlowConsumer)
	}
	b.raise(now) // still over: those that drained get another grace period
}

// raise raises the mark: subscribers that do not drain within the grace
// period may be cut off. Called with b.mu held.
func (b *slowBound) raise(now time.Time) {
	b.mark.Add(1)
	b.marked = now
}

// slowest returns the subscribers holding bytes that have not drained
// since mark, those holding the most first. It takes the batches given
// back out of the hub's sum.
func (h *Hub) slowest(mark uint64) []*Subscriber {
	type holder struct {
		s    *Subscriber
		held int
	}
	var hs []holder
	for _, sh := range h.shards {
		sh.mu.Lock()
		for s := range sh.all {
			s.mu.Lock()
			if s.released != 0 {
				h.slow.held.Add(-int64(s.released))
				s.released = 0
			}
			if n := s.counted(); n > 0 && s.drained < mark {
				hs = append(hs, holder{s, n})
			}
			s.mu.Unlock()
		}
		sh.mu.Unlock()
	}
	slices.SortFunc(hs, func(a, b holder) int { return b.held - a.held })
	out := make([]*Subscriber, len(hs))
	for i, x := range hs {
		out[i] = x.s
	}
	return out
}

// counted is the wire bytes counted in the hub's sum for s; called with
// s.mu held.
func (s *Subscriber) counted() int {
	n := s.queued + s.given + s.released
	if s.cur != nil {
		n += s.cur.pageBytes
	}
	return n
}
