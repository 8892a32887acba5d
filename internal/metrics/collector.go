package metrics

import (
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/webhook"
)

// Optional interfaces of a history, found by type assertion.
type (
	// memorySize is the memory history: the bytes of its retained updates.
	memorySize interface{ Bytes() int }
	// fileSize is a durable store: the size of its file.
	fileSize interface{ Size() (int64, error) }
	// storeWrites is a durable store: whether its writes succeed.
	storeWrites interface {
		Writable() bool
		WriteErrors() uint64
	}
	// topicCount is a history that counts the topics it retains.
	topicCount interface{ Topics() int }
	// cluster is the Redis engine of a cluster node.
	cluster interface {
		Up() bool
		Errors() uint64
		Rebases() uint64
		Unreplicated() uint64
	}
)

// collector turns the counters of the hub, the streams, the history and the
// generations into metrics at scrape time, so counting costs the hot paths
// nothing beyond their atomic adds.
type collector struct {
	src atomic.Pointer[Sources] // nil until Registry.Watch
	top int

	connections, subscribers, topicSubs, topics                     *prometheus.Desc
	published, internal, delivered, replayed                        *prometheus.Desc
	slowCut, queuedBytes                                            *prometheus.Desc
	historyBytes, historyTopics                                     *prometheus.Desc
	historyWritable, historyWriteErrors                             *prometheus.Desc
	llmStarted, llmRunning, llmLimit, llmFinished, tokens, lateness *prometheus.Desc
	redisUp, redisErrors, rebases, unreplicated                     *prometheus.Desc
	whQueued, whQueuedBytes, whSent, whDropped, whFailures          *prometheus.Desc
	whFailing                                                       *prometheus.Desc
	callback                                                        callbackMetrics
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", name), help, labels, nil)
}

func newCollector(top int) *collector {
	return &collector{
		top:                top,
		connections:        desc("connections", "Event streams open now (SSE connections to /events, /.well-known/mercure and /gbi/sse/search)."),
		subscribers:        desc("subscribers", "Subscriptions registered in the hub now."),
		topicSubs:          desc("topic_subscribers", "Subscriptions per topic (or non-exact selector) for the busiest topics; the rest are summed under topic=\"_other\".", "topic"),
		topics:             desc("subscribed_topics", "Topics and non-exact selectors with at least one subscription."),
		published:          desc("events_published_total", "Updates published, the hub's internal stats feed aside."),
		internal:           desc("internal_events_published_total", "Internal updates the hub published to its reserved $ssehub/ topics (the stats feed)."),
		delivered:          desc("events_delivered_total", "Updates written to event streams, replayed ones included and the internal stats feed aside."),
		replayed:           desc("events_replayed_total", "Updates replayed from history to subscribers that resumed."),
		slowCut:            desc("slow_subscribers_cut_total", "Subscribers cut off as too slow: their queue overflowed, history dropped what their replay had yet to send, or they held the most past -max-slow-bytes."),
		queuedBytes:        desc("queued_bytes", "Wire bytes queued for subscribers (live updates, replay pages, the batch each one is writing), counted once for every subscriber holding an update; bounded by -max-slow-bytes."),
		historyBytes:       desc("history_bytes", "Size of the history: bytes of the retained updates (memory) or of the database file (durable store)."),
		historyTopics:      desc("history_topics", "Topics with retained updates (memory history only)."),
		historyWritable:    desc("history_writable", "The history store (on disk, or Redis in cluster mode): 1 when its last write succeeded, 0 while they fail (a full disk, a Redis at its maxmemory: publishes get 503)."),
		historyWriteErrors: desc("history_write_errors_total", "The history store (on disk, or Redis in cluster mode): failed writes (commits, retention on disk, the readiness probe)."),
		llmStarted:         desc("llm_generations_started_total", "LLM generations started."),
		llmRunning:         desc("llm_generations_running", "LLM generations running now."),
		llmLimit:           desc("llm_admission_limit", "How many LLM generations admission lets run at once now: what the node has shown it serves within -llm-max-lateness (0 with admission off)."),
		llmFinished:        desc("llm_generations_finished_total", "LLM generations finished, by outcome: done, stopped, timeout, interrupted, error.", "outcome"),
		tokens:             desc("llm_tokens_total", "Tokens the LLM generations published."),
		lateness:           desc("llm_token_lateness_seconds", "How late LLM token events were published: from the model emitting an event's oldest token to its publish completing (the time it waited while publishing was behind, plus the publish). Observed once per token event."),
		redisUp:            desc("redis_up", "Cluster mode: 1 when the last command to Redis succeeded, 0 while it fails (publishes get 503)."),
		redisErrors:        desc("redis_errors_total", "Cluster mode: failed commands to Redis."),
		rebases:            desc("cluster_rebases_total", "Cluster mode: times this node ended every subscription because Redis was wiped or trimmed entries it had not read."),
		unreplicated:       desc("redis_unreplicated_commits_total", "Cluster mode with -redis-replicas: commits that too few replicas acknowledged in time (their publishes got 503)."),
		whQueued:           desc("webhook_queued", "Webhooks: events (cluster mode: changes on their way to Redis) waiting on this node."),
		whQueuedBytes:      desc("webhook_queued_bytes", "Webhooks: the size of those events, as -webhook-queue-bytes bounds it."),
		whSent:             desc("webhook_events_sent_total", "Webhooks: events the application acknowledged with a 2xx (cluster mode: those this node sent while it held the outbox's lease)."),
		whDropped:          desc("webhook_events_dropped_total", "Webhooks: events lost, by reason: queue_full (the oldest dropped to make room; in cluster mode the Redis outbox's too, and changes given up after Redis failed for longer than -webhook-retry-for), expired (not acknowledged within -webhook-retry-for).", "reason"),
		whFailures:         desc("webhook_request_failures_total", "Webhooks: requests that failed (an error, a timeout, an answer other than 2xx); each is retried."),
		whFailing:          desc("webhook_failing", "Webhooks: 1 while the last request to the application failed, else 0."),
		callback:           newCallbackMetrics(),
	}
}

