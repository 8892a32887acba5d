package history

import (
	"container/list"
	"sort"

	"github.com/ssehub/ssehub/internal/hub"
)

// ring is a growable circular buffer of updates in Seq order.
type ring struct {
	buf   []slot
	head  int // index of the oldest
	n     int
	bytes int
	elem  *list.Element // the topic's place in Memory's LRU list
}

// slot is an update in a ring with the size it was counted at: an
// update's size takes time in proportion to its topics, so it is taken
// once per append, not again in each of its topics' rings. It keeps the
// update's Seq too, so that finding a place in the ring reads the ring
// alone, not updates all over the heap.
type slot struct {
	u    *hub.Update
	seq  uint64
	size int
}

func (r *ring) len() int { return r.n }

func (r *ring) at(i int) *slot { return &r.buf[(r.head+i)%len(r.buf)] }

// push adds u, of the given size, in Seq order. Appends of concurrent
// publishes may arrive slightly out of order, so u moves back past any
// newer update.
func (r *ring) push(u *hub.Update, size int) {
	if r.n == len(r.buf) {
		r.grow()
	}
	i := r.n
	for ; i > 0 && r.at(i-1).seq > u.Seq; i-- {
		*r.at(i) = *r.at(i - 1)
	}
	*r.at(i) = slot{u, u.Seq, size}
	r.n++
	r.bytes += size
}

func (r *ring) grow() {
	next := make([]slot, max(8, 2*len(r.buf)))
	for i := 0; i < r.n; i++ {
		next[i] = r.buf[(r.head+i)%len(r.buf)]
	}
	r.buf, r.head = next, 0
}

func (r *ring) pop() *hub.Update {
	s := r.buf[r.head]
	r.buf[r.head] = slot{}
	r.head = (r.head + 1) % len(r.buf)
	r.n--
	r.bytes -= s.size
	return s.u
}

// each calls fn for the updates with Seq > after, oldest first, finding the
// start by binary search, until fn returns false.
func (r *ring) each(after uint64, fn func(*hub.Update) bool) {
	start := sort.Search(r.n, func(i int) bool { return r.at(i).seq > after })
	for i := start; i < r.n; i++ {
		if !fn(r.at(i).u) {
			return
		}
	}
}
