package loadtest

import (
	"encoding/json"
	"math/rand/v2"
	"sync"
	"testing"
)

// TestBuckets checks that the buckets tile the values without gaps and
// that each is narrower than 1/128 of its values.
func TestBuckets(t *testing.T) {
	t.Parallel()
	prevHi := int64(-1)
	for i := range numBuckets {
		lo, hi := bucketBounds(i)
		if int64(lo) != prevHi+1 {
			t.Fatalf("bucket %d starts at %d, previous ended at %d", i, lo, prevHi)
		}
		if lo >= 2*subCount && float64(hi-lo+1)/float64(lo) > 1.0/subCount {
			t.Fatalf("bucket %d [%d, %d] is wider than 1/%d of its values", i, lo, hi, subCount)
		}
		for _, v := range []uint64{lo, hi, lo + (hi-lo)/2} {
			if got := bucketOf(v); got != i {
				t.Fatalf("bucketOf(%d) = %d, want %d", v, got, i)
			}
		}
		prevHi = int64(hi)
	}
	if prevHi != maxValue {
		t.Fatalf("last bucket ends at %d, want %d", prevHi, int64(maxValue))
	}
	if got := bucketOf(1 << 62); got != numBuckets-1 {
		t.Fatalf("a value past the range went to bucket %d, want the last", got)
	}
}

func TestQuantile(t *testing.T) {
	t.Parallel()
	h := NewHistogram()
	for _, v := range rand.Perm(100000) {
		h.Record(uint64(v + 1)) // 1 … 100000
	}
	tests := []struct {
		q    float64
		want float64
	}{
		{0, 1}, {0.5, 50000}, {0.9, 90000}, {0.99, 99000}, {0.999, 99900}, {1, 100000},
	}
	for _, tt := range tests {
		got := float64(h.Quantile(tt.q))
		if got < tt.want || got > tt.want*(1+1.0/subCount) {
			t.Errorf("Quantile(%v) = %v, want %v within +%.1f%%", tt.q, got, tt.want, 100.0/subCount)
		}
	}
	if h.Max() != 100000 || h.Count() != 100000 {
		t.Errorf("Max, Count = %d, %d; want 100000, 100000", h.Max(), h.Count())
	}
	if m := h.Mean(); m != 50000.5 {
		t.Errorf("Mean = %v, want 50000.5", m)
	}
}

func TestQuantileSmall(t *testing.T) {
	t.Parallel()
	var empty Histogram
	if empty.Quantile(0.5) != 0 || empty.Max() != 0 || empty.Mean() != 0 {
		t.Error("an empty histogram does not answer 0")
	}
	h := NewHistogram()
	for _, v := range []uint64{3, 3, 7, 1000} {
		h.Record(v)
	}
	for q, want := range map[float64]uint64{0.25: 3, 0.5: 3, 0.75: 7, 0.99: 1000, 1: 1000} {
		if got := h.Quantile(q); got != want {
			t.Errorf("Quantile(%v) = %d, want %d", q, got, want)
		}
	}
}

// TestMerge checks that merging the histograms of two halves gives the
// histogram of the whole, also through JSON as children send them.
func TestMerge(t *testing.T) {
	t.Parallel()
	whole, a, b := NewHistogram(), NewHistogram(), NewHistogram()
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 50000 {
		v := uint64(r.ExpFloat64() * 2000)
		whole.Record(v)
		if i%3 == 0 {
			a.Record(v)
		} else {
			b.Record(v)
		}
	}
	var merged Histogram
	for _, part := range []*Histogram{a, b} {
		js, err := json.Marshal(part)
		if err != nil {
			t.Fatal(err)
		}
		var back Histogram
		if err := json.Unmarshal(js, &back); err != nil {
			t.Fatal(err)
		}
		merged.Merge(&back)
	}
	merged.Merge(nil)
	merged.Merge(&Histogram{})
	if merged.Count() != whole.Count() || merged.Max() != whole.Max() || merged.Mean() != whole.Mean() {
		t.Fatalf("merged count/max/mean %d/%d/%v, whole %d/%d/%v",
			merged.Count(), merged.Max(), merged.Mean(), whole.Count(), whole.Max(), whole.Mean())
	}
	for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 0.9999} {
		if m, w := merged.Quantile(q), whole.Quantile(q); m != w {
			t.Errorf("Quantile(%v): merged %d, whole %d", q, m, w)
		}
	}
}

func TestHistogramJSONErrors(t *testing.T) {
	t.Parallel()
	var h Histogram
	if err := json.Unmarshal([]byte(`{"buckets":[[99999,1]]}`), &h); err == nil {
		t.Error("a bucket out of range was accepted")
	}
	if err := json.Unmarshal([]byte(`{"buckets":"no"}`), &h); err == nil {
		t.Error("a malformed histogram was accepted")
	}
}

func TestRecordConcurrent(t *testing.T) {
	t.Parallel()
	h := NewHistogram()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				h.Record(uint64(g*1000 + i))
			}
		})
	}
	wg.Wait()
	if h.Count() != 8000 || h.Max() != 7999 {
		t.Errorf("Count, Max = %d, %d; want 8000, 7999", h.Count(), h.Max())
	}
}
