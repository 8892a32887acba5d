package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/app/apptest"
	"github.com/ssehub/ssehub/internal/auth/authtest"
	"github.com/ssehub/ssehub/internal/metrics"
)

// scrape GETs /metrics over the server's listener, as Prometheus does, and
// parses the text format. hdr pairs are headers.
func (s *server) scrape(t *testing.T, hdr ...string) map[string]*dto.MetricFamily {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), apptest.StreamTimeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/metrics", nil)
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// value returns the value of the series of name whose labels include the
// pairs, or -1 when there is none; for a histogram, its sample count.
func value(fams map[string]*dto.MetricFamily, name string, pairs ...string) float64 {
	for _, m := range fams[name].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for i := 0; i+1 < len(pairs); i += 2 {
			match = match && labels[pairs[i]] == pairs[i+1]
		}
		switch {
		case !match:
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Untyped != nil:
			return m.Untyped.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

// waitMetric scrapes until cond holds for the value of the series.
func (s *server) waitMetric(t *testing.T, what string, cond func(float64) bool, name string, pairs ...string) {
	t.Helper()
	var last float64
	apptest.WaitFor(t, what, func() bool {
		last = value(s.scrape(t), name, pairs...)
		return cond(last)
	})
}

func equal(n float64) func(float64) bool { return func(v float64) bool { return v == n } }

// TestMetricsMove scrapes /metrics over a real listener and checks that its
// values follow what clients do: subscribing, publishing, resuming, being
// cut off as too slow, and running an LLM generation.
func TestMetricsMove(t *testing.T) {
	s := newServer(t, func(c *app.Config) {
		c.QueueSize = 64
		c.SimTTFT, c.SimTokensPerSec = time.Millisecond, 1e6
	})
	fams := s.scrape(t)
	for _, name := range []string{"ssehub_connections", "ssehub_events_published_total", "ssehub_events_delivered_total",
		"ssehub_slow_subscribers_cut_total", "ssehub_llm_generations_started_total", "ssehub_llm_tokens_total"} {
		if v := value(fams, name); v != 0 {
			t.Errorf("%s = %v on a new hub, want 0", name, v)
		}
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total", "ssehub_history_bytes", "ssehub_delivery_latency_seconds"} {
		if fams[name] == nil {
			t.Errorf("no %s", name)
		}
	}

	const topic = "https://example.com/metrics"
	st := s.OpenStream(t, apptest.Query("/events", "topic", topic), nil)
	s.waitMetric(t, "one connection", equal(1), "ssehub_connections")
	fams = s.scrape(t)
	if v := value(fams, "ssehub_topic_subscribers", "topic", topic); v != 1 {
		t.Errorf("topic_subscribers{topic=%q} = %v, want 1", topic, v)
	}
	for range 3 {
		s.Publish(t, topic, "hello")
	}
	if _, err := st.Read(3); err != nil {
		t.Fatal(err)
	}
	s.waitMetric(t, "3 delivered", equal(3), "ssehub_events_delivered_total")
	fams = s.scrape(t)
	if v := value(fams, "ssehub_events_published_total"); v != 3 {
		t.Errorf("events_published_total = %v, want 3", v)
	}
	if v := value(fams, "ssehub_delivery_latency_seconds"); v < 1 || v > 3 {
		t.Errorf("latency histogram has %v samples, want one per written batch (1 to 3)", v)
	}
	if v := value(fams, "ssehub_history_bytes"); v <= 0 {
		t.Errorf("history_bytes = %v, want the retained updates' size", v)
	}

	s.OpenStream(t, apptest.Query("/events", "topic", topic, "lastEventID", "earliest"), nil)
	s.waitMetric(t, "3 replayed", equal(3), "ssehub_events_replayed_total")

	apptest.StalledSubscriber(t, s.Server, apptest.Query("/events", "topic", topic+"/slow"))
	s.WaitSubscribers(t, 3)
	apptest.Overflow(t, s.Server, topic+"/slow", 0)
	s.waitMetric(t, "a slow subscriber cut off", equal(1), "ssehub_slow_subscribers_cut_total")

	ans := s.do(t, http.MethodPost, "/llm/generations", "application/json", `{"messages":[{"role":"user","content":"hi"}],"max_tokens":5}`)
	if ans.status != http.StatusCreated {
		t.Fatalf("start a generation: %d %s", ans.status, ans.body)
	}
	s.waitMetric(t, "a finished generation", equal(1), "ssehub_llm_generations_finished_total", "outcome", "done")
	fams = s.scrape(t)
	if v := value(fams, "ssehub_llm_generations_started_total"); v != 1 {
		t.Errorf("llm_generations_started_total = %v, want 1", v)
	}
	if v := value(fams, "ssehub_llm_generations_running"); v != 0 {
		t.Errorf("llm_generations_running = %v, want 0", v)
	}
	if v := value(fams, "ssehub_llm_tokens_total"); v < 1 || v > 5 {
		t.Errorf("llm_tokens_total = %v, want 1 to 5", v)
	}
}

func TestMetricsTokenAndSwitch(t *testing.T) {
	t.Parallel()
	guarded := newServer(t, func(c *app.Config) { c.Metrics.Token = "scrape-secret" })
	for _, hdr := range [][]string{nil, {"Authorization", "Bearer wrong"}, {"Authorization", "Basic scrape-secret"}} {
		ans := guarded.do(t, http.MethodGet, "/metrics", "", "", hdr...)
		if ans.status != http.StatusUnauthorized || ans.header.Get("WWW-Authenticate") == "" {
			t.Errorf("/metrics with %q: %d, want 401 with a challenge", hdr, ans.status)
		}
		apptest.ErrorBody(t, ans.header.Get("Content-Type"), ans.body)
	}
	if fams := guarded.scrape(t, "Authorization", "Bearer scrape-secret"); fams["ssehub_subscribers"] == nil {
		t.Error("no ssehub_subscribers with the right token")
	}

	off := newServer(t, func(c *app.Config) { c.Metrics.Enabled = false })
	if ans := off.do(t, http.MethodGet, "/metrics", "", ""); ans.status != http.StatusNotFound {
		t.Errorf("/metrics with -metrics=false: %d, want 404", ans.status)
	}
}

// TestReadyz: ready while serving; 503 naming the hub and the history once
// the app is closed.
func TestReadyz(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		dataDir bool
		want    []string
	}{
		{"memory", false, []string{"hub: shutting down"}},
		{"bolt", true, []string{"hub: shutting down", "history: history store is closed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, func(c *app.Config) {
				if tt.dataDir {
					c.DataDir = t.TempDir()
				}
			})
			ans := s.do(t, http.MethodGet, "/readyz", "", "")
			if ans.status != http.StatusOK || !strings.Contains(ans.body, `"status":"ready"`) {
				t.Fatalf("/readyz: %d %s, want 200 ready", ans.status, ans.body)
			}
			if err := s.App.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			ans = s.do(t, http.MethodGet, "/readyz", "", "")
			body := apptest.ErrorBody(t, ans.header.Get("Content-Type"), ans.body)
			if ans.status != http.StatusServiceUnavailable || body["status"] != "unavailable" {
				t.Fatalf("/readyz after Close: %d %s, want 503 unavailable", ans.status, ans.body)
			}
			for _, w := range tt.want {
				if !strings.Contains(body["error"].(string), w) {
					t.Errorf("error %q does not say %q", body["error"], w)
				}
			}
			if ans := s.do(t, http.MethodGet, "/healthz", "", ""); ans.status != http.StatusOK {
				t.Errorf("/healthz after Close: %d, want 200: liveness is not readiness", ans.status)
			}
		})
	}
}

