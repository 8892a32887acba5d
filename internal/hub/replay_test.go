package hub_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/bolt"
	"github.com/ssehub/ssehub/internal/history"
	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/topic"
)

// publishHistory publishes n updates numbered from 0 of about size bytes
// to topic, in batches.
func publishHistory(t testing.TB, h *hub.Hub, topic string, n, size int) {
	t.Helper()
	pad := strings.Repeat("x", max(0, size-6))
	for b := 0; b < n; b += hub.MaxBatch {
		var us []*hub.Update
		for i := b; i < min(n, b+hub.MaxBatch); i++ {
			us = append(us, &hub.Update{Topics: []string{topic}, Data: fmt.Sprintf("%05d %s", i, pad)})
		}
		if _, err := h.PublishBatch(context.Background(), us); err != nil {
			t.Fatal(err)
		}
	}
}

// heap returns the bytes of live heap objects after a collection.
func heap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// TestUnreadReplaysHoldLittle opens 10 subscriptions replaying a history
// of 10,000 updates of 500 bytes that never drain: together they may hold
// no more than a page of replay each, not the whole replay (with the
// durable store, each replay is a decoded copy: 15 MB).
func TestUnreadReplaysHoldLittle(t *testing.T) {
	forEachHistory(t, func(t *testing.T, hist hub.History) {
		h := newHub(t, hub.Config{History: hist})
		publishHistory(t, h, "t", 10000, 500)
		const subscribers, maxEach = 10, 1 << 20
		before := heap()
		subs := make([]*hub.Subscriber, subscribers)
		for i := range subs {
			subs[i] = subscribe(t, h, hub.SubscribeOptions{Topics: []string{"t"}, LastEventID: hub.Earliest})
		}
		grew := heap() - before
		t.Logf("%d unread replays of 10,000 updates: heap +%d kB, %d kB each", subscribers, grew>>10, grew/subscribers>>10)
		if grew > subscribers*maxEach {
			t.Errorf("heap grew by %d kB: more than %d kB per subscriber", grew>>10, maxEach>>10)
		}
		runtime.KeepAlive(subs)
	})
}

// ledger records what a test published, to tell what each subscription
// must get; publishers may share it.
type ledger struct {
	mu  sync.Mutex
	all map[uint64]*hub.Update
}

func (l *ledger) publish(t testing.TB, h *hub.Hub, u *hub.Update) string {
	id := publish(t, h, u)
	l.mu.Lock()
	l.all[u.Seq] = u
	l.mu.Unlock()
	return id
}

// want returns the ids of the updates after seq that a subscription with
// opts must get, in order.
func (l *ledger) want(t testing.TB, opts hub.SubscribeOptions, after uint64) []string {
	sels, err := topic.CompileAll(opts.Topics)
	if err != nil {
		t.Fatal(err)
	}
	private, err := topic.CompileAll(opts.Private)
	if err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	seqs := slices.Sorted(maps.Keys(l.all))
	var out []string
	for _, seq := range seqs {
		u := l.all[seq]
		if seq > after && topic.MatchAny(sels, u.Topics) && (!u.Private || topic.MatchAny(private, u.Topics)) {
			out = append(out, u.ID)
		}
	}
	return out
}

// follower drains a subscription as a stream would and, when cuts are
// allowed, resumes after a cut as a client would: from the last update it
// got, with Last-Event-ID.
type follower struct {
	opts    hub.SubscribeOptions // LastEventID: the first resume point
	after   uint64               // its seq
	sub     *hub.Subscriber
	got     []*hub.Update
	resumes int
	target  chan uint64 // the seq of the last update it must get; 0 for none
	err     error
}

func newFollower(t testing.TB, h *hub.Hub, opts hub.SubscribeOptions) *follower {
	t.Helper()
	f := &follower{opts: opts, sub: subscribe(t, h, opts), target: make(chan uint64, 1)}
	if id := f.sub.ResumedAfter(); id != hub.Earliest {
		_, seq, ok := hub.ParseID(id)
		if !ok {
			t.Fatalf("resumed after %q", id)
		}
		f.opts.LastEventID, f.after = id, seq
	}
	return f
}

