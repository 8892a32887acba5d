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

// none is an Observer that observes nothing.
type none struct{}

func (none) LatencyObserver() func(time.Duration) { return nil }

// TestObserversSkipNone: an observer that observes nothing is left out,
// and a set of them observes nothing either.
func TestObserversSkipNone(t *testing.T) {
	a := &recorder{}
	stream.Observers(none{}, a).LatencyObserver()(time.Millisecond)
	if len(a.got) != 1 {
		t.Fatalf("observer got %v, want [1ms]", a.got)
	}
	if f := stream.Observers(none{}, none{}).LatencyObserver(); f != nil {
		t.Fatal("observers that observe nothing gave a function")
	}
}
