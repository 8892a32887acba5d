package webhook

import "sync"

// queue is a bounded first-in first-out queue that never blocks its
// producers: when it is full, the oldest item makes room for the new one
// and is counted as dropped. One consumer takes items in order.
type queue[T any] struct {
	max   int
	ready chan struct{} // holds a token once items were pushed, or the queue closed

	mu      sync.Mutex
	items   []T
	dropped uint64
	closed  bool
}

func newQueue[T any](max int) *queue[T] {
	return &queue[T]{max: max, ready: make(chan struct{}, 1)}
}

// push appends items, dropping the oldest beyond the bound. It returns how
// many were dropped, and false, dropping nothing, once the queue is closed.
func (q *queue[T]) push(items ...T) (dropped int, ok bool) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return 0, false
	}
	q.items = append(q.items, items...)
	if over := len(q.items) - q.max; over > 0 {
		clear(q.items[:over]) // let the garbage collector have them
		q.items = q.items[over:]
		q.dropped += uint64(over)
		dropped = over
	}
	q.mu.Unlock()
	q.wake()
	return dropped, true
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
	n = min(n, len(q.items))
	if n == 0 {
		return nil
	}
	out := make([]T, n)
	copy(out, q.items)
	clear(q.items[:n])
	q.items = q.items[n:]
	if len(q.items) == 0 {
		q.items = nil // start again at the front of a new array
	}
	return out
}

// len returns the number of items waiting.
func (q *queue[T]) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
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

// done reports whether the queue is closed and empty: the consumer may
// end.
func (q *queue[T]) done() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed && len(q.items) == 0
}
