package hub

// SetPageBounds sets the bounds of a replay's pages, so that a test reads
// a short history in many pages; call it before the first subscription.
func SetPageBounds(h *Hub, count, bytes int) { h.pageCount, h.pageBytes = count, bytes }
