package hub

import (
	"sync"
	"sync/atomic"

	"github.com/ssehub/ssehub/internal/topic"
)

// Subscriber receives the updates of the topics it selected. Its owner (an
// HTTP stream) waits on Ready, or is called back by OnReady, takes queued
// updates with Drain, writes them, and stops when Done is closed or its
// client leaves, calling Close. The hub never blocks on a subscriber: when the queue exceeds its
// bound the subscriber is cut off with ErrSlowConsumer.
type Subscriber struct {
	// What a fan-out and a drain touch for every update comes first, in
	// two cache lines: with thousands of subscribers each one's state is
	// out of the CPU's cache when its turn comes, and every line of it
	// costs a memory access.

	// lastSeq dedups an update reaching it through several topics; only
	// touched under its shard's lock.
	lastSeq uint64
	// minSeq skips live updates at or before a resume point that was
	// stored but not yet fanned out when the subscription began.
	minSeq  uint64
	mu      sync.Mutex
	pending []*Update
	limit   int
	slack   int // replayed updates allowed beyond limit until drained
	// waker, once wakerSet says it is set (OnReady), is told of queued
	// updates instead of ready: set once, it needs no lock to read.
	waker    Waker
	wakerSet atomic.Bool
	closed   bool
	// queue1Given: Drain has handed out queues[1].
	queue1Given bool
	// queues are the arrays the queue and the owner's batch start in, so
	// that a queue of a few updates lives in the subscriber's memory
	// (Drain swaps the two); a longer one moves to an array of its own.
	queues [2][2]*Update

	hub       *Hub
	selectors topic.Set
	private   topic.Set // topics whose private updates it may see
	exact     []string  // exact selectors, indexed by the hub
	wildcard  bool      // has a non-exact selector

	resumedAfter string
	replayed     int

	err   error
	onEnd func()
	ready chan struct{}
	done  chan struct{}
}

func newSubscriber(h *Hub, sels, private []topic.Selector, limit int) *Subscriber {
	s := &Subscriber{
		hub:       h,
		selectors: topic.NewSet(sels),
		private:   topic.NewSet(private),
		limit:     limit,
		ready:     make(chan struct{}, 1),
		done:      make(chan struct{}),
	}
	s.pending = s.queues[0][:0]
	for _, sel := range sels {
		if sel.Exact() {
			s.exact = append(s.exact, sel.String())
		} else {
			s.wildcard = true
		}
	}
	return s
}

// Ready is signalled when updates are waiting to be drained, unless
// OnReady registered a Waker to wake instead.
func (s *Subscriber) Ready() <-chan struct{} { return s.ready }

// Done is closed when the subscription ends; Err says why.
func (s *Subscriber) Done() <-chan struct{} { return s.done }

// Err returns why the subscription ended, or nil while it is active.
func (s *Subscriber) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// ResumedAfter is the id of the event preceding the first one delivered, or
// "earliest" when there is none or the requested id was not in history: the
// value of the Last-Event-ID response header.
func (s *Subscriber) ResumedAfter() string { return s.resumedAfter }

// Replayed is the number of updates replayed from history.
func (s *Subscriber) Replayed() int { return s.replayed }

// Drain returns the queued updates in order and empties the queue. buf is
// reused as the next queue, so pass back the slice returned by the previous
// call once its updates are written (or nil); this keeps draining free of
// allocations.
func (s *Subscriber) Drain(buf []*Update) []*Update {
	clear(buf)
	s.mu.Lock()
	if buf == nil && !s.queue1Given {
		// The first Drain without an array takes the second inline one: it
		// has never been handed out. Later ones start a new array, as
		// the caller may still hold both.
		s.queue1Given, buf = true, s.queues[1][:0]
	}
	batch := s.pending
	s.pending = buf[:0]
	s.slack = 0
	s.mu.Unlock()
	return batch
}

// Close ends the subscription and removes it from the hub.
func (s *Subscriber) Close() {
	s.hub.remove(s)
	s.end(ErrUnsubscribed)
}

// wants reports whether the update is for this subscriber.
func (s *Subscriber) wants(u *Update) bool {
	if u.Private && !s.private.MatchAny(u.Topics) {
		return false
	}
	return s.selectors.MatchAny(u.Topics)
}

// mayRead reports whether s may receive the private update u, which
// reached it through its topic t. Most subscribers are authorized for the
// topic they name, so t is tried before all of u's topics.
func (s *Subscriber) mayRead(u *Update, t string) bool {
	return s.private.Match(t) || s.private.MatchAny(u.Topics)
}

// enqueue adds a live update. It reports false when the subscriber has to
// be cut off because its queue is full, and whether the queue was empty:
// then the caller must signal the subscriber (once it holds no lock). A
// queue that was not empty has been signalled and not drained yet.
func (s *Subscriber) enqueue(u *Update) (ok, wake bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return true, false
	}
	if len(s.pending) >= s.limit+s.slack {
		return false, false
	}
	s.pending = append(s.pending, u)
	return true, len(s.pending) == 1
}

// prepend puts replayed updates before whatever live updates are queued.
func (s *Subscriber) prepend(replay []*Update) {
	if len(replay) == 0 {
		return
	}
	s.mu.Lock()
	s.pending = append(replay, s.pending...)
	s.slack += len(replay)
	s.mu.Unlock()
	s.signal()
}

func (s *Subscriber) signal() {
	if s.wakerSet.Load() {
		s.waker.Wake()
		return
	}
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// A Waker is told that a subscriber has updates queued (see OnReady).
type Waker interface {
	// Wake is called from the goroutine that queued the updates (a
	// publisher once its fan-out is done, or the subscribing one for a
	// replay), so it must be quick and must not block.
	Wake()
}

// OnReady registers w to be woken each time updates are queued, instead of
// signalling Ready: a writer that has no goroutine waiting on Ready uses it
// to start one. Call it at most once. Updates queued before OnReady do not
// wake w: drain once after registering it.
func (s *Subscriber) OnReady(w Waker) {
	s.waker = w
	s.wakerSet.Store(true)
}

// OnEnd registers f to be called, once, when the subscription ends, from
// the goroutine that ends it; f must not block. The writer uses it to
// interrupt a write blocked on a client that stopped reading. If the
// subscription has already ended, f is called at once.
func (s *Subscriber) OnEnd(f func()) {
	s.mu.Lock()
	closed := s.closed
	if !closed {
		s.onEnd = f
	}
	s.mu.Unlock()
	if closed {
		f()
	}
}

// end closes the subscription once, recording why.
func (s *Subscriber) end(err error) bool {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false
	}
	s.closed, s.err = true, err
	s.pending = nil
	close(s.done)
	f := s.onEnd
	s.onEnd = nil
	s.mu.Unlock()
	if f != nil {
		f()
	}
	return true
}
