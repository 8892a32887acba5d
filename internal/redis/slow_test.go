package redis_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/redis"
	"github.com/ssehub/ssehub/internal/redis/redistest"
)

// TestLongReplaysDoNotHoldUpOtherTopics: clients resuming a long history
// from Redis (slow reads, on connections of their own, a page at a time)
// do not delay the live fan-out of another topic: its update arrives while
// they still read.
func TestLongReplaysDoNotHoldUpOtherTopics(t *testing.T) {
	srv := redistest.Start(t)
	n := startNode(t, srv, redis.Options{MaxEvents: 50000})
	const history = 20000
	batch := make([]*hub.Update, 0, hub.MaxBatch)
	var last string
	for i := range history {
		batch = append(batch, &hub.Update{Topics: []string{"big"}, Data: fmt.Sprintf("old %d with some padding to make it heavier", i)})
		if len(batch) == hub.MaxBatch {
			ids, err := n.hub.PublishBatch(context.Background(), batch)
			if err != nil {
				t.Fatal(err)
			}
			last, batch = ids[len(ids)-1], batch[:0]
		}
	}
	waitFanned(t, n.hub, "big", last)
	live := subscribe(t, n.hub, hub.SubscribeOptions{Topics: []string{"live"}})

	const replays = 8
	var started sync.WaitGroup
	var done atomic.Int32
	var wg sync.WaitGroup
	for range replays {
		started.Add(1)
		wg.Go(func() {
			started.Done()
			s, err := n.hub.Subscribe(context.Background(), hub.SubscribeOptions{Topics: []string{"big"}, LastEventID: hub.Earliest})
			if err != nil {
				done.Add(1)
				t.Error(err)
				return
			}
			got := len(replay(t, s))
			done.Add(1)
			if got != history {
				t.Errorf("replayed %d of %d", got, history)
			}
			s.Close()
		})
	}
	started.Wait()
	time.Sleep(20 * time.Millisecond) // the replays are under way
	sent := time.Now()
	publish(t, n.hub, &hub.Update{Topics: []string{"live"}, Data: "now"})
	receive(t, live, 1)
	finished := done.Load()
	took := time.Since(sent)
	wg.Wait()
	if finished == replays {
		t.Fatalf("the live update took %v, arriving only after all %d replays of %d events had finished", took, replays, history)
	}
	t.Logf("live update delivered in %v while %d of %d replays were still reading", took, replays-finished, replays)
}