// follow drains f until it has the update at its target.
func (f *follower) follow(h *hub.Hub, cuts bool) {
	var buf []*hub.Update
	var target uint64
	targets := f.target
	deadline := time.After(30 * time.Second)
	for {
		select {
		case target = <-targets:
			targets = nil
		case <-f.sub.Ready():
			buf = f.sub.Drain(buf)
			f.got = append(f.got, buf...)
			runtime.Gosched() // a little slower than the publishers
		case <-f.sub.Done():
			if !cuts || !errors.Is(f.sub.Err(), hub.ErrSlowConsumer) {
				f.err = fmt.Errorf("ended: %w", f.sub.Err())
				return
			}
			if f.err = f.resume(h); f.err != nil {
				return
			}
		case <-deadline:
			f.err = fmt.Errorf("got %d updates, none of seq %d", len(f.got), target)
			return
		}
		if targets == nil && (target == 0 || len(f.got) > 0 && f.got[len(f.got)-1].Seq >= target) {
			f.sub.Close()
			return
		}
	}
}

// resume subscribes again after the last update f got.
func (f *follower) resume(h *hub.Hub) error {
	opts := f.opts
	if len(f.got) > 0 {
		opts.LastEventID = f.got[len(f.got)-1].ID
	}
	s, err := h.Subscribe(context.Background(), opts)
	if err != nil {
		return err
	}
	if s.ResumedAfter() != opts.LastEventID {
		s.Close()
		return fmt.Errorf("resumed after %q, asked for %q", s.ResumedAfter(), opts.LastEventID)
	}
	f.sub, f.resumes = s, f.resumes+1
	return nil
}

// TestReplaySeamInPages replays histories in pages of 7 updates, to
// subscriptions to one topic, several, "*", a URI Template and private
// updates, resuming from all history, from an id, from the head, and
// joining while 4 publishers publish: each gets exactly the updates after
// its resume point it may see, in order.
func TestReplaySeamInPages(t *testing.T) {
	forEachHistory(t, func(t *testing.T, hist hub.History) { testReplaySeam(t, hist, 1<<16, false) })
}

// TestReplaySeamWhileLagging is TestReplaySeamInPages with queues of 8:
// live updates overflow the queue behind the replay, and are read from
// history too; a subscription cut once live resumes, as a client would.
func TestReplaySeamWhileLagging(t *testing.T) {
	forEachHistory(t, func(t *testing.T, hist hub.History) { testReplaySeam(t, hist, 8, true) })
}

