package history

import (
	"container/list"
	"sort"

	"github.com/ssehub/ssehub/internal/hub"
)

// ring is a growable circular buffer of updates in Seq order.
type ring struct {
	buf   []*hub.Update
	head  int // index of the oldest
	n     int
	bytes int
	elem  *list.Element // the topic's place in Memory's LRU list
}

func (r *ring) len() int { return r.n }

func (r *ring) at(i int) *hub.Update { return r.buf[(r.head+i)%len(r.buf)] }

// push adds u in Seq order. Appends of concurrent publishes may arrive
// slightly out of order, so u moves back past any newer update.
func (r *ring) push(u *hub.Update) {
	if r.n == len(r.buf) {
		r.grow()
	}
	i := r.n
	for ; i > 0 && r.at(i-1).Seq > u.Seq; i-- {
		r.buf[(r.head+i)%len(r.buf)] = r.at(i - 1)
	}
	r.buf[(r.head+i)%len(r.buf)] = u
	r.n++
	r.bytes += u.Size()
}

func (r *ring) grow() {
	next := make([]*hub.Update, max(8, 2*len(r.buf)))
	for i := 0; i < r.n; i++ {
		next[i] = r.at(i)
	}
	r.buf, r.head = next, 0
}

func (r *ring) pop() *hub.Update {
	u := r.buf[r.head]
	r.buf[r.head] = nil
	r.head = (r.head + 1) % len(r.buf)
	r.n--
	r.bytes -= u.Size()
	return u
}

// each calls fn for the updates with Seq > after, oldest first, finding the
// start by binary search, until fn returns false.
func (r *ring) each(after uint64, fn func(*hub.Update) bool) {
	start := sort.Search(r.n, func(i int) bool { return r.at(i).Seq > after })
	for i := start; i < r.n; i++ {
		if !fn(r.at(i)) {
			return
		}
	}
}
