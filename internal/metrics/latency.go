package metrics

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// latencyHistogram is the delivery latency histogram. It is kept in
// shards, one per goroutine that writes streams, which a scrape sums: the
// writers observe a batch each, often on every core at once, and a shared
// histogram would move its counters' cache lines from core to core at
// every observation.
type latencyHistogram struct {
	desc   *prometheus.Desc
	upper  []float64       // the buckets' upper bounds, in seconds
	bounds []time.Duration // the same
	mu     sync.Mutex
	shards []*latencyShard
}

// maxLatencyBuckets bounds the buckets of a shard, the one past every
// upper bound included.
const maxLatencyBuckets = 15

// latencyShard is one writer's part of the histogram. Its size, a multiple
// of a cache line, keeps two shards off the same line.
type latencyShard struct {
	counts [maxLatencyBuckets]atomic.Uint64 // by bucket, not cumulative
	sum    atomic.Int64                     // nanoseconds
	_      [64]byte
}

func newLatencyHistogram(upper []float64) *latencyHistogram {
	if len(upper) >= maxLatencyBuckets {
		panic("metrics: too many latency buckets")
	}
	h := &latencyHistogram{upper: upper, desc: prometheus.NewDesc(Namespace+"_delivery_latency_seconds",
		"Time from the hub accepting an update to its being written to a subscriber's stream, "+
			"observed once per written batch for the batch's oldest update; replayed batches are not observed.",
		nil, nil)}
	for _, s := range upper {
		h.bounds = append(h.bounds, time.Duration(s*float64(time.Second)))
	}
	return h
}

// observer returns a new shard's recorder.
func (h *latencyHistogram) observer() func(time.Duration) {
	s := new(latencyShard)
	h.mu.Lock()
	h.shards = append(h.shards, s)
	h.mu.Unlock()
	return func(d time.Duration) {
		i := 0
		for i < len(h.bounds) && d > h.bounds[i] {
			i++
		}
		s.counts[i].Add(1)
		s.sum.Add(int64(d))
	}
}

// Describe implements prometheus.Collector.
func (h *latencyHistogram) Describe(ch chan<- *prometheus.Desc) { ch <- h.desc }

// Collect implements prometheus.Collector: the shards' sum, with
// cumulative buckets.
func (h *latencyHistogram) Collect(ch chan<- prometheus.Metric) {
	var counts [maxLatencyBuckets]uint64
	var sum int64
	h.mu.Lock()
	for _, s := range h.shards {
		for i := range counts {
			counts[i] += s.counts[i].Load()
		}
		sum += s.sum.Load()
	}
	h.mu.Unlock()
	ch <- constHistogram(h.desc, h.upper, counts[:len(h.upper)+1], time.Duration(sum))
}

// constHistogram is the histogram of counts by bucket, not cumulative
// (the last past every upper bound), and the observations' sum.
func constHistogram(desc *prometheus.Desc, upper []float64, counts []uint64, sum time.Duration) prometheus.Metric {
	buckets := make(map[float64]uint64, len(upper))
	var total uint64
	for i, le := range upper {
		total += counts[i]
		buckets[le] = total
	}
	total += counts[len(upper)]
	return prometheus.MustNewConstHistogram(desc, total, sum.Seconds(), buckets)
}
