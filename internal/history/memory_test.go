package history_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/history"
	"github.com/ssehub/ssehub/internal/history/historytest"
	"github.com/ssehub/ssehub/internal/hub"
)

var (
	appendAll = historytest.Append
	read      = historytest.IDs
)

func upd(seq uint64, data string, topics ...string) *hub.Update {
	return historytest.Update(seq, data, topics...)
}

func TestMemoryBoundsByCount(t *testing.T) {
	m := history.NewMemory(history.MemoryConfig{MaxEvents: 3})
	for i := uint64(1); i <= 10; i++ {
		appendAll(t, m, upd(i, "x", "a"))
	}
	if got := read(t, m, hub.Query{Upto: 100}); got != "id8,id9,id10" {
		t.Fatalf("retained %s", got)
	}
	if _, ok, _ := m.Lookup(context.Background(), "id7"); ok {
		t.Fatal("evicted id still found")
	}
	if seq, ok, _ := m.Lookup(context.Background(), "id9"); !ok || seq != 9 {
		t.Fatalf("lookup id9 = %d %v", seq, ok)
	}
}

func TestMemoryBoundsByBytes(t *testing.T) {
	big := strings.Repeat("x", 1000)
	m := history.NewMemory(history.MemoryConfig{MaxBytes: 3500})
	for i := uint64(1); i <= 10; i++ {
		appendAll(t, m, upd(i, big, "a"))
	}
	if n := m.Len("a"); n < 1 || n > 3 {
		t.Fatalf("kept %d updates of ~1 KB under a 3.5 KB bound", n)
	}
	m = history.NewMemory(history.MemoryConfig{MaxBytes: 10})
	appendAll(t, m, upd(1, big, "a"))
	if m.Len("a") != 1 {
		t.Fatal("an update larger than the bound must still be kept alone")
	}
}

func TestMemoryDropsLeastRecentlyUsedTopicsPastTotal(t *testing.T) {
	big := strings.Repeat("x", 1000)
	m := history.NewMemory(history.MemoryConfig{MaxTotalBytes: 5000})
	for i := uint64(1); i <= 10; i++ {
		appendAll(t, m, upd(i, big, fmt.Sprint("t", i)))
	}
	appendAll(t, m, upd(11, big, "t10")) // t10 is the most recently used
	if m.Bytes() > 5000 || m.Topics() > 4 {
		t.Fatalf("%d bytes in %d topics past a 5000-byte limit", m.Bytes(), m.Topics())
	}
	if m.Len("t10") != 2 || m.Len("t1") != 0 {
		t.Fatalf("kept t10=%d t1=%d", m.Len("t10"), m.Len("t1"))
	}
	if _, ok, _ := m.Lookup(context.Background(), "id1"); ok {
		t.Fatal("id of a dropped topic still found")
	}
}

func TestMemoryKeepsOrderWhenAppendsArriveOutOfOrder(t *testing.T) {
	m := history.NewMemory(history.MemoryConfig{MaxEvents: 4})
	for _, seq := range []uint64{1, 3, 2, 5, 4, 6} {
		appendAll(t, m, upd(seq, "", "a"))
	}
	if got := read(t, m, hub.Query{Upto: 9}); got != "id3,id4,id5,id6" {
		t.Fatalf("retained %s", got)
	}
}

func TestMemoryConformance(t *testing.T) {
	historytest.Run(t, func(*testing.T) hub.History { return history.NewMemory(history.MemoryConfig{}) })
}

// TestMemoryManyTopicsScaleLinearly appends one update of 20,000 topics,
// and eight updates of 2,500, each time to a new history: as much work if
// appending is linear, eight times as much for the one update when it was
// quadratic (each topic was looked for among those before it, and each
// ring summed the update's topics for its size). Both take about as long,
// so the load of other processes stretches them alike; the two take turns,
// the collector is held off while one is timed, and the fastest of each is
// kept.
func TestMemoryManyTopicsScaleLinearly(t *testing.T) {
	if testing.Short() {
		t.Skip("times updates of thousands of topics")
	}
	const large, parts = 20000, 8
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	timed := func(updates, n int) time.Duration {
		// Each ring counts the whole update, its topics included: with the
		// default total, the update would evict its own topics.
		m := history.NewMemory(history.MemoryConfig{MaxTotalBytes: 1 << 40})
		var us []*hub.Update
		for i := range updates {
			topics := make([]string, n)
			for j := range topics {
				topics[j] = fmt.Sprint("https://example.com/books/", i, "/", j)
			}
			us = append(us, upd(uint64(i+1), "x", topics...))
		}
		runtime.GC()
		start := time.Now()
		appendAll(t, m, us...)
		d := time.Since(start)
		if m.Topics() != updates*n {
			t.Fatalf("%d topics retained, want %d", m.Topics(), updates*n)
		}
		return d
	}
	dParts, dOne := time.Hour, time.Hour
	for range 7 {
		dParts, dOne = min(dParts, timed(parts, large/parts)), min(dOne, timed(1, large))
	}
	ratio := float64(dOne) / float64(dParts)
	t.Logf("%d updates of %d topics %v, one of %d %v (%.1f×)", parts, large/parts, dParts, large, dOne, ratio)
	// Linear is 1× (up to 2× seen); quadratic was 8× and more.
	if ratio > 3 {
		t.Errorf("one update of %d topics takes %.1f× as long to append as %d of %d, want under 3×", large, ratio, parts, large/parts)
	}
}

// BenchmarkMemoryWildcardPages replays a history of 50,000 topics of 4
// updates each a page of 1024 at a time, reading all topics, as a replay
// of "*" does. Each page holds the read lock as long as it takes, so it
// holds off appends that long: a page used to cost as much as all that is
// left to read, every ring giving up to a page of its own.
func BenchmarkMemoryWildcardPages(b *testing.B) {
	const topics, perTopic, limit = 50000, 4, 1024
	m := history.NewMemory(history.MemoryConfig{MaxTotalBytes: 1 << 40})
	for i := range topics * perTopic {
		if err := m.Append(context.Background(), upd(uint64(i+1), "x", fmt.Sprint("t", i%topics))); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	pages := 0
	for b.Loop() {
		q := hub.Query{Upto: topics * perTopic, Limit: limit}
		for n := limit; n == limit; pages++ {
			n = 0
			err := m.Read(context.Background(), q, func(u *hub.Update) error {
				if n == limit {
					return errStop
				}
				n++
				q.After = u.Seq
				return nil
			})
			if err != nil && err != errStop {
				b.Fatal(err)
			}
		}
		if q.After != topics*perTopic {
			b.Fatalf("replay stopped after %d", q.After)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(pages), "µs/page")
}

var errStop = errors.New("stop")
