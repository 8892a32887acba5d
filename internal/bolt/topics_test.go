package bolt_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/bolt"
	"github.com/ssehub/ssehub/internal/history/historytest"
	"github.com/ssehub/ssehub/internal/hub"
)

// manyTopics returns n distinct topics of a realistic length, named after
// round so that each round's are new to the store.
func manyTopics(round, n int) []string {
	topics := make([]string, n)
	for i := range topics {
		topics[i] = fmt.Sprintf("https://example.com/books/%d/%d", round, i)
	}
	return topics
}

// TestManyTopicsScaleLinearly stores, then expires, one update of 20,000
// topics new to the store, and eight updates of 2,500: as much work if
// each step is linear, eight times as much for the one update when it was
// quadratic (each topic was looked for among those before it). Both take
// about as long, so the load of other processes stretches them alike; the
// two take turns and the fastest of each is kept.
func TestManyTopicsScaleLinearly(t *testing.T) {
	if testing.Short() {
		t.Skip("times updates of thousands of topics")
	}
	const large, parts = 20000, 8
	s := open(t, bolt.Config{MaxAge: time.Minute, RetainInterval: time.Hour})
	seq := uint64(0)
	// timed appends updates of n topics one after another, then expires
	// them.
	timed := func(updates, n int) (add, expire time.Duration) {
		var us []*hub.Update
		for range updates {
			seq++
			u := historytest.Update(seq, "x", manyTopics(int(seq), n)...)
			u.Time = time.Now().Add(-time.Hour)
			us = append(us, u)
		}
		start := time.Now()
		historytest.Append(t, s, us...)
		add = time.Since(start)
		start = time.Now()
		if err := s.Retain(time.Now()); err != nil {
			t.Fatal(err)
		}
		return add, time.Since(start)
	}
	addParts, expParts, addOne, expOne := time.Hour, time.Hour, time.Hour, time.Hour
	for range 3 {
		a, e := timed(parts, large/parts)
		addParts, expParts = min(addParts, a), min(expParts, e)
		a, e = timed(1, large)
		addOne, expOne = min(addOne, a), min(expOne, e)
	}
	addRatio, expRatio := float64(addOne)/float64(addParts), float64(expOne)/float64(expParts)
	t.Logf("%d updates of %d topics: append %v, expire %v; one of %d: %v (%.1f×), %v (%.1f×)",
		parts, large/parts, addParts, expParts, large, addOne, addRatio, expOne, expRatio)
	// Linear is 1× (up to 2× seen: bbolt's B+tree adds a logarithm);
	// quadratic was 4.2× and more.
	const limit = 3
	if addRatio > limit || expRatio > limit {
		t.Errorf("one update of %d topics takes %.1f× as long to append and %.1f× to expire as %d of %d, want under %d×",
			large, addRatio, expRatio, parts, large/parts, limit)
	}
	if ids := historytest.IDs(t, s, hub.Query{Upto: seq}); ids != "" {
		t.Errorf("expired updates remain: %s", ids)
	}
	if counted, indexes := bolt.TopicIndexes(t, s); counted != 0 || indexes != 0 {
		t.Errorf("after expiry %d topics counted, %d indexes, want none", counted, indexes)
	}
}

