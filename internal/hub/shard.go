package hub

import (
	"hash/maphash"
	"math/bits"
	"sync"

	"github.com/ssehub/ssehub/internal/topic"
)

// A shard holds a share of the subscribers and fans updates out to them
// under a lock of its own, so that publishes to topics of different
// shards fan out in parallel; the hub's own lock only orders positions
// and hands updates to the shards. A subscription to exactly one topic
// lives in that topic's shard; one with several topics or a pattern lives
// in the shared shard, which is handed every update, so that it still
// receives its topics' updates in position order.
//
// Each shard fans out in position order: updates are queued to it under
// the hub's lock, in order, and taken from the queue by whichever
// publisher drains the shard next, holding the shard's lock.
type shard struct {
	mu       sync.Mutex // the fan-out: everything below but the queue
	byTopic  map[string]*subList
	wild     subList
	all      map[*Subscriber]struct{}
	fanned   uint64 // position of the last update fanned out here
	fannedID string // and its id
	ending   bool   // refuses subscriptions (EndSubscriptions)
	cut      []*Subscriber
	woken    []*Subscriber
	spare    []*Update // the queue's other array, swapped in by drain
	added    int64     // bytes queued by the fan-out, not yet added to the hub's sum

	qmu   sync.Mutex
	queue []*Update // handed over, not yet fanned out, in position order
}

// topicShards is the number of shards of single-topic subscriptions; the
// shared shard comes after them.
const topicShards = 16

// shardSeed hashes topics to shards.
var shardSeed = maphash.MakeSeed()

// shardIndex is the index of topic t's shard.
func shardIndex(t string) int { return int(maphash.String(shardSeed, t) % topicShards) }

// newShards returns the shards of a hub whose head is seq, id.
func newShards(seq uint64, id string) [topicShards + 1]*shard {
	var out [topicShards + 1]*shard
	for i := range out {
		out[i] = &shard{byTopic: map[string]*subList{}, all: map[*Subscriber]struct{}{}, fanned: seq, fannedID: id}
	}
	return out
}

// shared is the shard of the subscriptions to several topics or patterns.
func (h *Hub) shared() *shard { return h.shards[topicShards] }

// naming returns the shards whose subscriptions may name topic t exactly:
// its topic shard and the shared one.
func (h *Hub) naming(t string) [2]*shard { return [2]*shard{h.shards[shardIndex(t)], h.shared()} }

// home is the shard s lives in.
func (h *Hub) home(s *Subscriber) *shard {
	if !s.wildcard && len(s.exact) == 1 {
		return h.shards[shardIndex(s.exact[0])]
	}
	return h.shared()
}

// dispatch hands u to the shards of its topics and to the shared shard,
// returning them as a bit set for drain; called with h.mu held, in
// position order.
func (h *Hub) dispatch(u *Update) (touched uint32) {
	touched = 1 << topicShards
	h.shared().push(u)
	for _, t := range u.Topics {
		if i := shardIndex(t); touched&(1<<i) == 0 {
			touched |= 1 << i
			h.shards[i].push(u)
		}
	}
	return touched
}

// drain fans out what was dispatched to the shards in touched; called
// without h.mu, after the dispatch.
func (h *Hub) drain(touched uint32) {
	for touched != 0 {
		i := bits.TrailingZeros32(touched)
		touched &^= 1 << i
		h.shards[i].drain(h)
	}
}

// push queues u; called with h.mu held.
func (sh *shard) push(u *Update) {
	sh.qmu.Lock()
	sh.queue = append(sh.queue, u)
	sh.qmu.Unlock()
}

// drain fans out every queued update, then signals the subscribers it
// woke. A publisher that finds another draining waits for it, and then
// usually finds its update already fanned out.
func (sh *shard) drain(h *Hub) {
	sh.mu.Lock()
	for {
		sh.qmu.Lock()
		batch := sh.queue
		sh.queue, sh.spare = sh.spare[:0], nil
		sh.qmu.Unlock()
		if len(batch) == 0 {
			sh.spare = batch
			break
		}
		for _, u := range batch {
			sh.fanout(h, u)
		}
		clear(batch)
		sh.spare = batch[:0]
	}
	added := sh.takeAdded(h)
	woken := sh.takeWoken()
	sh.mu.Unlock()
	signalAll(woken)
	if added > 0 {
		h.checkSlow()
	}
}

