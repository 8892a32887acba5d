package bolt

import "sync"

// counts is a number of index entries per topic: a change to apply, or
// the entries a transaction removed.
type counts map[string]int64

// topicCounts is how many index entries each topic has, for retention's
// count bound. A topic is forgotten once it has none left, so that topics
// used once (a generation's, a subscription's) do not pile up in memory
// once retention has deleted their updates.
type topicCounts struct {
	mu sync.Mutex
	n  counts
}

// add adds delta times sign to the counts.
func (c *topicCounts) add(delta counts, sign int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = counts{}
	}
	for t, d := range delta {
		if n := c.n[t] + sign*d; n > 0 {
			c.n[t] = n
		} else {
			delete(c.n, t)
		}
	}
}

// get returns topic's count.
func (c *topicCounts) get(topic string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[topic]
}

// forget drops topic's count, found stale.
func (c *topicCounts) forget(topic string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.n, topic)
}

// over returns the topics with more than limit entries.
func (c *topicCounts) over(limit int64) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for t, n := range c.n {
		if n > limit {
			out = append(out, t)
		}
	}
	return out
}