func testReplaySeam(t *testing.T, hist hub.History, queue int, cuts bool) {
	h := newHub(t, hub.Config{History: hist, QueueSize: queue})
	hub.SetPageBounds(h, 7, 1<<20)
	l := &ledger{all: map[uint64]*hub.Update{}}
	tp := func(i int) string { return fmt.Sprint("https://ex.com/t/", i%6) }
	update := func(i int) *hub.Update {
		u := &hub.Update{Topics: []string{tp(i)}, Data: fmt.Sprint(i), Private: i%7 == 3}
		if i%5 == 0 {
			u.Topics = append(u.Topics, tp(i+1))
		}
		return u
	}
	var mid string
	for i := range 300 {
		if id := l.publish(t, h, update(i)); i == 150 {
			mid = id
		}
	}
	kinds := []hub.SubscribeOptions{
		{Topics: []string{tp(1)}},
		{Topics: []string{tp(1), tp(3)}},
		{Topics: []string{"*"}},
		{Topics: []string{"https://ex.com/t/{n}"}},
		{Topics: []string{"*"}, Private: []string{tp(2)}},
		{Topics: []string{tp(2), tp(4)}, Private: []string{"*"}},
	}
	var (
		mu        sync.Mutex
		followers []*follower
		running   sync.WaitGroup
	)
	join := func(opts hub.SubscribeOptions) {
		f := newFollower(t, h, opts)
		mu.Lock()
		followers = append(followers, f)
		mu.Unlock()
		running.Go(func() { f.follow(h, cuts) })
	}
	for _, k := range kinds {
		for _, last := range []string{hub.Earliest, mid, ""} {
			k.LastEventID = last
			join(k)
		}
	}
	var publishers sync.WaitGroup
	for p := range 4 {
		publishers.Go(func() {
			for i := range 150 {
				id := l.publish(t, h, update(300+p*150+i))
				if i == 75 {
					join(hub.SubscribeOptions{Topics: kinds[p].Topics, Private: kinds[p].Private, LastEventID: id})
					join(hub.SubscribeOptions{Topics: kinds[p+2].Topics, Private: kinds[p+2].Private, LastEventID: mid})
				}
			}
		})
	}
	publishers.Wait()
	wants := make([][]string, len(followers))
	for i, f := range followers {
		wants[i] = l.want(t, f.opts, f.after)
		var target uint64
		if w := wants[i]; len(w) > 0 {
			_, target, _ = hub.ParseID(w[len(w)-1])
		}
		f.target <- target
	}
	running.Wait()
	resumes := 0
	for i, f := range followers {
		if f.err != nil {
			t.Errorf("%v after %q: %v", f.opts.Topics, f.opts.LastEventID, f.err)
			continue
		}
		resumes += f.resumes
		if got := strings.Join(ids(f.got), ","); got != strings.Join(wants[i], ",") {
			t.Errorf("%v private %v after %q: got %d updates, want %d\n%s", f.opts.Topics, f.opts.Private,
				f.opts.LastEventID, len(f.got), len(wants[i]), firstDifference(ids(f.got), wants[i]))
		}
	}
	t.Logf("%d subscriptions, %d resumes after a cut", len(followers), resumes)
	if n := h.Stats().QueuedBytes; n != 0 {
		t.Errorf("%d bytes still counted as queued once every subscription ended", n)
	}
}

// firstDifference tells where two lists of ids part.
func firstDifference(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("at %d: got %s, want %s", i, got[i], want[i])
		}
	}
	if len(got) > len(want) {
		return fmt.Sprintf("extra %s", got[len(want)])
	}
	if len(got) < len(want) {
		return fmt.Sprintf("missing %s", want[len(got)])
	}
	return ""
}

