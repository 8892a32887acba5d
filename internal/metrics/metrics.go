// Package metrics exposes what ssehub is doing: Prometheus metrics on a
// private registry, served at /metrics, and a once-a-second stats feed
// published through the hub itself to the reserved topic $ssehub/stats,
// which the console's stats page plots.
//
// Nothing here runs on a hot path. The hub, the HTTP layer and the LLM
// manager keep plain atomic counters; the collector and the feed read them,
// and take a bounded snapshot of the subscriptions by topic, only when
// Prometheus scrapes or the feed ticks. The one instrument fed on the way
// of events, the delivery latency histogram, is observed once per written
// batch, with two atomic adds to counters of the writer's own.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ssehub/ssehub/internal/httpapi"
	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/llm"
	"github.com/ssehub/ssehub/internal/webhook"
)

// Namespace prefixes every ssehub metric name.
const Namespace = "ssehub"

// DefaultTopTopics is how many topics get a series of their own in
// ssehub_topic_subscribers; the others are summed under OtherTopic.
const DefaultTopTopics = 50

// OtherTopic is the topic label of the subscriptions to the topics that are
// not among the busiest.
const OtherTopic = "_other"

// LatencyBuckets are the upper bounds, in seconds, of the delivery latency
// histogram: from half a millisecond (an in-memory hub on an idle machine)
// to ten seconds (a stalled client or a slow disk).
func LatencyBuckets() []float64 {
	return []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
}

// Sources are the parts of ssehub the collector and the feed read.
type Sources struct {
	Hub     *hub.Hub   // required
	Streams Streams    // the HTTP layer; nil counts no streams
	History hub.Reader // sized when it reports its size (see HistorySizer); may be nil
	LLM     LLM        // the generations; nil when there are none
	// Webhooks are the application's webhooks; nil when they are off.
	Webhooks Webhooks
	AppAuth  AppAuth // the authorization callback; nil when there is none
}

// Webhooks reports the deliveries of the application's webhooks.
type Webhooks interface {
	Stats() webhook.Stats
}

// Streams reports the HTTP layer's event streams.
type Streams interface {
	StreamStats() httpapi.StreamStats
}

// LLM reports the LLM generations.
type LLM interface {
	Stats() llm.Stats
}

// Config configures a Registry. The zero value takes the defaults.
type Config struct {
	TopTopics int // topics with a series of their own; default DefaultTopTopics
}

// Registry is ssehub's private Prometheus registry: the Go and process
// collectors, the delivery latency histogram and the collector of ssehub's
// own metrics, which reports once Watch has named its sources. It serves
// the text exposition format (an http.Handler for /metrics) and records
// the streams' delivery latency (a stream.Observer).
type Registry struct {
	reg     *prometheus.Registry
	latency *latencyHistogram
	col     *collector
	handler http.Handler
}

// New returns a registry of every metric; ssehub's own report nothing
// until Watch is called.
func New(cfg Config) *Registry {
	if cfg.TopTopics <= 0 {
		cfg.TopTopics = DefaultTopTopics
	}
	reg := prometheus.NewRegistry()
	latency := newLatencyHistogram(LatencyBuckets())
	col := newCollector(cfg.TopTopics)
	// Fixed, distinct descriptors: registering them cannot fail.
	reg.MustRegister(latency, col, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return &Registry{reg: reg, latency: latency, col: col, handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
	})}
}

// Watch names the parts of ssehub the collector reads at every scrape.
// The registry is built before the HTTP API, which serves it, and the
// sources include that API: so they come second.
func (r *Registry) Watch(src Sources) { r.col.src.Store(&src) }

// LatencyObserver returns a recorder of the publish-to-write latency of
// written batches with counters of its own, for one goroutine that writes
// streams (several may share one).
func (r *Registry) LatencyObserver() func(time.Duration) { return r.latency.observer() }

// ServeHTTP serves the metrics in the Prometheus text format (or another
// format the scraper asks for).
func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) { r.handler.ServeHTTP(w, req) }

// Gatherer returns the underlying registry, for tests and for embedding
// ssehub's metrics elsewhere.
func (r *Registry) Gatherer() prometheus.Gatherer { return r.reg }