// TestStatsFeed: a subscriber of $ssehub/stats gets a snapshot a second; a
// catch-all subscriber never does, and nobody may publish there.
func TestStatsFeed(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil)
	all := s.OpenStream(t, apptest.Query("/events", "topic", "*"), nil)
	feed := s.OpenStream(t, apptest.Query("/events", "topic", metrics.StatsTopic), nil)
	ev := feed.Next(t)
	var snap metrics.Snapshot
	if err := json.Unmarshal([]byte(ev.Data), &snap); err != nil || ev.Type != "stats" {
		t.Fatalf("event %q %q: want a stats snapshot (%v)", ev.Type, ev.Data, err)
	}
	if snap.Connections != 2 || snap.Subscribers != 2 || len(snap.Topics) != 2 {
		t.Errorf("snapshot %+v, want 2 connections, 2 subscribers, 2 topics", snap)
	}
	s.Publish(t, "news", "marker")
	if ev := all.Next(t); ev.Data != "marker" {
		t.Errorf("the * subscriber got %q %q before the marker: reserved topics must not match wildcards", ev.Type, ev.Data)
	}

	for _, form := range []url.Values{
		{"topic": {metrics.StatsTopic}, "data": {"forged"}},
		{"topic": {"news", "$ssehub/other"}, "data": {"alternate"}},
	} {
		ans := s.do(t, http.MethodPost, "/publish", formType, form.Encode())
		body := apptest.ErrorBody(t, ans.header.Get("Content-Type"), ans.body)
		if ans.status != http.StatusBadRequest || body["field"] != "topic" || !strings.Contains(body["error"].(string), "reserved") {
			t.Errorf("publish to %v: %d %s, want 400 naming the reserved topic", form["topic"], ans.status, ans.body)
		}
	}
}

