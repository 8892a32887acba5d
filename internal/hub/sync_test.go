package hub_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/history"
	"github.com/ssehub/ssehub/internal/hub"
)

// gatedHistory is a memory history whose append of the topic "slow" waits
// for the gate to open: a publish still storing while later ones return.
type gatedHistory struct {
	*history.Memory
	gate chan struct{}
}

func (g gatedHistory) Append(ctx context.Context, u *hub.Update) error {
	if u.Topics[0] == "slow" {
		<-g.gate
	}
	return g.Memory.Append(ctx, u)
}

// TestSyncWaitsForEarlierPublishes: a publish returns once stored, while
// an earlier publish still storing holds it back from the shards, so a
// subscription begun right after may miss it; one begun after Sync does
// not, and Sync waits for the earlier publish rather than returning early.
func TestSyncWaitsForEarlierPublishes(t *testing.T) {
	g := gatedHistory{history.NewMemory(history.MemoryConfig{}), make(chan struct{})}
	h := newHub(t, hub.Config{History: g})
	slow := make(chan error, 1)
	go func() {
		_, err := h.Publish(context.Background(), &hub.Update{Topics: []string{"slow"}, Data: "first"})
		slow <- err
	}()
	waitFor(t, func() bool { _, seq := h.Assigned(); return seq == 1 })
	id := publish(t, h, &hub.Update{Topics: []string{"t"}, Data: "second"})

	early := subscribe(t, h, hub.SubscribeOptions{Topics: []string{"t"}, LastEventID: hub.Earliest})
	if got := early.Drain(nil); len(got) != 0 {
		t.Fatalf("the update reached the shards before the earlier publish stored: %v", ids(got))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := h.Sync(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Sync while an earlier publish stores: %v, want it to wait", err)
	}

	synced := make(chan error, 1)
	go func() { synced <- h.Sync(context.Background()) }()
	close(g.gate)
	if err := <-synced; err != nil {
		t.Fatal(err)
	}
	if err := <-slow; err != nil {
		t.Fatal(err)
	}
	s := subscribe(t, h, hub.SubscribeOptions{Topics: []string{"t"}, LastEventID: hub.Earliest})
	if got := ids(s.Drain(nil)); len(got) != 1 || got[0] != id {
		t.Errorf("after Sync the history gave %v, want [%s]", got, id)
	}
}

// TestSyncEndsWithTheHub: a Sync waiting for a head that never comes
// returns when the hub closes.
func TestSyncEndsWithTheHub(t *testing.T) {
	g := gatedHistory{history.NewMemory(history.MemoryConfig{}), make(chan struct{})}
	h := hub.New(hub.Config{History: g})
	go h.Publish(context.Background(), &hub.Update{Topics: []string{"slow"}, Data: "x"}) //nolint:errcheck // ends with the gate
	waitFor(t, func() bool { _, seq := h.Assigned(); return seq == 1 })
	synced := make(chan error, 1)
	go func() { synced <- h.Sync(context.Background()) }()
	time.Sleep(10 * time.Millisecond)
	h.Close()
	select {
	case err := <-synced:
		if err != nil {
			t.Errorf("Sync on a closed hub: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Sync still waits after Close")
	}
	close(g.gate)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
	}
}
