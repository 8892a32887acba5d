package redis_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/redis"
	"github.com/ssehub/ssehub/internal/redis/redistest"
)

// TestSyncReadsWhatOtherNodesPublished: right after a publish through one
// node returns, another node's Sync waits until that node has read it
// from the log, so a history read there finds it, every time.
func TestSyncReadsWhatOtherNodesPublished(t *testing.T) {
	srv := redistest.Start(t)
	a, b := startNode(t, srv, redis.Options{}), startNode(t, srv, redis.Options{})
	for i := range 200 {
		topic := "sync/" + strconv.Itoa(i)
		id := publish(t, a.hub, &hub.Update{Topics: []string{topic}, Data: "x"})
		if err := b.hub.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
		s, err := b.hub.Subscribe(context.Background(), hub.SubscribeOptions{Topics: []string{topic}, LastEventID: hub.Earliest})
		if err != nil {
			t.Fatal(err)
		}
		got := s.Drain(nil)
		s.Close()
		if len(got) != 1 || got[0].ID != id {
			t.Fatalf("publish %d: node b read %d updates after Sync, want %s", i, len(got), id)
		}
	}
}
