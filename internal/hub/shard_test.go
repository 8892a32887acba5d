package hub_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/ssehub/ssehub/internal/hub"
)

// TestShardedFanOutKeepsOrder publishes from 8 goroutines to 12 topics
// (spread over the shards) while subscriptions to one topic, to several
// and to "*" come and go, some resuming from an id seen mid-run and some
// from the head. Each gets every update of its topics after its resume
// point exactly once, in position order: single-topic ones within their
// topic, the others across all their topics.
func TestShardedFanOutKeepsOrder(t *testing.T) {
	forEachHistory(t, testShardedFanOutKeepsOrder)
}

func testShardedFanOutKeepsOrder(t *testing.T, hist hub.History) {
	h := newHub(t, hub.Config{QueueSize: 1 << 16, History: hist})
	const publishers, each, topics = 8, 300, 12
	topicName := func(i int) string { return fmt.Sprintf("t%d", i%topics) }
	type watcher struct {
		sub    *hub.Subscriber
		topics map[string]bool // nil: all
		after  uint64          // the resume point's seq; it gets every later update of its topics
	}
	var (
		mu       sync.Mutex
		watchers []watcher
	)
	watch := func(tops []string, lastID string, after uint64) {
		s := subscribe(t, h, hub.SubscribeOptions{Topics: tops, LastEventID: lastID})
		w := watcher{sub: s, after: after}
		if tops[0] != "*" {
			w.topics = map[string]bool{}
			for _, tp := range tops {
				w.topics[tp] = true
			}
		}
		mu.Lock()
		watchers = append(watchers, w)
		mu.Unlock()
	}
	first := publish(t, h, &hub.Update{Topics: []string{"t0"}, Data: "start"})
	for i := range topics {
		watch([]string{topicName(i)}, first, 1)
	}
	watch([]string{"t1", "t5", "t9"}, first, 1)
	watch([]string{"*"}, first, 1)

	var wg sync.WaitGroup
	var topicOf sync.Map // seq -> topic
	for p := range publishers {
		wg.Go(func() {
			for i := range each {
				u := &hub.Update{Topics: []string{topicName(p*each + i)}, Data: fmt.Sprint(p, i)}
				id := publish(t, h, u)
				topicOf.Store(u.Seq, u.Topics[0])
				if i%100 == 50 { // join mid-run: from this id, and from the head
					watch([]string{topicName(i + p)}, id, u.Seq)
					watch([]string{topicName(i), topicName(i + 3)}, id, u.Seq)
					watch([]string{"*"}, id, u.Seq)
				}
			}
		})
	}
	wg.Wait()
	const total = publishers*each + 1
	for _, w := range watchers {
		var want int
		for seq := w.after + 1; seq <= total; seq++ {
			tp, _ := topicOf.Load(seq)
			if w.topics == nil || w.topics[fmt.Sprint(tp)] {
				want++
			}
		}
		got := receive(t, w.sub, want)
		for i, u := range got {
			if u.Seq <= w.after || (w.topics != nil && !w.topics[u.Topics[0]]) {
				t.Fatalf("%v after %d: got seq %d of %v", w.topics, w.after, u.Seq, u.Topics)
			}
			if i > 0 && u.Seq <= got[i-1].Seq {
				t.Fatalf("%v after %d: seq %d after %d", w.topics, w.after, u.Seq, got[i-1].Seq)
			}
		}
	}
}