// TestStatsFeedPrivate: with JWT keys the snapshots are private: only a
// subscriber whose token allows $ssehub/stats sees the topic names.
func TestStatsFeedPrivate(t *testing.T) {
	t.Parallel()
	k := authtest.NewKeys(t)
	s := jwtServer(t, k, nil)
	hour := time.Now().Add(time.Hour)
	allowed := k.HS256(t, authtest.Claims(nil, []string{metrics.StatsTopic}, hour))
	pub := k.HS256(t, authtest.Claims([]string{"*"}, nil, hour))
	anon := s.OpenStream(t, apptest.Query("/events", "topic", metrics.StatsTopic, "topic", "news"), nil)
	feed := s.OpenStream(t, apptest.Query("/events", "topic", metrics.StatsTopic), apptest.Header("Authorization", bearer(allowed)))
	if ev := feed.Next(t); ev.Type != "stats" {
		t.Fatalf("authorized subscriber got %q %q, want a snapshot", ev.Type, ev.Data)
	}
	ans := s.do(t, http.MethodPost, "/publish", formType, url.Values{"topic": {"news"}, "data": {"marker"}}.Encode(), "Authorization", bearer(pub))
	if ans.status != http.StatusOK {
		t.Fatalf("publish: %d %s", ans.status, ans.body)
	}
	if ev := anon.Next(t); ev.Data != "marker" {
		t.Errorf("anonymous subscriber got %q %q before the marker, want no private snapshot", ev.Type, ev.Data)
	}
}

// TestMetricsPrivateByDefault: without a token, /metrics answers loopback
// clients only: a remote client, and a loopback one whose request a proxy
// forwards, get 403 naming the ways to open it. With the token any client
// presenting it gets it. Before, anyone who reached the hub read the
// topics that token holders subscribe to.
func TestMetricsPrivateByDefault(t *testing.T) {
	t.Parallel()
	remote := remoteServer(t)
	ans := remote.do(t, http.MethodGet, "/metrics", "", "")
	if m := apptest.ErrorBody(t, ans.header.Get("Content-Type"), ans.body); ans.status != http.StatusForbidden || !strings.Contains(m["error"].(string), "-metrics-token") {
		t.Errorf("remote client: %d %s, want 403 naming -metrics-token", ans.status, ans.body)
	}
	local := newServer(t, nil)
	if ans := local.do(t, http.MethodGet, "/metrics", "", ""); ans.status != http.StatusOK {
		t.Errorf("loopback client: %d, want 200", ans.status)
	}
	for _, h := range []string{"X-Forwarded-For", "X-Real-IP", "Forwarded"} {
		if ans := local.do(t, http.MethodGet, "/metrics", "", "", h, "for=203.0.113.9"); ans.status != http.StatusForbidden {
			t.Errorf("loopback request forwarded (%s): %d, want 403", h, ans.status)
		}
	}
	trusting := newServer(t, func(c *app.Config) { c.Limits.TrustedProxies = "127.0.0.1" })
	if ans := trusting.do(t, http.MethodGet, "/metrics", "", "", "X-Forwarded-For", "203.0.113.9"); ans.status != http.StatusForbidden {
		t.Errorf("remote client behind a trusted proxy: %d, want 403", ans.status)
	}
	tokened := remoteServerWith(t, func(c *app.Config) { c.Metrics.Token = "scrape-secret" })
	if ans := tokened.do(t, http.MethodGet, "/metrics", "", "", "Authorization", "Bearer scrape-secret"); ans.status != http.StatusOK {
		t.Errorf("remote client with the token: %d, want 200", ans.status)
	}
}
