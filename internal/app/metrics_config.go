package app

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/ssehub/ssehub/internal/httpapi"
)

// MetricsConfig configures the /metrics endpoint.
type MetricsConfig struct {
	Enabled bool   // serve Prometheus metrics at /metrics
	Token   string // when set, /metrics needs "Authorization: Bearer <token>"
	// Addr is an address of its own serving /metrics to whoever reaches it
	// (and presents Token, when set); "" serves it only on the hub's
	// address, where without Token only loopback clients get it.
	Addr  string
	Pprof bool // serve Go's profiler at /debug/pprof/
}

// mutexProfileFraction samples one in this many contended locks for
// /debug/pprof/mutex while the profiler is on: where the hub's goroutines
// wait on each other, at a cost too small to show.
const mutexProfileFraction = 20

// DefaultMetrics serves /metrics on the hub's address to loopback clients
// only: the metrics name the topics token holders subscribe to.
func DefaultMetrics() MetricsConfig { return MetricsConfig{Enabled: true} }

func metricsFlags(fs *flag.FlagSet, m *MetricsConfig) {
	fs.BoolVar(&m.Enabled, "metrics", m.Enabled, "serve Prometheus metrics at /metrics; they name topics and load, so without -metrics-token only loopback clients get them on the hub's address")
	fs.StringVar(&m.Token, "metrics-token", m.Token, "bearer token /metrics asks for (Authorization: Bearer <token>), from any client; empty: loopback clients only (or -metrics-addr)")
	fs.StringVar(&m.Addr, "metrics-addr", m.Addr, "a private address of its own serving /metrics to whoever reaches it (and has -metrics-token, if set), e.g. 10.0.0.5:9090; empty: none")
	fs.BoolVar(&m.Pprof, "pprof", m.Pprof, "serve Go's profiler at /debug/pprof/ (and /metrics' token, if set, guards it too), lock contention sampled for /debug/pprof/mutex; for profiling, never on a public address")
}

// where says at startup who can read the metrics.
func (m MetricsConfig) where() string {
	switch {
	case !m.Enabled:
		return "off"
	case m.Token != "":
		return "/metrics to clients presenting -metrics-token"
	case m.Addr != "":
		return "/metrics on -metrics-addr; on the hub's address to loopback clients only"
	}
	return "/metrics to loopback clients only (set -metrics-token, or -metrics-addr, to scrape from elsewhere)"
}

// startMetrics serves the metrics on their own address (-metrics-addr),
// until the returned stop is called, which waits for that server.
func (a *App) startMetrics() (stop func(), err error) {
	h := a.api.MetricsHandler()
	if a.cfg.Metrics.Addr == "" || h == nil {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", a.cfg.Metrics.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen for metrics on %s: %w", a.cfg.Metrics.Addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: a.cfg.ReadHeaderTimeout, ReadTimeout: a.cfg.ReadTimeout,
		ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelWarn)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	a.log.Info("metrics on their own address", "url", "http://"+ln.Addr().String()+"/metrics", "token", a.cfg.Metrics.Token != "")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			_ = srv.Close()
		}
		<-done
	}, nil
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
