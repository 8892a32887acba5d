package redis_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/history/historytest"
	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/redis"
	"github.com/ssehub/ssehub/internal/redis/redistest"
)

// TestManyTopicsWithRepeats publishes an update of more topics than
// hub.DistinctTopics compares pair by pair, some repeated (an entry id
// goes into a stream once, or the script fails), and reads it once by
// many topics, some repeated too.
func TestManyTopicsWithRepeats(t *testing.T) {
	srv := redistest.Start(t)
	n := startNode(t, srv, redis.Options{})
	topics := numbered(40)
	want := []string{
		publish(t, n.hub, &hub.Update{Topics: append(slices.Clone(topics), topics[0], topics[39], topics[5])}),
		publish(t, n.hub, &hub.Update{Topics: []string{topics[7]}}),
	}
	publish(t, n.hub, &hub.Update{Topics: []string{"other", "other"}})
	var got []string
	q := hub.Query{Upto: 1 << 62, Topics: append(slices.Clone(topics[:20]), topics[7], topics[0])}
	err := n.store.Read(context.Background(), q, func(u *hub.Update) error {
		got = append(got, u.ID)
		return nil
	})
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("read by %d topics: %v %v, want %v", len(q.Topics), got, err, want)
	}
	s := subscribe(t, n.hub, hub.SubscribeOptions{Topics: q.Topics, LastEventID: hub.Earliest})
	if got := ids(receive(t, s, 2)); !slices.Equal(got, want) {
		t.Fatalf("replayed %v, want %v", got, want)
	}
}

// numbered returns n distinct topics.
func numbered(n int) []string {
	topics := make([]string, n)
	for i := range topics {
		topics[i] = fmt.Sprint("https://example.com/books/", i)
	}
	return topics
}

// BenchmarkClusterManyTopics publishes updates of many topics through a
// node's hub into Redis, one at a time, while another publisher sends
// updates of one topic one after another: an op is one update of many
// topics acknowledged; side-p50-µs and side-max-µs are how long the other
// publisher's publishes took meanwhile. The add script runs in Redis
// whole, so it holds up every node's publishes while it runs.
func BenchmarkClusterManyTopics(b *testing.B) {
	srv := redistest.Start(b)
	for _, n := range []int{1, 100, hub.MaxUpdateTopics} {
		b.Run(fmt.Sprintf("topics=%d", n), func(b *testing.B) {
			node := startNode(b, srv, redis.Options{Prefix: fmt.Sprint("many", n), LogLength: 10000, MaxEvents: 1000})
			topics := numbered(n)
			done, result := make(chan struct{}), make(chan []time.Duration)
			go func() {
				var lat []time.Duration
				for {
					start := time.Now()
					u := &hub.Update{Topics: []string{"side"}, Data: historytest.BenchPayload}
					if _, err := node.hub.Publish(context.Background(), u); err != nil {
						b.Error(err)
					}
					lat = append(lat, time.Since(start))
					select {
					case <-done:
						slices.Sort(lat)
						result <- lat
						return
					default:
					}
				}
			}()
			b.ResetTimer()
			for range b.N {
				u := &hub.Update{Topics: topics, Data: historytest.BenchPayload}
				if _, err := node.hub.Publish(context.Background(), u); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			close(done)
			lat := <-result
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "side-p50-µs")
			b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "side-max-µs")
		})
	}
}
