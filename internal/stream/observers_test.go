package stream_test

import (
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/stream"
)

// recorder is an Observer that keeps what it is handed.
type recorder struct{ got []time.Duration }

func (r *recorder) LatencyObserver() func(time.Duration) {
	return func(d time.Duration) { r.got = append(r.got, d) }
}

// TestObserversHandEachLatencyToAll: every observer sees every latency.
func TestObserversHandEachLatencyToAll(t *testing.T) {
	a, b := &recorder{}, &recorder{}
	observe := stream.Observers(a, b).LatencyObserver()
	observe(time.Millisecond)
	observe(2 * time.Millisecond)
	for _, r := range []*recorder{a, b} {
		if len(r.got) != 2 || r.got[0] != time.Millisecond || r.got[1] != 2*time.Millisecond {
			t.Fatalf("observer got %v, want [1ms 2ms]", r.got)
		}
	}
}
