package hub_test

import (
	"context"
	"sync"
	"testing"

	"github.com/ssehub/ssehub/internal/hub"
)

// BenchmarkFanout1000 publishes to a topic with 1,000 in-process
// subscribers, each drained by its own goroutine as an HTTP stream would
// be; an op is one publish delivered to all 1,000.
func BenchmarkFanout1000(b *testing.B) {
	const subscribers = 1000
	h := newHub(b, hub.Config{QueueSize: 1 << 20})
	data := `{"message":"a typical notification payload of about a hundred bytes","n":12345}`
	var wg sync.WaitGroup
	target := make(chan uint64, 1)
	for range subscribers {
		s := subscribe(b, h, hub.SubscribeOptions{Topics: []string{"bench"}})
		wg.Go(func() { drainUntil(s, target) })
	}
	b.ReportAllocs()
	b.ResetTimer()
	var last uint64
	for range b.N {
		if _, err := h.Publish(context.Background(), &hub.Update{Topics: []string{"bench"}, Data: data}); err != nil {
			b.Fatal(err)
		}
		last++
	}
	for range subscribers {
		target <- last
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)*subscribers/b.Elapsed().Seconds(), "deliveries/s")
}

// drainUntil drains s until it has seen the update whose Seq arrives on target.
func drainUntil(s *hub.Subscriber, target <-chan uint64) {
	var buf []*hub.Update
	var seen, want uint64
	for {
		select {
		case want = <-target:
			target = nil
		case <-s.Ready():
			buf = s.Drain(buf)
			if len(buf) > 0 {
				seen = buf[len(buf)-1].Seq
			}
		case <-s.Done():
			return
		}
		if want != 0 && seen >= want {
			return
		}
	}
}
