package metrics

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"go.uber.org/goleak"

	"github.com/ssehub/ssehub/internal/histogram"
	"github.com/ssehub/ssehub/internal/history"
	"github.com/ssehub/ssehub/internal/httpapi"
	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/llm"
	"github.com/ssehub/ssehub/internal/webhook"
)

// TestMain fails the package if any test leaves a goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeStreams and fakeLLM stand in for the HTTP layer and the generations.
type fakeStreams httpapi.StreamStats

func (f *fakeStreams) StreamStats() httpapi.StreamStats { return httpapi.StreamStats(*f) }

type fakeLLM llm.Stats

func (f *fakeLLM) Stats() llm.Stats { return llm.Stats(*f) }

func newHub(t *testing.T, hist hub.History) *hub.Hub {
	t.Helper()
	h := hub.New(hub.Config{History: hist})
	t.Cleanup(h.Close)
	return h
}

func subscribe(t *testing.T, h *hub.Hub, opts hub.SubscribeOptions) *hub.Subscriber {
	t.Helper()
	s, err := h.Subscribe(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// gather collects the registry's families by name.
func gather(t *testing.T, r *Registry) map[string]*dto.MetricFamily {
	t.Helper()
	fams, err := r.Gatherer().Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	}
	return 0
}

func TestCollector(t *testing.T) {
	mem := history.NewMemory(history.MemoryConfig{})
	h := newHub(t, mem)
	// topic-i has i subscriptions: 1+2+…+12 = 78 in all.
	for i := 1; i <= 12; i++ {
		for range i {
			subscribe(t, h, hub.SubscribeOptions{Topics: []string{fmt.Sprint("topic-", i)}})
		}
	}
	if _, err := h.Publish(context.Background(), &hub.Update{Topics: []string{"topic-1"}, Data: "x"}); err != nil {
		t.Fatal(err)
	}
	if h.Stats().QueuedBytes == 0 {
		t.Fatal("no bytes queued for topic-1's subscriber, which does not drain")
	}
	streams := &fakeStreams{Open: 7, Delivered: 9, Replayed: 4}
	late := make([]uint64, len(llm.LatenessBounds)+1)
	late[2], late[len(late)-1] = 4, 1 // four events within 10 ms, one past 10 s
	gens := &fakeLLM{Started: 3, Running: 1, Limit: 256, Tokens: 42, Finished: map[string]uint64{llm.OutcomeDone: 2},
		Lateness: histogram.Histogram{Bounds: latenessSeconds(), Counts: late, Sum: 12 * time.Second}}
	r := New(Config{TopTopics: 5})
	if fams := gather(t, r); fams["ssehub_subscribers"] != nil || fams["go_goroutines"] == nil {
		t.Fatal("before Watch: want the Go metrics and none of ssehub's")
	}
	hooks := fakeWebhooks{Queued: 5, QueuedBytes: 1234, Sent: 11, Dropped: 2, Expired: 3, Failures: 4, Failing: true}
	r.Watch(Sources{Hub: h, Streams: streams, History: mem, LLM: gens, Webhooks: hooks})
	r.LatencyObserver()(3 * time.Millisecond)
	fams := gather(t, r)
	want := map[string]float64{
		"ssehub_connections": 7, "ssehub_subscribers": 78, "ssehub_subscribed_topics": 12,
		"ssehub_events_published_total": 1, "ssehub_internal_events_published_total": 0,
		"ssehub_events_delivered_total": 9, "ssehub_events_replayed_total": 4, "ssehub_slow_subscribers_cut_total": 0,
		"ssehub_queued_bytes":  float64(h.Stats().QueuedBytes), // the update queued for topic-1's subscriber
		"ssehub_history_bytes": float64(mem.Bytes()), "ssehub_history_topics": 1,
		"ssehub_llm_generations_started_total": 3, "ssehub_llm_generations_running": 1, "ssehub_llm_admission_limit": 256, "ssehub_llm_tokens_total": 42,
		"ssehub_webhook_queued": 5, "ssehub_webhook_queued_bytes": 1234, "ssehub_webhook_events_sent_total": 11, "ssehub_webhook_request_failures_total": 4,
		"ssehub_webhook_failing": 1,
	}
	for name, v := range want {
		f := fams[name]
		if f == nil || len(f.Metric) != 1 || value(f.Metric[0]) != v {
			t.Errorf("%s = %v, want %v", name, f, v)
		}
	}
	topics := map[string]float64{}
	for _, m := range fams["ssehub_topic_subscribers"].GetMetric() {
		topics[m.GetLabel()[0].GetValue()] = value(m)
	}
	wantTopics := map[string]float64{"topic-12": 12, "topic-11": 11, "topic-10": 10, "topic-9": 9, "topic-8": 8, OtherTopic: 28}
	if fmt.Sprint(topics) != fmt.Sprint(wantTopics) {
		t.Errorf("topic series %v, want the 5 busiest and the rest under %s: %v", topics, OtherTopic, wantTopics)
	}
	if h := fams["ssehub_delivery_latency_seconds"].GetMetric()[0].GetHistogram(); h.GetSampleCount() != 1 {
		t.Errorf("latency histogram has %d samples, want 1", h.GetSampleCount())
	}
	if h := fams["ssehub_llm_token_lateness_seconds"].GetMetric()[0].GetHistogram(); h.GetSampleCount() != 5 || h.GetSampleSum() != 12 ||
		h.GetBucket()[2].GetUpperBound() != 0.01 || h.GetBucket()[2].GetCumulativeCount() != 4 {
		t.Errorf("token lateness histogram %v, want 5 samples, 4 of them within 10 ms, summing to 12 s", h)
	}
	for _, name := range []string{"go_goroutines", "process_open_fds"} {
		if fams[name] == nil {
			t.Errorf("no %s: the Go and process collectors are missing", name)
		}
	}
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, line := range []string{`ssehub_llm_generations_finished_total{outcome="done"} 2`,
		`ssehub_webhook_events_dropped_total{reason="queue_full"} 2`, `ssehub_webhook_events_dropped_total{reason="expired"} 3`} {
		if !strings.Contains(rec.Body.String(), line) {
			t.Errorf("the text exposition lacks %s:\n%s", line, rec.Body.String())
		}
	}
}

// fakeWebhooks reports fixed webhook counts.
type fakeWebhooks webhook.Stats

func (f fakeWebhooks) Stats() webhook.Stats { return webhook.Stats(f) }

// TestTopicSeries: label values are valid UTF-8 and never repeat.
func TestTopicSeries(t *testing.T) {
	top := []hub.TopicCount{
		{Topic: "a", Subscribers: 5}, {Topic: OtherTopic, Subscribers: 3},
		{Topic: "b\xff", Subscribers: 2}, {Topic: "b\xfe", Subscribers: 1},
	}
	got := fmt.Sprint(topicSeries(top, 4))
	if want := "[{_other 7} {a 5} {b\uFFFD 3}]"; got != want {
		t.Fatalf("series %s, want %s", got, want)
	}
}

// TestFeed: the feed publishes snapshots to the reserved topic only while
// someone listens, as private updates when asked, and stops with its context.
func TestFeed(t *testing.T) {
	h := newHub(t, history.NewMemory(history.MemoryConfig{}))
	streams := &fakeStreams{Open: 2}
	gens := &fakeLLM{Running: 2, LatenessP99: 312 * time.Millisecond}
	hooks := fakeWebhooks{Queued: 7, Failing: true, Dropped: 2, Expired: 1}
	f := NewFeed(FeedConfig{Private: true}, Sources{Hub: h, Streams: streams, LLM: gens, Webhooks: hooks})
	start := time.Now()
	prev := f.tick(context.Background(), f.counts(start), start)
	if st := h.Stats(); st.Internal != 0 {
		t.Fatalf("published %d snapshots with nobody listening", st.Internal)
	}
	authorized := subscribe(t, h, hub.SubscribeOptions{Topics: []string{StatsTopic}, Private: []string{StatsTopic}})
	anonymous := subscribe(t, h, hub.SubscribeOptions{Topics: []string{StatsTopic}})
	subscribe(t, h, hub.SubscribeOptions{Topics: []string{"news"}})
	for range 5 {
		if _, err := h.Publish(context.Background(), &hub.Update{Topics: []string{"news"}}); err != nil {
			t.Fatal(err)
		}
	}
	streams.Delivered = 10
	f.tick(context.Background(), prev, start.Add(2*time.Second))

	var got []*hub.Update
	select {
	case <-authorized.Ready():
		got = authorized.Drain(nil)
	case <-time.After(5 * time.Second):
		t.Fatal("no snapshot")
	}
	if len(got) != 1 || got[0].Type != "stats" || !got[0].Internal || !got[0].Private {
		t.Fatalf("got %+v, want one private internal stats update", got)
	}
	for _, want := range []string{`"connections":2`, `"subscribers":3`, `"published":5`, `"published_per_second":2.5`,
		`"delivered_per_second":5`, `"llm_running":2`, `"llm_token_lateness_p99_ms":312`,
		`"webhooks":{"queued":7,"failing":true,"dropped":3}`, `"topics":[{"topic":"$ssehub/stats","subscribers":2},{"topic":"news","subscribers":1}]`} {
		if !strings.Contains(got[0].Data, want) {
			t.Errorf("snapshot %s lacks %s", got[0].Data, want)
		}
	}
	if extra := anonymous.Drain(nil); len(extra) != 0 {
		t.Errorf("a subscriber without the right got %d private snapshots", len(extra))
	}

	// Run ticks on its own and returns once its context ends.
	f = NewFeed(FeedConfig{Interval: time.Millisecond}, Sources{Hub: h})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.Run(ctx)
	}()
	select {
	case <-anonymous.Ready():
	case <-time.After(5 * time.Second):
		t.Fatal("Run published nothing")
	}
	cancel()
	<-done
}

// latenessSeconds are llm.LatenessBounds in seconds.
func latenessSeconds() []float64 {
	var b []float64
	for _, d := range llm.LatenessBounds {
		b = append(b, d.Seconds())
	}
	return b
}