// TestStagedReadByManyTopics reads staged updates of many topics by many
// topics (a set past a few of them), while their commit is held.
func TestStagedReadByManyTopics(t *testing.T) {
	s := open(t, bolt.Config{})
	release := bolt.HoldCommits(t, s)
	topics := manyTopics(0, 40)
	var durables []func() error
	for _, u := range []*hub.Update{
		historytest.Update(1, "", append(topics, topics[0], topics[39])...),
		historytest.Update(2, "", topics[7]),
		historytest.Update(3, "", "other"),
	} {
		durables = append(durables, stageWithin(t, s, u))
	}
	cases := []struct {
		topics []string
		want   string
	}{
		{topics[39:], "id1"},
		{topics[:20], "id1,id2"},
		{append([]string{"other"}, topics[20:]...), "id1,id3"},
		{manyTopics(1, 20), ""},
	}
	for _, c := range cases {
		if got := historytest.IDs(t, s, hub.Query{Upto: 9, Topics: c.topics}); got != c.want {
			t.Errorf("staged, read by %d topics: %q, want %q", len(c.topics), got, c.want)
		}
	}
	release()
	for _, durable := range durables {
		if err := durable(); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range cases {
		if got := historytest.IDs(t, s, hub.Query{Upto: 9, Topics: c.topics}); got != c.want {
			t.Errorf("committed, read by %d topics: %q, want %q", len(c.topics), got, c.want)
		}
	}
}

// BenchmarkManyTopics appends updates of many topics, new to the store
// (each one a topic index to create), one at a time, while another
// publisher appends updates of one topic one after another: an op is one
// update of many topics stored; side-p50-µs and side-max-µs are how long
// the other publisher's appends took meanwhile.
func BenchmarkManyTopics(b *testing.B) {
	for _, n := range []int{1, 100, 1000, 10000, 40000} {
		b.Run(fmt.Sprintf("topics=%d", n), func(b *testing.B) {
			s, err := bolt.Open(bolt.Config{Dir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			var seq atomic.Uint64
			rounds := make([][]string, b.N)
			for i := range rounds {
				rounds[i] = manyTopics(i, n)
			}
			side := sideAppends(b, s, &seq)
			b.ResetTimer()
			for i := range b.N {
				u := historytest.Update(seq.Add(1), historytest.BenchPayload, rounds[i]...)
				if err := s.Append(context.Background(), u); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			lat := side()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/topic")
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "side-p50-µs")
			b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "side-max-µs")
		})
	}
}

// sideLoad calls publish, one call after another, until the returned stop
// is called, which returns how long each call took, sorted.
func sideLoad(b *testing.B, publish func() error) (stop func() []time.Duration) {
	done, result, started := make(chan struct{}), make(chan []time.Duration), make(chan struct{})
	go func() {
		var lat []time.Duration
		for {
			start := time.Now()
			if err := publish(); err != nil {
				b.Error(err)
			}
			lat = append(lat, time.Since(start))
			if len(lat) == 1 {
				close(started)
			}
			select {
			case <-done:
				slices.Sort(lat)
				result <- lat
				return
			default:
			}
		}
	}()
	<-started
	return func() []time.Duration {
		close(done)
		return <-result
	}
}

// sideAppends appends updates of one topic to s (see sideLoad).
func sideAppends(b *testing.B, s *bolt.Store, seq *atomic.Uint64) (stop func() []time.Duration) {
	return sideLoad(b, func() error {
		return s.Append(context.Background(), historytest.Update(seq.Add(1), historytest.BenchPayload, "side"))
	})
}

// BenchmarkMaximalPublish publishes through the hub into the store a batch
// of updates of many topics, new to the store, at a time, while another
// publisher sends updates of one topic one after another: an op is one
// batch acknowledged; side-p50-µs and side-max-µs are how long the other
// publisher's publishes took meanwhile. With 100 topics (the HTTP
// layer's default bound) and 1,000 (the hub's), one update and a batch of
// them.
func BenchmarkMaximalPublish(b *testing.B) {
	for _, c := range []struct{ updates, topics int }{{1, 1}, {1, 100}, {1, hub.MaxUpdateTopics}, {1000, 1}, {1000, 100}, {100, hub.MaxUpdateTopics}} {
		b.Run(fmt.Sprintf("updates=%d/topics=%d", c.updates, c.topics), func(b *testing.B) {
			s, err := bolt.Open(bolt.Config{Dir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			h := hub.New(hub.Config{History: s})
			defer h.Close()
			batches := make([][]*hub.Update, b.N)
			for i := range batches {
				for j := range c.updates {
					batches[i] = append(batches[i], &hub.Update{Topics: manyTopics(i*c.updates+j, c.topics), Data: historytest.BenchPayload})
				}
			}
			side := sidePublishes(b, h)
			b.ResetTimer()
			for _, batch := range batches {
				if _, err := h.PublishBatch(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			lat := side()
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "side-p50-µs")
			b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "side-max-µs")
		})
	}
}

// sidePublishes publishes updates of one topic through h (see sideLoad).
func sidePublishes(b *testing.B, h *hub.Hub) (stop func() []time.Duration) {
	return sideLoad(b, func() error {
		_, err := h.Publish(context.Background(), &hub.Update{Topics: []string{"side"}, Data: historytest.BenchPayload})
		return err
	})
}

// TestCommitsBoundedByTopics queues updates of a thousand topics each,
// twenty thousand in all, behind a held commit, then an update of one
// topic: it is committed, and durable, long before the last of them, in
// one of the first commits of at most MaxBatch index entries each, where
// it used to wait for one commit of all of them.
func TestCommitsBoundedByTopics(t *testing.T) {
	const updates, topics = 20, hub.MaxUpdateTopics
	s := open(t, bolt.Config{})
	release := bolt.HoldCommits(t, s)
	var durables []func() error
	for i := range updates {
		durables = append(durables, stageWithin(t, s, historytest.Update(uint64(i+1), "x", manyTopics(i, topics)...)))
	}
	side := stageWithin(t, s, historytest.Update(updates+1, "x", "side"))
	release()
	if err := side(); err != nil {
		t.Fatal(err)
	}
	if _, indexes := bolt.TopicIndexes(t, s); indexes >= updates*topics {
		t.Errorf("when the update of one topic is durable, %d topic indexes are written: all of the %d updates before it, committed with it",
			indexes, updates)
	}
	for _, durable := range durables {
		if err := durable(); err != nil {
			t.Fatal(err)
		}
	}
	if counted, indexes := bolt.TopicIndexes(t, s); counted != updates*topics+1 || indexes != counted {
		t.Errorf("%d topics counted and %d indexes, want %d", counted, indexes, updates*topics+1)
	}
}
