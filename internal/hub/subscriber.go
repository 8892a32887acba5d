package hub

import (
	"sync"
	"sync/atomic"

	"github.com/ssehub/ssehub/internal/topic"
)

// Subscriber receives the updates of the topics it selected. Its owner (an
// HTTP stream) waits on Ready, or is called back by OnReady, takes queued
// updates with DrainBatch (or Drain), writes them, and stops when Done is
// closed or its client leaves, calling Close. The hub never blocks on a
// subscriber: when its queue exceeds its bounds (QueueSize, QueueBytes) it
// is cut off with ErrSlowConsumer. A replay is read from history a page at
// a time as the owner drains it, so a subscriber that does not read holds
// a page, not its whole replay.
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
	minSeq   uint64
	mu       sync.Mutex
	pending  []*Update
	limit    int32   // QueueSize: bound of len(pending)
	maxBytes int32   // QueueBytes: bound of queued
	queued   int     // wire bytes of pending
	cur      *cursor // the replay still to read from history; nil once live
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

	// The wire bytes counted in the hub's sum for the subscriber (slow.go)
	// are queued, given, the page's and released: given is the batch
	// Drain handed out last, released those given back since, which
	// leave the sum at the next enqueue (or check), so that Drain makes
	// no atomic write.
	given    int
	released int
	drained  uint64 // the slow bound's mark at the last Drain

	hub       *Hub
	selectors topic.Set
	private   topic.Set // topics whose private updates it may see
	exact     []string  // exact selectors, indexed by the hub
	wildcard  bool      // has a non-exact selector
	tagged    bool      // tags what it drains (TagSelectors): see Hub.taggers

	resumedAfter string
	replayed     atomic.Int64

	err   error
	onEnd func()
	ready chan struct{}
	done  chan struct{}
}

