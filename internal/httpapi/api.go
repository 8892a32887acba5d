// Package httpapi is ssehub's HTTP interface: the Mercure subscribe and
// publish endpoints, their friendlier aliases, the seed demo's endpoints,
// health, CORS and JSON errors. It knows the hub, not how history is stored.
package httpapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/ssehub/ssehub/internal/auth"
	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/llm"
)

// Defaults for Config.
const (
	DefaultHeartbeat    = 15 * time.Second
	DefaultRetry        = 3000
	DefaultMaxBodyBytes = 1 << 20
	DefaultWriteTimeout = 30 * time.Second
)

// Config configures the API. Zero values take the defaults.
type Config struct {
	Heartbeat time.Duration // comment sent on idle streams
	Retry     int           // reconnection time (ms) sent when a stream opens
	// ReconnectSpread spreads the subscribers' return after a shutdown: a
	// stream that ends because the hub closes first sends a retry of Retry
	// plus a random part of ReconnectSpread, so that browsers reconnect
	// over that span rather than all at once. 0 sends no such retry.
	ReconnectSpread time.Duration
	MaxBodyBytes    int64         // publish body limit; larger gets 413
	WriteTimeout    time.Duration // a stream write blocked longer ends the stream
	CORSOrigins     []string      // allowed origins; "*" allows any; empty allows none
	// TrustedProxies are the proxies whose X-Forwarded-For names the
	// client (see clientAddr); empty: the connection's peer is the client.
	TrustedProxies []netip.Prefix
	Limits         Limits       // what clients may use; zero fields are unlimited
	Console        http.Handler // serves the web console at "/" and /assets/
	Generations    *llm.Manager // runs LLM generations; nil disables the LLM endpoints
	Peers          Peers        // the other nodes of a cluster, asked about their generations; nil on one node
	Models         *llm.Router  // answers /v1/chat/completions
	History        hub.Reader   // the hub's history: /readyz pings it when it is a Pinger; never read
	Metrics        Metrics      // serves /metrics and records latency; nil disables both
	MetricsToken   string       // when set, /metrics needs "Authorization: Bearer <token>"

	// Publishers verifies publishers' tokens and Subscribers subscribers'.
	// With neither the hub runs in open development mode: anonymous
	// publishing from loopback clients only, anonymous subscribing.
	Publishers    *auth.Verifier
	Subscribers   *auth.Verifier
	DenyAnonymous bool // subscribing needs a token

	// Subscriptions turns on the protocol's active subscriptions: updates
	// announcing each subscription that starts or ends, and the web API
	// listing them.
	Subscriptions bool
}

