package redis_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/redis"
	"github.com/ssehub/ssehub/internal/redis/redistest"
)

// TestSentinelFailover runs two nodes that find Redis through a Sentinel
// (a master, its replica, one sentinel). The master is killed once its
// replica holds every acknowledged event; the sentinel promotes the
// replica, both nodes reach it by themselves, publishes succeed again,
// and a subscriber of each node receives every acknowledged event once,
// in order, without its subscription ending.
func TestSentinelFailover(t *testing.T) {
	master := redistest.Start(t)
	replica := redistest.StartReplica(t, master)
	sentinel := redistest.StartSentinel(t, master, "hub")
	waitFor(t, "the sentinel to see the replica", func() bool {
		r, err := sentinel.Do("SENTINEL", "REPLICAS", "hub")
		return err == nil && r != "*0"
	})
	url := sentinel.SentinelURL("hub")
	a, b := startNodeURL(t, redis.Options{URL: url}), startNodeURL(t, redis.Options{URL: url})
	sa := subscribe(t, a.hub, hub.SubscribeOptions{Topics: []string{"t"}})
	sb := subscribe(t, b.hub, hub.SubscribeOptions{Topics: []string{"t"}})
	var want []string
	for i := range 10 {
		want = append(want, publish(t, a.hub, &hub.Update{Topics: []string{"t"}, Data: fmt.Sprint("before ", i)}))
	}
	// The replica's first sync may still be under way on a loaded machine:
	// WAIT answers 0 until it is done, so it is asked again until then.
	waitFor(t, "the replica to hold every acknowledged event (WAIT)", func() bool {
		r, err := master.Do("WAIT", "1", "1000")
		return err == nil && r == ":1"
	})
	master.Stop()

	// Publishes fail (503) until the sentinel has promoted the replica.
	deadline := time.Now().Add(30 * time.Second)
	for {
		id, err := b.hub.Publish(context.Background(), &hub.Update{Topics: []string{"t"}, Data: "after 0"})
		if err == nil {
			want = append(want, id)
			break
		}
		var herr *hub.Error
		if !errors.As(err, &herr) || herr.Code != hub.CodeUnavailable || time.Now().After(deadline) {
			t.Fatalf("publish during the failover: %v", err)
		}
		time.Sleep(100 * time.Millisecond) // the sentinel's failover takes a second or two
	}
	for i := 1; i < 10; i++ {
		want = append(want, publish(t, a.hub, &hub.Update{Topics: []string{"t"}, Data: fmt.Sprint("after ", i)}))
	}
	if r, err := replica.Do("ROLE"); r != "*3" { // a master's ROLE has 3 elements, a replica's 5
		t.Errorf("the replica was not promoted: ROLE answers %q, %v", r, err)
	}
	for name, s := range map[string]*hub.Subscriber{"a": sa, "b": sb} {
		if got := ids(receive(t, s, len(want))); !slices.Equal(got, want) {
			t.Errorf("node %s: got %v, want %v", name, got, want)
		}
		if s.Err() != nil {
			t.Errorf("node %s: subscription ended: %v", name, s.Err())
		}
	}
}

// waitFor polls cond for up to 15 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 15s for %s", what)
		}
		time.Sleep(50 * time.Millisecond) // polling a server that updates on its own schedule
	}
}
