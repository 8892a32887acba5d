package hub_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ssehub/ssehub/internal/bolt"
	"github.com/ssehub/ssehub/internal/history"
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

// BenchmarkFanoutTopics publishes from GOMAXPROCS goroutines to 16 topics
// of 64 subscribers each, drained as in BenchmarkFanout1000: publishes to
// different topics fan out under different shards' locks. An op is one
// publish delivered to its topic's 64 subscribers.
func BenchmarkFanoutTopics(b *testing.B) {
	const topics, perTopic = 16, 64
	h := newHub(b, hub.Config{QueueSize: 1 << 20})
	data := `{"message":"a typical notification payload of about a hundred bytes","n":12345}`
	var wg sync.WaitGroup
	targets := make([]chan uint64, topics)
	for i := range topics {
		targets[i] = make(chan uint64, perTopic)
		for range perTopic {
			s := subscribe(b, h, hub.SubscribeOptions{Topics: []string{fmt.Sprint("bench-", i)}})
			wg.Go(func() { drainUntil(s, targets[i]) })
		}
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			u := &hub.Update{Topics: []string{fmt.Sprint("bench-", next.Add(1)%topics)}, Data: data}
			if _, err := h.Publish(context.Background(), u); err != nil {
				b.Error(err)
				return
			}
		}
	})
	for i := range topics {
		u := &hub.Update{Topics: []string{fmt.Sprint("bench-", i)}, Data: data}
		if _, err := h.Publish(context.Background(), u); err != nil {
			b.Fatal(err)
		}
		for range perTopic {
			targets[i] <- u.Seq
		}
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)*perTopic/b.Elapsed().Seconds(), "deliveries/s")
}

// BenchmarkReplay10k replays a history of 10,000 updates of 500 bytes to a
// subscriber that drains it as a stream would; an op is one whole replay.
func BenchmarkReplay10k(b *testing.B) {
	for _, c := range []struct {
		name string
		open func(b *testing.B) hub.History
	}{
		{"memory", func(*testing.B) hub.History {
			return history.NewMemory(history.MemoryConfig{MaxBytes: 64 << 20})
		}},
		{"bolt", func(b *testing.B) hub.History {
			s, err := bolt.Open(bolt.Config{Dir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			const n = 10000
			h := newHub(b, hub.Config{History: c.open(b)})
			publishHistory(b, h, "t", n, 500)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				s := subscribe(b, h, hub.SubscribeOptions{Topics: []string{"t"}, LastEventID: hub.Earliest})
				var buf []*hub.Update
				for got := 0; got < n; {
					<-s.Ready()
					buf = s.Drain(buf)
					got += len(buf)
				}
				s.Close()
			}
		})
	}
}