// TestReplayTrimmedWhilePaging: retention drops updates a replay has yet
// to read while its subscriber is not reading. The subscription ends as
// ErrReplayTrimmed once the next page finds them gone, and resuming after
// the last update it got says "earliest": the client learns that events
// are missing. (With Redis, the store's TrimReporter tells it:
// internal/redis.)
func TestReplayTrimmedWhilePaging(t *testing.T) {
	cases := []struct {
		name string
		open func(t *testing.T) (hub.History, func())
	}{
		{"memory", func(*testing.T) (hub.History, func()) {
			return history.NewMemory(history.MemoryConfig{MaxEvents: 50}), func() {}
		}},
		{"bolt", func(t *testing.T) (hub.History, func()) {
			s, err := bolt.Open(bolt.Config{Dir: t.TempDir(), MaxEvents: 50})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s, func() {
				if err := s.Retain(time.Now()); err != nil {
					t.Fatal(err)
				}
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hist, retain := c.open(t)
			h := newHub(t, hub.Config{History: hist})
			hub.SetPageBounds(h, 7, 1<<20)
			publishHistory(t, h, "t", 40, 10)
			s := subscribe(t, h, hub.SubscribeOptions{Topics: []string{"t"}, LastEventID: hub.Earliest})
			publishHistory(t, h, "t", 100, 10) // drops the first 90
			retain()
			var got []*hub.Update
			for s.Err() == nil {
				select {
				case <-s.Ready():
					got = append(got, s.Drain(nil)...)
				case <-s.Done():
				case <-time.After(5 * time.Second):
					t.Fatalf("still replaying after %d updates", len(got))
				}
			}
			if !errors.Is(s.Err(), hub.ErrReplayTrimmed) || !errors.Is(s.Err(), hub.ErrSlowConsumer) || len(got) != 7 {
				t.Fatalf("ended with %v after %d updates, want %v after the first page", s.Err(), len(got), hub.ErrReplayTrimmed)
			}
			again := subscribe(t, h, hub.SubscribeOptions{Topics: []string{"t"}, LastEventID: got[len(got)-1].ID})
			if again.ResumedAfter() != hub.Earliest {
				t.Errorf("resumed after %q, want %q", again.ResumedAfter(), hub.Earliest)
			}
		})
	}
}

// TestSlowBoundCutsTheLargest: past MaxSlowBytes, the subscriber holding
// the most bytes (here a replay page of large updates nobody reads) is cut
// off once it had a grace period to drain, the others stay; the sum of
// bytes queued falls back under the bound.
func TestSlowBoundCutsTheLargest(t *testing.T) {
	const bound = 64 << 10
	h := newHub(t, hub.Config{MaxSlowBytes: bound})
	hub.SetPageBounds(h, 1024, 32<<10)
	publishHistory(t, h, "big", 200, 1000)
	publishHistory(t, h, "small", 200, 100)
	largest := subscribe(t, h, hub.SubscribeOptions{Topics: []string{"big"}, LastEventID: hub.Earliest})
	small := subscribe(t, h, hub.SubscribeOptions{Topics: []string{"small"}, LastEventID: hub.Earliest})
	if st := h.Stats(); st.QueuedBytes < 50<<10 || st.QueuedBytes > bound {
		t.Fatalf("%d bytes queued for two pages of 32 KiB and 20 kB", st.QueuedBytes)
	}
	late := subscribe(t, h, hub.SubscribeOptions{Topics: []string{"big"}, LastEventID: fmt.Sprint("urn:ssehub:", h.Epoch(), ":180")})
	// Past the bound: the first check only notes it, and gives them a
	// second to drain.
	publish(t, h, &hub.Update{Topics: []string{"small"}, Data: "live"})
	if largest.Err() != nil {
		t.Fatalf("cut before its grace period: %v", largest.Err())
	}
	hub.SetSlowGrace(h, 0) // rather than waiting for it
	publish(t, h, &hub.Update{Topics: []string{"small"}, Data: "live"})
	select {
	case <-largest.Done():
	default:
		t.Fatalf("the largest holder is still subscribed; %+v", h.Stats())
	}
	if !errors.Is(largest.Err(), hub.ErrSlowConsumer) || small.Err() != nil || late.Err() != nil {
		t.Fatalf("ended: largest %v, small %v, late %v", largest.Err(), small.Err(), late.Err())
	}
	if st := h.Stats(); st.SlowCut != 1 || st.QueuedBytes > bound {
		t.Fatalf("stats %+v", st)
	}
}

// TestSlowBoundSparesDrainingStreams: a burst that takes the bytes queued
// past MaxSlowBytes cuts no subscriber that drains it, only one that has
// not drained since.
func TestSlowBoundSparesDrainingStreams(t *testing.T) {
	h := newHub(t, hub.Config{MaxSlowBytes: 64 << 10})
	hub.SetSlowGrace(h, 0) // the next check may cut
	var subs []*hub.Subscriber
	for range 10 {
		subs = append(subs, subscribe(t, h, hub.SubscribeOptions{Topics: []string{"t"}}))
	}
	publishHistory(t, h, "t", 100, 1000) // 100 kB for each
	for _, s := range subs[1:] {
		receive(t, s, 100)
	}
	publish(t, h, &hub.Update{Topics: []string{"t"}, Data: "next"})
	if !errors.Is(subs[0].Err(), hub.ErrSlowConsumer) {
		t.Errorf("the subscriber that did not drain ended with %v", subs[0].Err())
	}
	for i, s := range subs[1:] {
		if s.Err() != nil {
			t.Errorf("subscriber %d, which drained, ended: %v", i+1, s.Err())
		}
	}
	if st := h.Stats(); st.SlowCut != 1 {
		t.Errorf("stats %+v", st)
	}
}
