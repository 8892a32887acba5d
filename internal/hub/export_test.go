package hub

import "time"

// SetPageBounds sets the bounds of a replay's pages, so that a test reads
// a short history in many pages; call it before the first subscription.
func SetPageBounds(h *Hub, count, bytes int) { h.pageCount, h.pageBytes = count, bytes }

// SetSlowGrace sets how long subscribers have to drain once the hub is
// past MaxSlowBytes, so that a test need not wait a second.
func SetSlowGrace(h *Hub, d time.Duration) {
	h.slow.mu.Lock()
	h.slow.grace = d
	h.slow.mu.Unlock()
}

// Assigned returns the head and the last position given to a publish.
func (h *Hub) Assigned() (head, assigned uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seq, h.assigned
}

// Taggers counts the subscribers whose selectors the hub keeps for tags.
func (h *Hub) Taggers() int {
	n := 0
	h.taggers.Range(func(any, any) bool { n++; return true })
	return n
}