// takeAdded adds the bytes the fan-out queued to the hub's sum, once per
// drain rather than once per subscriber, and returns them; called with
// sh.mu held.
func (sh *shard) takeAdded(h *Hub) int64 {
	added := sh.added
	if added != 0 {
		h.slow.held.Add(added)
		sh.added = 0
	}
	return added
}

// fanout queues u for the shard's subscribers; called with sh.mu held.
// Queuing never blocks: a subscriber whose queue is full is cut off.
func (sh *shard) fanout(h *Hub, u *Update) {
	sh.fanned, sh.fannedID = u.Seq, u.ID
	for _, t := range u.Topics {
		if l := sh.byTopic[t]; l != nil {
			for _, s := range l.subs {
				// One that has u (through another of its topics) is not
				// checked again: that would take time in proportion to
				// the topics times the topics.
				if s.lastSeq != u.Seq && (!u.Private || s.mayRead(u, t)) {
					sh.deliver(s, u)
				}
			}
		}
	}
	var ts *topic.Topics // parsed once for all the URL patterns
	if len(sh.wild.subs) > 0 {
		ts = topic.NewTopics(u.Topics)
	}
	for _, s := range sh.wild.subs {
		if s.lastSeq != u.Seq && s.wantsTopics(u, ts) {
			sh.deliver(s, u)
		}
	}
	sh.cutOff(h)
}

// deliver queues u for s unless s has it or resumed after it.
func (sh *shard) deliver(s *Subscriber, u *Update) {
	if s.lastSeq == u.Seq || u.Seq <= s.minSeq {
		return
	}
	s.lastSeq = u.Seq
	sh.enqueue(s, u)
}

// enqueue queues u for s, noting s to be cut off when its queue is full,
// or to be signalled once the lock is released when its queue was empty;
// called with sh.mu held.
func (sh *shard) enqueue(s *Subscriber, u *Update) {
	added, ok, wake := s.enqueue(u)
	sh.added += int64(added)
	switch {
	case !ok:
		sh.cut = append(sh.cut, s)
	case wake:
		sh.woken = append(sh.woken, s)
	}
}

// cutOff ends the subscribers whose queues overflowed during a fan-out;
// called with sh.mu held.
func (sh *shard) cutOff(h *Hub) {
	for _, s := range sh.cut {
		sh.unindex(s)
		if s.end(ErrSlowConsumer) {
			h.slowCut.Add(1)
		}
	}
	clear(sh.cut)
	sh.cut = sh.cut[:0]
}

// wokenLists recycles the lists of subscribers to signal.
var wokenLists = sync.Pool{New: func() any { return new([]*Subscriber) }}

// takeWoken hands over the subscribers whose queues the fan-out made
// non-empty, to be signalled once the lock is released: their writers
// then find every update fanned out meanwhile. Called with sh.mu held.
func (sh *shard) takeWoken() *[]*Subscriber {
	if len(sh.woken) == 0 {
		return nil
	}
	w := wokenLists.Get().(*[]*Subscriber)
	*w, sh.woken = sh.woken, (*w)[:0]
	return w
}

// signalAll signals the subscribers taken by takeWoken.
func signalAll(w *[]*Subscriber) {
	if w == nil {
		return
	}
	for _, s := range *w {
		s.signal()
	}
	clear(*w)
	*w = (*w)[:0]
	wokenLists.Put(w)
}

// detach removes every subscriber from the shard and returns them, to be
// ended once the lock is released; ending refuses new ones as well.
func (sh *shard) detach(ending bool) []*Subscriber {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.ending = sh.ending || ending
	subs := make([]*Subscriber, 0, len(sh.all))
	for s := range sh.all {
		subs = append(subs, s)
		sh.unindex(s)
	}
	return subs
}

// rebase moves the shard to a new head, dropping what was queued for the
// history left behind; called with h.mu held.
func (sh *shard) rebase(seq uint64, id string) {
	sh.mu.Lock()
	sh.qmu.Lock()
	clear(sh.queue)
	sh.queue = sh.queue[:0]
	sh.qmu.Unlock()
	sh.fanned, sh.fannedID = seq, id
	sh.mu.Unlock()
}
