package redis_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/redis"
	"github.com/ssehub/ssehub/internal/redis/redistest"
)

// TestNodesShareOneOrder: updates published concurrently on two nodes reach
// the subscribers of both nodes once each, in the same order, with the ids
// their publishers were given.
func TestNodesShareOneOrder(t *testing.T) {
	srv := redistest.Start(t)
	a, b := startNode(t, srv, redis.Options{}), startNode(t, srv, redis.Options{})
	subs := []*hub.Subscriber{
		subscribe(t, a.hub, hub.SubscribeOptions{Topics: []string{"t"}}),
		subscribe(t, b.hub, hub.SubscribeOptions{Topics: []string{"t"}}),
		subscribe(t, b.hub, hub.SubscribeOptions{Topics: []string{"*"}}),
		subscribe(t, a.hub, hub.SubscribeOptions{Topics: []string{"/books/{id}", "t"}}),
	}
	const perNode = 300
	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	for _, n := range []*node{a, b} {
		for w := range 3 {
			wg.Go(func() {
				for i := range perNode / 3 {
					id := publish(t, n.hub, &hub.Update{Topics: []string{"t"}, Data: fmt.Sprintf("%d-%d", w, i)})
					mu.Lock()
					acked[id] = true
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	var first []string
	for i, s := range subs {
		got := ids(receive(t, s, 2*perNode))
		for _, id := range got {
			if !acked[id] {
				t.Fatalf("subscriber %d got unacknowledged id %s", i, id)
			}
		}
		if i == 0 {
			first = got
			if len(slices.Compact(slices.Clone(got))) != len(got) {
				t.Fatal("duplicates")
			}
			continue
		}
		if !slices.Equal(got, first) {
			t.Fatalf("subscriber %d saw another order", i)
		}
	}
	if extra := subs[0].Drain(nil); len(extra) != 0 {
		t.Fatalf("%d extra updates", len(extra))
	}
}

// TestResumeOnAnotherNode: an id handed out by one node resumes on another,
// generated or chosen by the publisher, for exact and wildcard selectors,
// and the private updates follow the subscriber's claims.
func TestResumeOnAnotherNode(t *testing.T) {
	srv := redistest.Start(t)
	a, b := startNode(t, srv, redis.Options{}), startNode(t, srv, redis.Options{})
	var all []string
	for i := range 10 {
		u := &hub.Update{Topics: []string{"news", "alt"}, Data: fmt.Sprint(i)}
		if i == 4 {
			u.ID = "chosen-4"
		}
		if i == 7 {
			u.Topics, u.Private = []string{"secret"}, true
		}
		all = append(all, publish(t, a.hub, u))
	}
	waitHead(t, b.hub, all[9])
	cases := []struct {
		name string
		opts hub.SubscribeOptions
		want []string
	}{
		{"generated id", hub.SubscribeOptions{Topics: []string{"news"}, LastEventID: all[2]}, without(all[3:], all[7])},
		{"chosen id", hub.SubscribeOptions{Topics: []string{"news", "alt"}, LastEventID: "chosen-4"}, without(all[5:], all[7])},
		{"wildcard", hub.SubscribeOptions{Topics: []string{"*"}, LastEventID: all[5]}, without(all[6:], all[7])},
		{"authorized", hub.SubscribeOptions{Topics: []string{"*"}, Private: []string{"secret"}, LastEventID: all[5]}, all[6:]},
		{"earliest", hub.SubscribeOptions{Topics: []string{"secret"}, Private: []string{"*"}, LastEventID: hub.Earliest}, all[7:8]},
	}
	for _, c := range cases {
		s := subscribe(t, b.hub, c.opts)
		if got := ids(receive(t, s, len(c.want))); !slices.Equal(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
		if s.ResumedAfter() != c.opts.LastEventID {
			t.Errorf("%s: resumed after %q, want %q", c.name, s.ResumedAfter(), c.opts.LastEventID)
		}
	}
}

func without(ids []string, drop string) []string {
	return slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return id == drop })
}

func waitHead(t testing.TB, h *hub.Hub, id string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, head := h.Head(); head == id {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("head never reached %s", id)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitFanned waits until a new subscription to topic starts at or after
// id: the hub's head moves before the shards have fanned an update out, and
// a subscriber replays only what its shard has.
func waitFanned(t *testing.T, h *hub.Hub, topic, id string) {
	t.Helper()
	_, want, _ := hub.ParseID(id)
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := subscribe(t, h, hub.SubscribeOptions{Topics: []string{topic}})
		at := s.ResumedAfter()
		s.Close()
		if _, seq, ok := hub.ParseID(at); ok && seq >= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the shard of %s never reached %s (at %s)", topic, id, at)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRedisOutage: while Redis is down publishes fail as unavailable and
// subscribers stay; once it is back, both nodes follow on and subscribers
// get every update acknowledged after the outage, with no gap.
func TestRedisOutage(t *testing.T) {
	srv := redistest.Start(t)
	a, b := startNode(t, srv, redis.Options{}), startNode(t, srv, redis.Options{})
	sa := subscribe(t, a.hub, hub.SubscribeOptions{Topics: []string{"t"}})
	sb := subscribe(t, b.hub, hub.SubscribeOptions{Topics: []string{"t"}})
	before := publish(t, a.hub, &hub.Update{Topics: []string{"t"}, Data: "before"})

	srv.Stop()
	_, err := b.hub.Publish(context.Background(), &hub.Update{Topics: []string{"t"}, Data: "during"})
	var herr *hub.Error
	if !errors.As(err, &herr) || herr.Code != hub.CodeUnavailable {
		t.Fatalf("publish with Redis down: %v, want unavailable", err)
	}
	for deadline := time.Now().Add(2 * time.Second); a.store.Up(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) { // the follower's next read fails
			t.Fatal("store reports Redis up while it is down")
		}
	}
	time.Sleep(300 * time.Millisecond) // the followers fail and back off
	srv.Restart()

	after := []string{publish(t, b.hub, &hub.Update{Topics: []string{"t"}, Data: "after1"}),
		publish(t, a.hub, &hub.Update{Topics: []string{"t"}, Data: "after2"})}
	want := append([]string{before}, after...)
	for name, s := range map[string]*hub.Subscriber{"a": sa, "b": sb} {
		if got := ids(receive(t, s, 3)); !slices.Equal(got, want) {
			t.Errorf("node %s: got %v, want %v", name, got, want)
		}
		if s.Err() != nil {
			t.Errorf("node %s: subscription ended: %v", name, s.Err())
		}
	}
}

// TestWipedRedisRebases: a Redis that lost its data gets a new epoch from
// the next publish; nodes end their subscriptions so clients resume, and
// an id of the old epoch replays the new history whole.
func TestWipedRedisRebases(t *testing.T) {
	srv := redistest.Start(t)
	a, b := startNode(t, srv, redis.Options{}), startNode(t, srv, redis.Options{})
	old := publish(t, a.hub, &hub.Update{Topics: []string{"t"}, Data: "old"})
	sb := subscribe(t, b.hub, hub.SubscribeOptions{Topics: []string{"t"}, LastEventID: hub.Earliest})
	receive(t, sb, 1)
	if _, err := srv.Do("FLUSHALL"); err != nil {
		t.Fatal(err)
	}
	fresh := publish(t, a.hub, &hub.Update{Topics: []string{"t"}, Data: "new"})
	select {
	case <-sb.Done():
		if !errors.Is(sb.Err(), redis.ErrEpochChanged) && !errors.Is(sb.Err(), redis.ErrFellBehind) {
			t.Fatalf("ended with %v", sb.Err())
		}
	case <-time.After(5 * time.Second):
		r1, _ := srv.Do("XINFO", "STREAM", "ssehub:log")
		_, ha := a.hub.Head()
		_, hb := b.hub.Head()
		t.Fatal("subscription on the old epoch not ended", old, fresh, r1, ha, hb)
	}
	waitHead(t, b.hub, fresh)
	s := subscribe(t, b.hub, hub.SubscribeOptions{Topics: []string{"t"}, LastEventID: old})
	if got := ids(receive(t, s, 1)); got[0] != fresh || s.ResumedAfter() != hub.Earliest {
		t.Fatalf("resume from old epoch: %v after %q, want [%s] after earliest", got, s.ResumedAfter(), fresh)
	}
}

// TestNodeThatFellBehindRebases: a node that did not read the log before
// Redis trimmed it ends its subscriptions instead of skipping silently.
func TestNodeThatFellBehindRebases(t *testing.T) {
	srv := redistest.Start(t)
	opts := redis.Options{LogLength: 10}
	a := startNode(t, srv, opts)
	late := openLate(t, srv, opts)
	s := subscribe(t, late.hub, hub.SubscribeOptions{Topics: []string{"t"}})
	for i := range 600 {
		publish(t, a.hub, &hub.Update{Topics: []string{"t"}, Data: fmt.Sprint(i)})
	}
	late.follow(t)
	waitFellBehind(t, s)
}

// TestRetention: topic streams keep at most MaxEvents (approximately, as
// Redis trims whole nodes) and nothing older than MaxAge.
func TestRetention(t *testing.T) {
	srv := redistest.Start(t)
	n := startNode(t, srv, redis.Options{MaxEvents: 100, LogLength: 100, MaxAge: time.Second})
	var last string
	for i := range 1000 {
		last = publish(t, n.hub, &hub.Update{Topics: []string{"t"}, Data: fmt.Sprint(i)})
	}
	waitHead(t, n.hub, last)
	kept := len(receiveAll(t, n.hub, "t"))
	if kept < 100 || kept > 300 {
		t.Errorf("kept %d of 1000 with MaxEvents 100", kept)
	}
	time.Sleep(1100 * time.Millisecond)
	publish(t, n.hub, &hub.Update{Topics: []string{"t"}, Data: "fresh"})
	if got, _ := srv.Do("XLEN", "ssehub:t:t"); got == fmt.Sprintf(":%d", kept+1) {
		t.Errorf("nothing trimmed by age: XLEN %s", got)
	}
	time.Sleep(1100 * time.Millisecond)
	if got, _ := srv.Do("EXISTS", "ssehub:t:t"); got != ":0" {
		t.Errorf("an idle topic's stream outlived MaxAge: EXISTS %s", got)
	}
}

func receiveAll(t testing.TB, h *hub.Hub, topic string) []*hub.Update {
	t.Helper()
	s := subscribe(t, h, hub.SubscribeOptions{Topics: []string{topic}, LastEventID: hub.Earliest})
	defer s.Close()
	return replay(t, s)
}

// TestResumeAfterTrimmedReportsEarliest: resuming from an id whose
// successors were trimmed replays what is left and says "earliest"; from
// an id still followed by everything, it says that id.
func TestResumeAfterTrimmedReportsEarliest(t *testing.T) {
	srv := redistest.Start(t)
	a, b := startNode(t, srv, redis.Options{MaxEvents: 100, LogLength: 100}), startNode(t, srv, redis.Options{})
	var all []string
	for i := range 1000 {
		all = append(all, publish(t, a.hub, &hub.Update{Topics: []string{"busy"}, Data: fmt.Sprint(i)}))
	}
	quiet := publish(t, a.hub, &hub.Update{Topics: []string{"quiet"}, Data: "q1"})
	last := publish(t, a.hub, &hub.Update{Topics: []string{"quiet"}, Data: "q2"})
	waitFanned(t, b.hub, "quiet", last)
	waitFanned(t, b.hub, "busy", all[999])

	s := subscribe(t, b.hub, hub.SubscribeOptions{Topics: []string{"busy"}, LastEventID: all[1]})
	if s.ResumedAfter() != hub.Earliest || s.Replayed() == 0 || s.Replayed() >= 998 {
		t.Errorf("resume in a trimmed topic: after %q with %d replayed, want earliest and what is left", s.ResumedAfter(), s.Replayed())
	}
	s = subscribe(t, b.hub, hub.SubscribeOptions{Topics: []string{"busy"}, LastEventID: all[990]})
	if s.ResumedAfter() != all[990] || s.Replayed() != 9 {
		t.Errorf("resume near the head: after %q with %d replayed, want the id and 9", s.ResumedAfter(), s.Replayed())
	}
	s = subscribe(t, b.hub, hub.SubscribeOptions{Topics: []string{"quiet"}, LastEventID: quiet})
	if s.ResumedAfter() != quiet || s.Replayed() != 1 {
		t.Errorf("resume in a quiet topic of a busy hub: after %q with %d replayed", s.ResumedAfter(), s.Replayed())
	}
}

// TestReplayOvertakenByRetention: retention trims updates a replay read in
// pages has yet to read, while its subscriber does not read. The next page
// finds them gone (the store's TrimReporter) and ends the subscription as
// ErrReplayTrimmed; resuming then says "earliest".
func TestReplayOvertakenByRetention(t *testing.T) {
	srv := redistest.Start(t)
	opts := redis.Options{URL: srv.URL(), MaxEvents: 100, LogLength: 100}
	n := startNodeHub(t, opts, hub.Config{QueueSize: 10}) // pages of 10
	var all []string
	for i := range 100 {
		all = append(all, publish(t, n.hub, &hub.Update{Topics: []string{"busy"}, Data: fmt.Sprint(i)}))
	}
	waitFanned(t, n.hub, "busy", all[99])
	s := subscribe(t, n.hub, hub.SubscribeOptions{Topics: []string{"busy"}, LastEventID: hub.Earliest})
	for i := range 400 {
		all = append(all, publish(t, n.hub, &hub.Update{Topics: []string{"busy"}, Data: fmt.Sprint(100 + i)}))
	}
	waitFanned(t, n.hub, "busy", all[499])
	got := receiveUntilEnd(t, s)
	if !errors.Is(s.Err(), hub.ErrReplayTrimmed) || len(got) != 10 {
		t.Fatalf("ended with %v after %d updates, want %v after the first page", s.Err(), len(got), hub.ErrReplayTrimmed)
	}
	again := subscribe(t, n.hub, hub.SubscribeOptions{Topics: []string{"busy"}, LastEventID: got[9].ID})
	if again.ResumedAfter() != hub.Earliest {
		t.Errorf("resumed after %q, want %q", again.ResumedAfter(), hub.Earliest)
	}
}

// receiveUntilEnd drains s until its subscription ends.
func receiveUntilEnd(t *testing.T, s *hub.Subscriber) []*hub.Update {
	t.Helper()
	var got []*hub.Update
	deadline := time.After(10 * time.Second)
	for {
		select {
		case <-s.Ready():
			got = append(got, s.Drain(nil)...)
		case <-s.Done():
			return got
		case <-deadline:
			t.Fatalf("still subscribed after %d updates", len(got))
		}
	}
}
