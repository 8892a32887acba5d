package webhook

import "sync"

// queue is a bounded first-in first-out queue that never blocks its
// producers: when it is full, by count or by bytes, the oldest items make
// room for the new one and are counted as dropped. One consumer takes
// items in order. Its ring grows by doubling up to the bound, so a full
// queue drops in constant time, never copying what it holds.
type queue[T any] struct {
	max      int
	maxBytes int           // 0: bounded by count only
	size     func(T) int   // an item's bytes, when maxBytes is set
	ready    chan struct{} // holds a token once items were pushed, or the queue closed

	mu      sync.Mutex
	ring    []T // items from head, wrapping around
	head, n int
	bytes   int // the items' sizes, when maxBytes is set
	dropped uint64
	closed  bool
}

// newQueue returns a queue of at most max items and, when maxBytes is
// not 0, at most maxBytes by size (an item larger than that is still
// taken, alone).
func newQueue[T any](max, maxBytes int, size func(T) int) *queue[T] {
	return &queue[T]{max: max, maxBytes: maxBytes, size: size, ready: make(chan struct{}, 1)}
}

// push appends items, dropping the oldest beyond the bounds. It returns
// how many were dropped and the last of them, and false, dropping
// nothing, once the queue is closed.
func (q *queue[T]) push(items ...T) (dropped int, last T, ok bool) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return 0, last, false
	}
	for _, it := range items {
		n := q.sizeOf(it)
		for q.n > 0 && (q.n == len(q.ring) && !q.grow() || q.maxBytes > 0 && q.bytes+n > q.maxBytes) {
			last = q.ring[q.head]
			q.bytes -= q.sizeOf(last)
			var zero T
			q.ring[q.head] = zero
			q.head = (q.head + 1) % len(q.ring)
			q.n--
			dropped++
		}
		if q.n == len(q.ring) {
			q.grow() // empty, with no ring yet
		}
		q.ring[(q.head+q.n)%len(q.ring)] = it
		q.n++
		q.bytes += n
	}
	q.dropped += uint64(dropped)
	q.mu.Unlock()
	q.wake()
	return dropped, last, true
}

// sizeOf is its size when the queue is bounded by bytes, else 0.
func (q *queue[T]) sizeOf(it T) int {
	if q.maxBytes == 0 {
		return 0
	}
	return q.size(it)
}

// grow doubles the ring, up to max; it reports false when it is at max.
func (q *queue[T]) grow() bool {
	if len(q.ring) >= q.max {
		return false
	}
	ring := make([]T, min(q.max, max(16, 2*len(q.ring))))
	q.copyOut(ring, q.n)
	q.ring, q.head = ring, 0
	return true
}

// copyOut copies the n oldest items to dst.
func (q *queue[T]) copyOut(dst []T, n int) {
	k := copy(dst[:n], q.ring[q.head:])
	copy(dst[k:n], q.ring[:n-k])
}

func (q *queue[T]) wake() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// pop removes and returns up to n of the oldest items; none when empty.
func (q *queue[T]) pop(n int) []T {
	q.mu.Lock()
	defer q.mu.Unlock()
	n = min(n, q.n)
	if n == 0 {
		return nil
	}
	out := make([]T, n)
	q.copyOut(out, n)
	for i := range n {
		var zero T
		q.ring[(q.head+i)%len(q.ring)] = zero // let the garbage collector have them
		q.bytes -= q.sizeOf(out[i])
	}
	q.head = (q.head + n) % len(q.ring)
	q.n -= n
	return out
}

// len returns the number of items waiting.
func (q *queue[T]) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

// sizeNow returns the bytes of the items waiting (0 when the queue is not
// bounded by bytes).
func (q *queue[T]) sizeNow() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.bytes
}

// drops returns the number of items dropped so far.
func (q *queue[T]) drops() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.dropped
}

// close refuses further pushes and wakes the consumer; closing twice is
// harmless.
func (q *queue[T]) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.wake()
}

// isClosed reports whether close was called.
func (q *queue[T]) isClosed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed
}

// done reports whether the queue is closed and empty: the consumer may
// end.
func (q *queue[T]) done() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed && q.n == 0
}
