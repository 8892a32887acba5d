package histogram_test

import (
	"slices"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/histogram"
)

func TestCounter(t *testing.T) {
	c := histogram.New(time.Millisecond, 10*time.Millisecond)
	for _, d := range []time.Duration{0, time.Millisecond, 2 * time.Millisecond, time.Second} {
		c.Observe(d)
	}
	h := c.Snapshot()
	if !slices.Equal(h.Counts, []uint64{2, 1, 1}) || !slices.Equal(h.Bounds, []float64{.001, .01}) || h.Sum != time.Second+3*time.Millisecond {
		t.Errorf("snapshot %+v", h)
	}
}
