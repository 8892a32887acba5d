package hub_test

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/hub"
)

// TestFanOutScalesLinearly publishes a private update of 1,000 topics,
// and eight of 125, each to a hub with two subscriptions that cost the
// most, as many topics in each: one naming every topic of the update but
// authorized for the last only (each topic reached it, and each time all
// the update's topics were matched against its claims), and one naming as
// many other topics and a pattern (the update was matched against every
// one of them). As much work if the fan-out is linear, eight times as
// much for the one update when it was quadratic. Both take about as long,
// so the load of other processes stretches them alike. Without history:
// the fan-out alone. The two take turns, the collector is held off while
// one is timed, and the fastest of each is kept.
func TestFanOutScalesLinearly(t *testing.T) {
	if testing.Short() {
		t.Skip("times updates of a thousand topics")
	}
	const large, parts, rounds = hub.MaxUpdateTopics, 8, 7
	// newHub returns a hub with the two subscriptions for updates of n
	// topics, the first of which it returns too.
	newHub := func(n int) (*hub.Hub, *hub.Subscriber) {
		h := hub.New(hub.Config{})
		t.Cleanup(h.Close)
		topics, others := numbered(n), make([]string, n)
		for i := range others {
			others[i] = fmt.Sprint("https://example.com/authors/", i)
		}
		every := subscribe(t, h, hub.SubscribeOptions{Topics: topics, Private: topics[n-1:]})
		subscribe(t, h, hub.SubscribeOptions{Topics: append(others, "https://example.com/shelves/{id}"), Private: []string{"*"}})
		return h, every
	}
	hParts, everyParts := newHub(large / parts)
	hOne, everyOne := newHub(large)
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	timed := func(h *hub.Hub, updates, n int) time.Duration {
		us := make([]*hub.Update, updates)
		for i := range us {
			us[i] = &hub.Update{Topics: numbered(n), Private: true, Data: "x"}
		}
		runtime.GC()
		start := time.Now()
		for _, u := range us {
			publish(t, h, u)
		}
		return time.Since(start)
	}
	dParts, dOne := time.Hour, time.Hour
	for range rounds {
		dParts, dOne = min(dParts, timed(hParts, parts, large/parts)), min(dOne, timed(hOne, 1, large))
	}
	ratio := float64(dOne) / float64(dParts)
	t.Logf("%d updates of %d topics %v, one of %d %v (%.1f×)", parts, large/parts, dParts, large, dOne, ratio)
	// Linear is 1× (less, with the costs of any publish); quadratic was
	// 6.6× and more.
	if ratio > 3 {
		t.Errorf("one update of %d topics takes %.1f× as long to fan out as %d of %d, want under 3×", large, ratio, parts, large/parts)
	}
	receive(t, everyParts, rounds*parts)
	receive(t, everyOne, rounds)
}
