package redis_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/redis"
	"github.com/ssehub/ssehub/internal/redis/redistest"
)

// TestReplicas publishes with Options.Replicas: an answered publish is on
// the replica already; a primary that lost its scripts is given the script
// again; while the replica is frozen a publish fails with ErrNotReplicated
// (a 503) after the timeout, yet is stored and delivered; once it thaws
// publishes succeed again; and asking for more replicas than there are
// always fails.
func TestReplicas(t *testing.T) {
	master := redistest.Start(t)
	replica := redistest.StartReplica(t, master)
	waitFor(t, "the replica to sync", func() bool {
		r, err := master.Do("WAIT", "1", "100")
		return err == nil && r == ":1"
	})
	// A replica answers within milliseconds, but a loaded machine (the race
	// detector, the whole suite on two cores) has made it miss 300 ms: the
	// timeout only bounds the frozen case below, which waits for all of it.
	const timeout = 2 * time.Second
	n := startNode(t, master, redis.Options{Prefix: "rep", Replicas: 1, ReplicaTimeout: timeout})
	sub := subscribe(t, n.hub, hub.SubscribeOptions{Topics: []string{"t"}})

	for i := range 5 {
		publish(t, n.hub, &hub.Update{Topics: []string{"t"}, Data: "replicated"})
		// The replica has it when the publisher is answered; without the
		// WAIT on the script's connection it could still be on its way.
		if r, err := replica.Do("XLEN", "rep:log"); err != nil || r != ":"+strconv.Itoa(i+1) {
			t.Fatalf("after publish %d the replica's log holds %q (%v)", i+1, r, err)
		}
	}

	// A primary that lost its scripts (a promoted replica, SCRIPT FLUSH)
	// gets the script again.
	if r, err := master.Do("SCRIPT", "FLUSH"); err != nil || r != "+OK" {
		t.Fatalf("SCRIPT FLUSH: %q, %v", r, err)
	}
	publish(t, n.hub, &hub.Update{Topics: []string{"t"}, Data: "replicated"})

	replica.Pause()
	start := time.Now()
	_, err := n.hub.Publish(context.Background(), &hub.Update{Topics: []string{"t"}, Data: "not replicated"})
	var herr *hub.Error
	if !errors.Is(err, redis.ErrNotReplicated) || !errors.As(err, &herr) || herr.Code != hub.CodeUnavailable {
		t.Fatalf("publish to a frozen replica: %v; want an unavailable error wrapping ErrNotReplicated", err)
	}
	if waited := time.Since(start); waited < timeout {
		t.Errorf("the publish failed after %v, before the %v timeout", waited, timeout)
	}
	if got := receive(t, sub, 7)[6].Data; got != "not replicated" {
		t.Errorf("the subscriber's 7th update is %q; want the one that was stored without its replica", got)
	}
	replica.Resume()
	waitFor(t, "publishes to succeed once the replica thaws", func() bool {
		_, err := n.hub.Publish(context.Background(), &hub.Update{Topics: []string{"t"}, Data: "after"})
		return err == nil
	})

	two := startNode(t, master, redis.Options{Prefix: "rep2", Replicas: 2, ReplicaTimeout: 100 * time.Millisecond})
	if _, err := two.hub.Publish(context.Background(), &hub.Update{Topics: []string{"t"}}); !errors.Is(err, redis.ErrNotReplicated) {
		t.Errorf("publish waiting for 2 replicas of 1: %v; want ErrNotReplicated", err)
	}
}
