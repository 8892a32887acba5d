package hub

import (
	"container/heap"
	"slices"
)

// TopicCount is the number of subscriptions listening to one topic, or to
// one non-exact selector ("*", a URI Template).
type TopicCount struct {
	Topic       string
	Subscribers int
}

// TopicCounts is a bounded view of the subscriptions by topic: the busiest
// topics, and the rest summed so that a caller with a fixed budget (a
// metrics label set, a table on a page) still accounts for every one.
type TopicCounts struct {
	Top    []TopicCount // busiest first; ties by name
	Other  int          // subscriptions to the topics not in Top
	Topics int          // topics and non-exact selectors with subscribers
}

// TopTopics returns the n topics with the most subscriptions. A
// subscription with several selectors counts once for each, so the counts
// may add up to more than Stats.Subscribers. Non-exact selectors are
// counted under their text ("*", "https://example.com/{id}").
//
// It visits every topic under the shards' locks, keeping only n of them in a
// heap: meant for a scrape or a once-a-second snapshot, not a hot path.
func (h *Hub) TopTopics(n int) TopicCounts {
	var (
		top   = make(topHeap, 0, max(n, 0))
		total int
		out   TopicCounts
	)
	keep := func(t string, c int) {
		total += c
		out.Topics++
		if n <= 0 {
			return
		}
		switch {
		case len(top) < n:
			heap.Push(&top, TopicCount{t, c})
		case less(top[0], TopicCount{t, c}):
			top[0] = TopicCount{t, c}
			heap.Fix(&top, 0)
		}
	}
	counts := map[string]int{}
	for _, sh := range h.shards {
		sh.mu.Lock()
		for t, l := range sh.byTopic {
			counts[t] += len(l.subs)
		}
		for _, s := range sh.wild.subs {
			for _, sel := range s.selectors.Selectors() {
				if !sel.Exact() {
					counts[sel.String()]++
				}
			}
		}
		sh.mu.Unlock()
	}
	for t, c := range counts {
		keep(t, c)
	}
	out.Top = []TopicCount(top)
	slices.SortFunc(out.Top, func(a, b TopicCount) int {
		if less(a, b) {
			return 1
		}
		return -1
	})
	out.Other = total
	for _, tc := range out.Top {
		out.Other -= tc.Subscribers
	}
	return out
}

// Listeners returns the number of subscriptions naming topic exactly: for
// a reserved topic, every subscription that receives its updates.
func (h *Hub) Listeners(topic string) int {
	n := 0
	for _, sh := range h.naming(topic) {
		sh.mu.Lock()
		n += sh.listeners(topic)
		sh.mu.Unlock()
	}
	return n
}

// less orders topic counts from the least busy; among equals the name
// that sorts later is "less", so that the kept ones sort first by name.
func less(a, b TopicCount) bool {
	if a.Subscribers != b.Subscribers {
		return a.Subscribers < b.Subscribers
	}
	return a.Topic > b.Topic
}

// topHeap is a min-heap of topic counts: its root is the least busy kept.
type topHeap []TopicCount

func (t topHeap) Len() int           { return len(t) }
func (t topHeap) Less(i, j int) bool { return less(t[i], t[j]) }
func (t topHeap) Swap(i, j int)      { t[i], t[j] = t[j], t[i] }
func (t *topHeap) Push(x any)        { *t = append(*t, x.(TopicCount)) }
func (t *topHeap) Pop() any {
	old := *t
	x := old[len(old)-1]
	*t = old[:len(old)-1]
	return x
}