// Describe sends every metric's description.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.connections, c.subscribers, c.topicSubs, c.topics, c.published, c.internal, c.delivered,
		c.replayed, c.slowCut, c.queuedBytes, c.historyBytes, c.historyTopics, c.historyWritable, c.historyWriteErrors, c.llmStarted, c.llmRunning, c.llmLimit, c.llmFinished, c.tokens, c.lateness,
		c.redisUp, c.redisErrors, c.rebases, c.unreplicated,
		c.whQueued, c.whQueuedBytes, c.whSent, c.whDropped, c.whFailures, c.whFailing,
	} {
		ch <- d
	}
	c.callback.describe(ch)
}

// Collect reads the sources and sends their values.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	src := c.src.Load()
	if src == nil {
		return
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	st := src.Hub.Stats()
	gauge(c.subscribers, float64(st.Subscribers))
	counter(c.published, st.Published)
	counter(c.internal, st.Internal)
	counter(c.slowCut, st.SlowCut)
	gauge(c.queuedBytes, float64(st.QueuedBytes))
	tc := src.Hub.TopTopics(c.top)
	gauge(c.topics, float64(tc.Topics))
	for _, t := range topicSeries(tc.Top, tc.Other) {
		gauge(c.topicSubs, float64(t.n), t.label)
	}
	if src.Streams != nil {
		ss := src.Streams.StreamStats()
		gauge(c.connections, float64(ss.Open))
		counter(c.delivered, ss.Delivered)
		counter(c.replayed, ss.Replayed)
	}
	c.collectHistory(src.History, gauge)
	if h, ok := src.History.(storeWrites); ok {
		writable := 0.0
		if h.Writable() {
			writable = 1
		}
		gauge(c.historyWritable, writable)
		counter(c.historyWriteErrors, h.WriteErrors())
	}
	c.collectCluster(src.History, ch)
	if src.LLM != nil {
		ls := src.LLM.Stats()
		counter(c.llmStarted, ls.Started)
		gauge(c.llmRunning, float64(ls.Running))
		gauge(c.llmLimit, float64(ls.Limit))
		for outcome, n := range ls.Finished {
			counter(c.llmFinished, n, outcome)
		}
		counter(c.tokens, ls.Tokens)
		ch <- constHistogram(c.lateness, ls.Lateness.Bounds, ls.Lateness.Counts, ls.Lateness.Sum)
	}
	if src.Webhooks != nil {
		c.collectWebhooks(src.Webhooks.Stats(), ch)
	}
	c.callback.collect(src.AppAuth, ch)
}

