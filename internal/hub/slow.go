package hub

import (
	"slices"
	"sync"
	"sync/atomic"
)

// DefaultMaxSlowBytes is the bytes the subscribers of a hub may have
// queued together before the slowest are cut off.
const DefaultMaxSlowBytes = 256 << 20

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
// under it; but only those that have not drained since the hub first found
// itself over the bound, so that a burst fanned out to many subscribers,
// which their writers are draining, cuts none: the first check past the
// bound raises the mark, and the next one cuts the subscribers whose last
// drain came before it.
type slowBound struct {
	held atomic.Int64 // bytes counted, summed over the subscribers
	_    [56]byte     // a cache line of its own: fan-outs write it, drains read mark
	max  int64        // 0 for none
	over atomic.Bool  // a check found held over max; none since found it under
	mark atomic.Uint64
	mu   sync.Mutex // one check at a time
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
	mark := b.mark.Load()
	slowest := h.slowest(mark) // takes the batches given back out of the sum
	switch {
	case b.held.Load() <= b.max:
		b.over.Store(false)
		return
	case !b.over.Load():
		b.over.Store(true)
		b.mark.Add(1) // subscribers get until the next check to drain
		return
	}
	for _, s := range slowest {
		if b.held.Load() <= b.max {
			return
		}
		h.cut(s, ErrSlowConsumer)
	}
	b.mark.Add(1)
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
