package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestLatencyShards: observations through several observers add up in one
// histogram, with cumulative buckets whose bounds include their value.
func TestLatencyShards(t *testing.T) {
	h := newLatencyHistogram([]float64{.001, .01})
	a, b := h.observer(), h.observer()
	a(time.Millisecond)      // on the first bound: its bucket
	b(2 * time.Millisecond)  // the second
	b(10 * time.Millisecond) // the second
	a(time.Second)           // past every bound
	ch := make(chan prometheus.Metric, 1)
	h.Collect(ch)
	var m dto.Metric
	if err := (<-ch).Write(&m); err != nil {
		t.Fatal(err)
	}
	hist := m.GetHistogram()
	if hist.GetSampleCount() != 4 || hist.GetSampleSum() != 1.013 {
		t.Errorf("count %d, sum %v; want 4, 1.013", hist.GetSampleCount(), hist.GetSampleSum())
	}
	want := map[float64]uint64{.001: 1, .01: 3}
	for _, bk := range hist.GetBucket() {
		if want[bk.GetUpperBound()] != bk.GetCumulativeCount() {
			t.Errorf("bucket le=%v has %d, want %d", bk.GetUpperBound(), bk.GetCumulativeCount(), want[bk.GetUpperBound()])
		}
	}
	if len(hist.GetBucket()) != 2 {
		t.Errorf("%d buckets, want 2", len(hist.GetBucket()))
	}
}