func (c *Config) defaults() {
	if c.Heartbeat <= 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	if c.Retry <= 0 {
		c.Retry = DefaultRetry
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
}

// API serves the hub over HTTP.
type API struct {
	conns *connLimiter
	rate  *rateLimiter
	cfg   Config
	hub   *hub.Hub
	log   *slog.Logger
	mux   *http.ServeMux
	cors  corsPolicy
	// counts are the streams' totals, read by StreamStats.
	counts  streamCounters
	taken   takenStreams
	writers writerPool
	hangups hangups    // notices clients leaving their taken-over streams
	subs    *announcer // the active subscriptions; nil when they are off
}

// New returns the HTTP API of h.
func New(cfg Config, h *hub.Hub, log *slog.Logger) *API {
	cfg.defaults()
	a := &API{cfg: cfg, hub: h, log: log, mux: http.NewServeMux(), cors: newCORS(cfg.CORSOrigins),
		conns: &connLimiter{max: cfg.Limits.MaxConnections, perIP: cfg.Limits.MaxConnectionsPerIP},
		rate:  newRateLimiter(cfg.Limits.PublishRate, cfg.Limits.PublishBurst)}
	a.counts.shared = newTally(cfg.Metrics)
	a.writers.tallies = make([]*tally, runtime.GOMAXPROCS(0))
	for i := range a.writers.tallies {
		a.writers.tallies[i] = newTally(cfg.Metrics)
	}
	if cfg.Subscriptions {
		a.subs = newAnnouncer(h, log)
	}
	a.routes()
	return a
}

func (a *API) routes() {
	mercure := methods{http.MethodGet: a.handleSubscribe, http.MethodPost: a.handlePublish}
	a.mux.Handle("/.well-known/mercure", mercure)
	a.mux.Handle("/events", methods{http.MethodGet: a.handleSubscribe})
	a.mux.Handle("/publish", methods{http.MethodPost: a.handlePublish})
	a.subscriptionRoutes()
	a.mux.Handle("/gbi/sse/search", methods{http.MethodGet: a.handleSeedSearch})
	receive := a.publishing(fixedTopic(SeedTopic), a.handleSeedReceive, writeErr)
	a.mux.Handle("/gbi/sse/receive", methods{http.MethodGet: receive, http.MethodPost: receive})
	a.mux.Handle("/healthz", methods{http.MethodGet: a.handleHealth, http.MethodHead: a.handleHealth})
	a.mux.Handle("/readyz", methods{http.MethodGet: a.handleReady, http.MethodHead: a.handleReady})
	if a.cfg.Metrics != nil {
		a.mux.Handle("/metrics", methods{http.MethodGet: a.handleMetrics})
	}
	if a.cfg.Generations != nil && a.cfg.Models != nil {
		gen := fixedTopic(GenerationTopic)
		a.mux.Handle("/llm/generations", methods{http.MethodPost: a.publishing(gen, a.handleStartGeneration, writeErr)})
		a.mux.Handle("/llm/generations/{id}", methods{http.MethodGet: a.handleGetGeneration})
		a.mux.Handle("/llm/generations/{id}/stop", methods{http.MethodPost: a.publishing(a.generationTopic, a.handleStopGeneration, writeErr)})
		a.mux.Handle("/v1/chat/completions", methods{http.MethodPost: a.publishing(gen, a.handleChatCompletions, writeOpenAIError)})
		a.mux.Handle("/v1/models", methods{http.MethodGet: a.handleModels})
	}
	a.mux.HandleFunc("/", a.handleRoot)
}

// ServeHTTP applies CORS and routes the request.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if a.cors.apply(w, r) {
		return
	}
	a.mux.ServeHTTP(w, r)
}

// handleRoot serves the console at "/", its stats page and its assets;
// anything else is 404.
func (a *API) handleRoot(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	isConsole := p == "/" || p == "/index.html" || p == "/stats.html" || strings.HasPrefix(p, "/assets/")
	if !isConsole || a.cfg.Console == nil {
		writeError(w, http.StatusNotFound, "", "no such endpoint: "+r.URL.Path)
		return
	}
	methods{http.MethodGet: a.cfg.Console.ServeHTTP, http.MethodHead: a.cfg.Console.ServeHTTP}.ServeHTTP(w, r)
}

func (a *API) handleHealth(w http.ResponseWriter, _ *http.Request) {
	st := a.hub.Stats()
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "subscribers": st.Subscribers, "published": st.Published, "auth": a.authMode()})
}

// methods routes by HTTP method, answers OPTIONS with the allowed methods
// and others with 405. HEAD is served only where registered: on a stream
// it would subscribe and stream into nothing.
type methods map[string]http.HandlerFunc

func (m methods) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h, ok := m[r.Method]; ok {
		h(w, r)
		return
	}
	allow := make([]string, 0, len(m)+1)
	for k := range m {
		allow = append(allow, k)
	}
	allow = append(allow, http.MethodOptions)
	slices.Sort(allow)
	w.Header().Set("Allow", strings.Join(allow, ", "))
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeError(w, http.StatusMethodNotAllowed, "", "method "+r.Method+" not allowed on "+r.URL.Path+"; allowed: "+strings.Join(allow, ", "))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
