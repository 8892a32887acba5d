package loadtest

import (
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"sync/atomic"
)

// Histogram layout: values below 2*subCount are counted exactly; above, each
// doubling is split into subCount buckets, so a bucket's width is less than
// 1/subCount (0.8 %) of its values. Values above maxValue are counted in the
// last bucket (their exact maximum is kept apart).
const (
	subBits    = 7
	subCount   = 1 << subBits
	maxBits    = 40 // 2^40 µs is about 12.7 days
	maxValue   = 1<<maxBits - 1
	numBuckets = (maxBits-subBits)*subCount + subCount
)

// Histogram counts non-negative values (latencies in microseconds here) in
// logarithmic buckets, HDR-style: a fixed 35 KiB whatever the count, with a
// relative error under 1 %. Record is safe for concurrent use; the other
// methods must not run while values are being recorded. The zero value is
// an empty histogram that Merge and UnmarshalJSON fill; Record needs one made
// by NewHistogram.
type Histogram struct {
	counts []uint64 // allocated on first Record or Merge
	total  uint64
	max    uint64
	sum    uint64
}

// NewHistogram returns an empty histogram ready for concurrent Records.
func NewHistogram() *Histogram {
	return &Histogram{counts: make([]uint64, numBuckets)}
}

// bucketOf returns the bucket of v.
func bucketOf(v uint64) int {
	if v > maxValue {
		v = maxValue
	}
	if v < 2*subCount {
		return int(v)
	}
	shift := bits.Len64(v) - subBits - 1
	return shift*subCount + int(v>>shift)
}

// bucketBounds returns the smallest and largest values of bucket i.
func bucketBounds(i int) (lo, hi uint64) {
	if i < 2*subCount {
		return uint64(i), uint64(i)
	}
	shift := i/subCount - 1
	m := uint64(i%subCount + subCount)
	return m << shift, (m+1)<<shift - 1
}

// Record counts v. It is safe for concurrent use with other Records.
func (h *Histogram) Record(v uint64) {
	atomic.AddUint64(&h.counts[bucketOf(v)], 1)
	atomic.AddUint64(&h.total, 1)
	atomic.AddUint64(&h.sum, v)
	for {
		m := atomic.LoadUint64(&h.max)
		if v <= m || atomic.CompareAndSwapUint64(&h.max, m, v) {
			return
		}
	}
}

// Count returns the number of values recorded.
func (h *Histogram) Count() uint64 { return h.total }

// Max returns the largest value recorded, exactly; 0 when empty.
func (h *Histogram) Max() uint64 { return h.max }

// Mean returns the mean of the values recorded; 0 when empty.
func (h *Histogram) Mean() float64 {
	if h.total == 0 {
		return 0
	}
	return float64(h.sum) / float64(h.total)
}

// Quantile returns the value at or below which a fraction q (0..1) of the
// values lie: the upper bound of the bucket holding that rank, but never more
// than Max. It is 0 when the histogram is empty.
func (h *Histogram) Quantile(q float64) uint64 {
	if h.total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.total)))
	rank = min(max(rank, 1), h.total)
	var seen uint64
	for i, c := range h.counts {
		if seen += c; seen >= rank {
			_, hi := bucketBounds(i)
			return min(hi, h.max)
		}
	}
	return h.max
}

// Merge adds the values of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o == nil || o.total == 0 {
		return
	}
	if h.counts == nil {
		h.counts = make([]uint64, numBuckets)
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
	h.sum += o.sum
	h.max = max(h.max, o.max)
}

// histogramJSON is the sparse wire form of a Histogram: [bucket, count]
// pairs of the non-empty buckets.
type histogramJSON struct {
	Buckets [][2]uint64 `json:"buckets"`
	Max     uint64      `json:"max"`
	Sum     uint64      `json:"sum"`
}

// MarshalJSON encodes the non-empty buckets only.
func (h *Histogram) MarshalJSON() ([]byte, error) {
	out := histogramJSON{Buckets: [][2]uint64{}, Max: h.max, Sum: h.sum}
	for i, c := range h.counts {
		if c > 0 {
			out.Buckets = append(out.Buckets, [2]uint64{uint64(i), c})
		}
	}
	return json.Marshal(out)
}

// UnmarshalJSON decodes what MarshalJSON encodes.
func (h *Histogram) UnmarshalJSON(b []byte) error {
	var in histogramJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	h.counts = make([]uint64, numBuckets)
	h.total, h.max, h.sum = 0, in.Max, in.Sum
	for _, b := range in.Buckets {
		if b[0] >= numBuckets {
			return fmt.Errorf("histogram bucket %d out of range", b[0])
		}
		h.counts[b[0]] += b[1]
		h.total += b[1]
	}
	return nil
}
