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

// TestManyTopicsScaleLinearly stores, then expires, an update of many
// topics new to the store, and one of eight times as many: the time each
// step takes grows about eightfold, not sixty-fourfold as it did while
// each topic was looked for among those before it. The sizes take turns
// and the fastest of each is kept: the load of other processes weighs
// little.
func TestManyTopicsScaleLinearly(t *testing.T) {
	if testing.Short() {
		t.Skip("times updates of thousands of topics")
	}
	const small, large = 2500, 20000
	s := open(t, bolt.Config{MaxAge: time.Minute, RetainInterval: time.Hour})
	seq := uint64(0)
	// timed appends, then expires, an update of n topics.
	timed := func(n int) (add, expire time.Duration) {
		seq++
		u := historytest.Update(seq, "x", manyTopics(int(seq), n)...)
		u.Time = time.Now().Add(-time.Hour)
		start := time.Now()
		historytest.Append(t, s, u)
		add = time.Since(start)
		start = time.Now()
		if err := s.Retain(time.Now()); err != nil {
			t.Fatal(err)
		}
		return add, time.Since(start)
	}
	add1, exp1, add8, exp8 := time.Hour, time.Hour, time.Hour, time.Hour
	for range 3 {
		a, e := timed(small)
		add1, exp1 = min(add1, a), min(exp1, e)
		a, e = timed(large)
		add8, exp8 = min(add8, a), min(exp8, e)
	}
	t.Logf("append %d topics %v, %d topics %v (%.1f×); expire %v, %v (%.1f×)", small, add1, large, add8,
		float64(add8)/float64(add1), exp1, exp8, float64(exp8)/float64(exp1))
	// Linear is 8× (7–14× seen: bbolt's B+tree adds a logarithm, the
	// collector its share); quadratic was 37× and more.
	const limit = 25
	if r := float64(add8) / float64(add1); r > limit {
		t.Errorf("8× the topics take %.1f× as long to append, want under %d×", r, limit)
	}
	if r := float64(exp8) / float64(exp1); r > limit {
		t.Errorf("8× the topics take %.1f× as long to expire, want under %d×", r, limit)
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

// sideAppends appends updates of one topic to s one after another until
// the returned stop is called, which returns how long each took, sorted.
func sideAppends(b *testing.B, s *bolt.Store, seq *atomic.Uint64) (stop func() []time.Duration) {
	done := make(chan struct{})
	result := make(chan []time.Duration)
	started := make(chan struct{})
	go func() {
		var lat []time.Duration
		for {
			start := time.Now()
			if err := s.Append(context.Background(), historytest.Update(seq.Add(1), historytest.BenchPayload, "side")); err != nil {
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

// sidePublishes publishes updates of one topic through h one after
// another until the returned stop is called, which returns how long each
// took, sorted.
func sidePublishes(b *testing.B, h *hub.Hub) (stop func() []time.Duration) {
	done, result, started := make(chan struct{}), make(chan []time.Duration), make(chan struct{})
	go func() {
		var lat []time.Duration
		for {
			start := time.Now()
			if _, err := h.Publish(context.Background(), &hub.Update{Topics: []string{"side"}, Data: historytest.BenchPayload}); err != nil {
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