// collectWebhooks reports the deliveries of the application's webhooks.
func (c *collector) collectWebhooks(ws webhook.Stats, ch chan<- prometheus.Metric) {
	failing := 0.0
	if ws.Failing {
		failing = 1
	}
	ch <- prometheus.MustNewConstMetric(c.whQueued, prometheus.GaugeValue, float64(ws.Queued))
	ch <- prometheus.MustNewConstMetric(c.whQueuedBytes, prometheus.GaugeValue, float64(ws.QueuedBytes))
	ch <- prometheus.MustNewConstMetric(c.whFailing, prometheus.GaugeValue, failing)
	ch <- prometheus.MustNewConstMetric(c.whSent, prometheus.CounterValue, float64(ws.Sent))
	ch <- prometheus.MustNewConstMetric(c.whDropped, prometheus.CounterValue, float64(ws.Dropped), "queue_full")
	ch <- prometheus.MustNewConstMetric(c.whDropped, prometheus.CounterValue, float64(ws.Expired), "expired")
	ch <- prometheus.MustNewConstMetric(c.whFailures, prometheus.CounterValue, float64(ws.Failures))
}

func (c *collector) collectHistory(hist hub.Reader, gauge func(*prometheus.Desc, float64, ...string)) {
	switch h := hist.(type) {
	case memorySize:
		gauge(c.historyBytes, float64(h.Bytes()))
	case fileSize:
		if n, err := h.Size(); err == nil { // a closed store has no size
			gauge(c.historyBytes, float64(n))
		}
	}
	if h, ok := hist.(topicCount); ok {
		gauge(c.historyTopics, float64(h.Topics()))
	}
}

// collectCluster reports the Redis engine's health on a cluster node.
func (c *collector) collectCluster(hist hub.Reader, ch chan<- prometheus.Metric) {
	cl, ok := hist.(cluster)
	if !ok {
		return
	}
	up := 0.0
	if cl.Up() {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(c.redisUp, prometheus.GaugeValue, up)
	ch <- prometheus.MustNewConstMetric(c.redisErrors, prometheus.CounterValue, float64(cl.Errors()))
	ch <- prometheus.MustNewConstMetric(c.rebases, prometheus.CounterValue, float64(cl.Rebases()))
	ch <- prometheus.MustNewConstMetric(c.unreplicated, prometheus.CounterValue, float64(cl.Unreplicated()))
}

// series is one topic label and its value.
type series struct {
	label string
	n     int
}

// topicSeries turns the busiest topics into label values that Prometheus
// accepts and that never repeat: invalid UTF-8 is replaced, and a topic
// whose label would collide with another (one literally named "_other",
// or two that differ only in invalid bytes) is added to the first. The
// _other series is always there, so that its sum is every subscription.
func topicSeries(top []hub.TopicCount, other int) []series {
	out := make([]series, 0, len(top)+1)
	at := make(map[string]int, len(top)+1)
	add := func(label string, n int) {
		if i, ok := at[label]; ok {
			out[i].n += n
			return
		}
		at[label] = len(out)
		out = append(out, series{label, n})
	}
	add(OtherTopic, other)
	for _, t := range top {
		label := t.Topic
		if !utf8.ValidString(label) {
			label = strings.ToValidUTF8(label, "\uFFFD")
		}
		add(label, t.Subscribers)
	}
	return out
}
