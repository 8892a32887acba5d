package hub_test

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/hub"
)

// TestFanOutScalesLinearly publishes private updates of many topics, and
// of eight times as many, each to a hub with two subscriptions that cost
// the most, as many topics in each: one naming every topic of the update
// but authorized for the last only (each topic reached it, and each time
// all the update's topics were matched against its claims), and one
// naming as many other topics and a pattern (the update was matched
// against every one of them). The fan-out's time grows about eightfold,
// not sixty-fourfold as it did. Without history: the fan-out alone. The
// sizes take turns, the collector is held off while one is timed, and the
// fastest of each is kept.
func TestFanOutScalesLinearly(t *testing.T) {
	if testing.Short() {
		t.Skip("times updates of a thousand topics")
	}
	const small, large, rounds = hub.MaxUpdateTopics / 8, hub.MaxUpdateTopics, 7
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
	h1, every1 := newHub(small)
	h8, every8 := newHub(large)
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	timePublish := func(h *hub.Hub, n int) time.Duration {
		u := &hub.Update{Topics: numbered(n), Private: true, Data: "x"}
		runtime.GC()
		start := time.Now()
		publish(t, h, u)
		return time.Since(start)
	}
	d1, d8 := time.Hour, time.Hour
	for range rounds {
		d1, d8 = min(d1, timePublish(h1, small)), min(d8, timePublish(h8, large))
	}
	t.Logf("publish %d topics %v, %d topics %v (%.1f×)", small, d1, large, d8, float64(d8)/float64(d1))
	// Linear is 8× (less, with the costs of any publish); quadratic was
	// 50× and more.
	if r := float64(d8) / float64(d1); r > 25 {
		t.Errorf("8× the topics take %.1f× as long to fan out, want under 25×", r)
	}
	for _, s := range []*hub.Subscriber{every1, every8} {
		receive(t, s, rounds)
	}
}
