package app

import (
	"flag"
	"net/http"
	"net/http/pprof"
	"strings"

	"github.com/ssehub/ssehub/internal/httpapi"
)

// MetricsConfig configures the /metrics endpoint.
type MetricsConfig struct {
	Enabled bool   // serve Prometheus metrics at /metrics
	Token   string // when set, /metrics needs "Authorization: Bearer <token>"
	Pprof   bool   // serve Go's profiler at /debug/pprof/
}

// DefaultMetrics serves /metrics without a token: keep it off the public
// internet (a proxy rule, or -metrics-token).
func DefaultMetrics() MetricsConfig { return MetricsConfig{Enabled: true} }

func metricsFlags(fs *flag.FlagSet, m *MetricsConfig) {
	fs.BoolVar(&m.Enabled, "metrics", m.Enabled, "serve Prometheus metrics at /metrics; it tells topic names and load, so do not expose it publicly (block it at the proxy or set -metrics-token)")
	fs.StringVar(&m.Token, "metrics-token", m.Token, "bearer token /metrics asks for (Authorization: Bearer <token>); empty serves it to anyone who reaches it")
	fs.BoolVar(&m.Pprof, "pprof", m.Pprof, "serve Go's profiler at /debug/pprof/ (and /metrics' token, if set, guards it too); for profiling, never on a public address")
}

// withPprof serves net/http/pprof at /debug/pprof/ in front of next,
// behind the metrics token when one is set, and behind the API's guard
// against ambiguous request framing.
func withPprof(next http.Handler, token string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	guarded := http.Handler(mux)
	if token != "" {
		guarded = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer "+token {
				http.Error(w, `{"error":"profiling needs Authorization: Bearer <metrics token>"}`, http.StatusUnauthorized)
				return
			}
			mux.ServeHTTP(w, r)
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/debug/pprof/") {
			if httpapi.RefuseAmbiguousFraming(w, r) {
				return
			}
			guarded.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