func newSubscriber(h *Hub, sels, private []topic.Selector) *Subscriber {
	s := &Subscriber{
		hub:       h,
		selectors: topic.NewSet(sels),
		private:   topic.NewSet(private),
		limit:     int32(h.cfg.QueueSize),
		maxBytes:  int32(h.cfg.QueueBytes),
		drained:   h.slow.mark.Load(),
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

// Replayed is the number of updates read from history for the
// subscriber so far. A replay is read a page at a time as the stream
// drains (DrainBatch), so once Subscribe returns it counts the first page
// only: count replayed updates from the batches DrainBatch reports.
func (s *Subscriber) Replayed() int { return int(s.replayed.Load()) }

// Drain returns the queued updates in order and empties the queue. buf is
// reused as the next queue, so pass back the slice returned by the previous
// call once its updates are written (or nil); this keeps draining free of
// allocations. It is DrainBatch without telling replayed batches apart.
func (s *Subscriber) Drain(buf []*Update) []*Update {
	batch, _ := s.DrainBatch(buf)
	return batch
}

// DrainBatch returns the next batch of updates to write, in order, and
// whether it is a page of the replay read from history (whose age is no
// delivery latency) rather than live updates. buf is as for Drain: passing
// it back also tells the subscriber that the previous batch is written,
// and no longer held for it.
//
// A subscription that resumes replays history a page at a time: each batch
// is one page (at most QueueSize updates and 128 KiB), and the next page is
// read by the hub's pagers, off the caller's goroutine, once the caller has
// taken this one; the subscriber is signalled when it is queued. Live
// updates follow the last page. A batch may be empty while a page is read.
func (s *Subscriber) DrainBatch(buf []*Update) (batch []*Update, replayed bool) {
	clear(buf)
	s.mu.Lock()
	if buf == nil && !s.queue1Given {
		// The first Drain without an array takes the second inline one: it
		// has never been handed out. Later ones start a new array, as
		// the caller may still hold both.
		s.queue1Given, buf = true, s.queues[1][:0]
	}
	s.released += s.given
	s.given, s.drained = 0, s.hub.slow.mark.Load()
	var next, wake bool
	switch c := s.cur; {
	case c == nil:
		batch, s.pending = s.pending, buf[:0]
		s.given, s.queued = s.queued, 0
	case len(c.page) == 0: // a pager is reading it, and signals
		batch = buf[:0]
	default:
		batch, replayed = c.page, true
		s.given, c.page, c.pageBytes, c.spare = c.pageBytes, nil, 0, buf[:0]
		if next = !c.caughtUp(); !next {
			s.goLive()
			wake = len(s.pending) > 0
		}
	}
	s.mu.Unlock()
	if next {
		s.hub.pagers.push(s)
	}
	if wake {
		s.signal()
	}
	if s.tagged && len(batch) > 0 {
		s.tag(batch)
	}
	return batch, replayed
}

// Close ends the subscription and removes it from the hub.
func (s *Subscriber) Close() {
	s.hub.remove(s)
	s.end(ErrUnsubscribed)
}

// wants reports whether the update is for this subscriber.
func (s *Subscriber) wants(u *Update) bool { return s.wantsTopics(u, topic.NewTopics(u.Topics)) }

// wantsTopics reports whether the update is for this subscriber, ts being
// its topics, which a fan-out parses once for every URL pattern.
func (s *Subscriber) wantsTopics(u *Update, ts *topic.Topics) bool {
	if u.Private && !s.private.MatchTopics(ts) {
		return false
	}
	return s.selectors.MatchTopics(ts)
}

// mayRead reports whether s may receive the private update u, which
// reached it through its topic t. Most subscribers are authorized for the
// topic they name, so t is tried before all of u's topics.
func (s *Subscriber) mayRead(u *Update, t string) bool {
	return s.private.Match(t) || s.private.MatchAny(u.Topics)
}

// enqueue adds a live update, returning the change in the bytes counted
// for the subscriber. It reports false when the subscriber has to be cut
// off because its queue is full, and whether the queue was empty: then the
// caller must signal the subscriber (once it holds no lock). A queue that
// was not empty has been signalled and not drained yet. While a replay is
// read, live updates wait unsignalled behind it; if they overflow the
// queue they are dropped and read from history too (lag).
func (s *Subscriber) enqueue(u *Update) (added int, ok, wake bool) {
	n := len(u.wire)
	s.mu.Lock()
	switch {
	case s.closed:
		n, ok = 0, true
	case s.cur != nil:
		n, ok = s.queueBehind(u, n), true
	case len(s.pending) >= int(s.limit) || s.queued+n > int(s.maxBytes) && len(s.pending) > 0:
		n = 0
	default:
		s.pending = append(s.pending, u)
		s.queued += n
		n, s.released = n-s.released, 0
		ok, wake = true, len(s.pending) == 1
	}
	s.mu.Unlock()
	return n, ok, wake
}

// queueBehind queues a live update of n bytes behind the replay, without
// signalling: the pages come first. Past the bounds of the queue, the
// live updates are dropped and the cursor reads them from history (lag).
// It returns the change in the bytes queued; called with s.mu held.
func (s *Subscriber) queueBehind(u *Update, n int) int {
	switch {
	case s.cur.lagging:
		return 0 // the cursor reads it from history
	case len(s.pending) >= int(s.limit) || s.queued+n > int(s.maxBytes) && len(s.pending) > 0:
		return s.lag()
	}
	s.pending = append(s.pending, u)
	s.queued += n
	n, s.released = n-s.released, 0
	return n
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
	// publisher once its fan-out is done, the subscribing one for the
	// first page of a replay, a pager for the next ones, or the owner's
	// own from DrainBatch, when live updates follow the last page it
	// took), so it must be quick and must not block.
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
	held := s.counted()
	if c := s.cur; c != nil {
		c.cancel()
		s.cur = nil
	}
	s.pending, s.queued, s.given, s.released = nil, 0, 0, 0
	close(s.done)
	f := s.onEnd
	s.onEnd = nil
	s.mu.Unlock()
	s.stopTagging()
	if held != 0 {
		s.hub.slow.held.Add(-int64(held))
	}
	if f != nil {
		f()
	}
	return true
}
