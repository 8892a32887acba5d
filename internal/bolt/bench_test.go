package bolt_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/bolt"
	"github.com/ssehub/ssehub/internal/history/historytest"
	"github.com/ssehub/ssehub/internal/hub"
)

// BenchmarkDurablePublish measures acknowledged publishes through the hub
// into the durable store (fsync before each acknowledgement) with 1, 16 and
// 64 concurrent publishers.
func BenchmarkDurablePublish(b *testing.B) {
	for _, publishers := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("publishers=%d", publishers), func(b *testing.B) {
			s, err := bolt.Open(bolt.Config{Dir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			h := hub.New(hub.Config{History: s})
			defer h.Close()
			historytest.BenchPublish(b, h, publishers)
		})
	}
}

// BenchmarkReplay reads 10,000 updates of one topic back from disk.
func BenchmarkReplay(b *testing.B) {
	s, err := bolt.Open(bolt.Config{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const n = 10000
	var wg sync.WaitGroup
	for i := range uint64(n) {
		wg.Go(func() {
			_ = s.Append(context.Background(), historytest.Update(i+1, "payload of about a hundred bytes, like a small JSON notification message", "replay"))
		})
	}
	wg.Wait()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		count := 0
		err := s.Read(context.Background(), hub.Query{Upto: n, Topics: []string{"replay"}}, func(*hub.Update) error {
			count++
			return nil
		})
		if err != nil || count != n {
			b.Fatalf("read %d: %v", count, err)
		}
	}
	b.ReportMetric(float64(b.N)*n/b.Elapsed().Seconds(), "updates/s")
}

// BenchmarkStageThenDurable stages one update at a time, as a lone
// publisher does: how long until subscribers may have it (staged) and
// until its publisher is answered (durable: the commit and its syncs).
func BenchmarkStageThenDurable(b *testing.B) {
	s, err := bolt.Open(bolt.Config{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	staged, durable := make([]time.Duration, 0, b.N), make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range uint64(b.N) {
		start := time.Now()
		wait, err := s.Stage(context.Background(), historytest.Update(i+1, "payload of about a hundred bytes, like a small JSON notification message", "t"))
		if err != nil {
			b.Fatal(err)
		}
		staged = append(staged, time.Since(start))
		if err := wait(); err != nil {
			b.Fatal(err)
		}
		durable = append(durable, time.Since(start))
	}
	b.StopTimer()
	for name, d := range map[string][]time.Duration{"staged": staged, "durable": durable} {
		slices.Sort(d)
		b.ReportMetric(float64(d[len(d)/2].Microseconds()), name+"-p50-µs")
		b.ReportMetric(float64(d[len(d)*99/100].Microseconds()), name+"-p99-µs")
	}
}

// BenchmarkRetain trims a topic back to its bound: 1,000 updates past it,
// each in a second topic too (whose index entries go with the update), per
// round; only the trimming is timed.
func BenchmarkRetain(b *testing.B) {
	s, err := bolt.Open(bolt.Config{Dir: b.TempDir(), MaxEvents: 1000, RetainInterval: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const batch = 1000
	next := uint64(0)
	appendBatch := func() {
		var wg sync.WaitGroup
		for range batch {
			next++
			seq := next
			wg.Go(func() {
				_ = s.Append(context.Background(), historytest.Update(seq, "payload of about a hundred bytes, like a small JSON notification message", "a", "b"))
			})
		}
		wg.Wait()
	}
	appendBatch()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		appendBatch()
		b.StartTimer()
		if err := s.Retain(time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*batch/b.Elapsed().Seconds(), "trimmed/s")
}
