package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssehub/ssehub/internal/appauth"
)

// AppAuth reports the calls to the application's authorization callback.
type AppAuth interface {
	Stats() appauth.Stats
}

// callbackMetrics describe the authorization callback's calls.
type callbackMetrics struct {
	calls, failures, cacheHits, merged, duration *prometheus.Desc
}

func newCallbackMetrics() callbackMetrics {
	return callbackMetrics{
		calls:     desc("auth_callback_calls_total", "Calls to the application's authorization callback (-auth-url), by answer: granted, refused (401/403), failed (no decision: the request got 503).", "answer"),
		failures:  desc("auth_callback_failures_total", "Calls to the authorization callback that decided nothing, by kind: unreachable, timeout, status (an answer other than 200, 401, 403), malformed (a 200 that is not rights).", "kind"),
		cacheHits: desc("auth_callback_cache_hits_total", "Requests the authorization callback's cached answer decided (-auth-cache), without a call."),
		merged:    desc("auth_callback_merged_total", "Requests that waited for an identical call to the authorization callback in flight rather than making their own."),
		duration:  desc("auth_callback_duration_seconds", "Time the authorization callback took to answer (or to fail)."),
	}
}

func (m callbackMetrics) describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.calls, m.failures, m.cacheHits, m.merged, m.duration} {
		ch <- d
	}
}

// collect reports src's counts; nothing without a callback.
func (m callbackMetrics) collect(src AppAuth, ch chan<- prometheus.Metric) {
	if src == nil {
		return
	}
	st := src.Stats()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	var failed uint64
	for kind, n := range st.Failures {
		counter(m.failures, n, kind)
		failed += n
	}
	counter(m.calls, st.Granted, "granted")
	counter(m.calls, st.Refused, "refused")
	counter(m.calls, failed, "failed")
	counter(m.cacheHits, st.CacheHits)
	counter(m.merged, st.Merged)
	ch <- constHistogram(m.duration, st.Latency.Bounds, st.Latency.Counts, st.Latency.Sum)
}
