// Package httpapi is ssehub's HTTP interface: the Mercure subscribe and
// publish endpoints, their friendlier aliases, the active subscriptions'
// web API, the seed demo's endpoints, health, readiness and metrics, and
// what guards them all: authentication (JWT), the clients' limits and
// CORS. Other endpoint packages (the LLM's) register on its mux and ask it
// to authenticate and limit their requests.
//
// It handles requests only: once a subscription is authorized and opened,
// the stream engine (package stream) writes it. It must not know how bytes
// reach a socket, nor how history is stored or shared between nodes.
package httpapi

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"

	"github.com/ssehub/ssehub/internal/auth"
	"github.com/ssehub/ssehub/internal/httpio"
	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/stream"
	"github.com/ssehub/ssehub/internal/subscriptions"
	"github.com/ssehub/ssehub/internal/topic"
)

// DefaultMaxBodyBytes is the publish body limit when Config.MaxBodyBytes
// is 0.
const DefaultMaxBodyBytes = 1 << 20

// Config configures the API. Zero values take the defaults.
type Config struct {
	Streams      *stream.Engine // writes the event streams; nil: one with the defaults
	MaxBodyBytes int64          // publish body limit; larger gets 413
	CORSOrigins  []string       // allowed origins; "*" allows any; empty allows none
	// TrustedProxies are the proxies whose X-Forwarded-For names the
	// client (see clientAddr); empty: the connection's peer is the client.
	TrustedProxies []netip.Prefix
	Limits         Limits       // what clients may use; zero fields are unlimited
	Console        http.Handler // serves the web console at "/" and /assets/
	Client         http.Handler // serves the JavaScript client at /ssehub.js
	// HubTopics are prefixes of the topics only the hub's own modules
	// publish to (the LLM generations'): a publish to one is refused.
	HubTopics    []string
	Peers        Peers        // the other nodes of a cluster, asked about their subscriptions; nil on one node
	History      hub.Reader   // the hub's history: /readyz pings it when it is a Pinger; never read
	Metrics      http.Handler // serves /metrics; nil disables it
	MetricsToken string       // when set, /metrics needs "Authorization: Bearer <token>"

	// Publishers verifies publishers' tokens and Subscribers subscribers'.
	// With neither the hub runs in open development mode: anonymous
	// publishing from loopback clients only, anonymous subscribing.
	Publishers    *auth.Verifier
	Subscribers   *auth.Verifier
	DenyAnonymous bool // subscribing needs a token

	// Resource is the hub's resource identifier (-jwt-audience), which
	// access tokens' aud must hold, the base of relative URL patterns
	// and the resource of the protected resource metadata; "": the hub's
	// URL as each request reaches it. Issuers are the trusted issuers of
	// access tokens, advertised in that metadata.
	Resource string
	Issuers  []string
	// CookieName is the cookie of Mercure 1.0 (DefaultCookieName when
	// ""); ClassicCookieName is read too. NoQueryToken refuses the
	// authorization query parameter, which only classic tokens may use.
	CookieName   string
	NoQueryToken bool

	// App, when set, asks the application who may subscribe (and, with
	// AppPublish, publish), with the request's own credentials: for every
	// request with AppAlways, else for those without a token. A token it
	// does not see is verified as ever (in open development mode too,
	// where nothing can verify it: refused); a bad one is refused, never
	// passed to the application.
	App        Authorizer
	AppAlways  bool
	AppPublish bool

	// Subscriptions turns on the protocol's active subscriptions: updates
	// announcing each subscription that starts or ends, and the web API
	// listing them.
	Subscriptions bool

	// HubURL is the hub's URL (https://example.com/.well-known/mercure),
	// the base of relative URL patterns and topics and what discovery
	// advertises; "" derives it from each request.
	HubURL string

	// Notifier is told of every subscriber's stream starting and ending,
	// and of the updates published (the application's webhooks); nil for
	// none.
	Notifier Notifier
}

// Notifier is told what happens through the API, for the application's
// webhooks. Its methods are called on the hot paths (a stream's end, from
// a pool writer) and must not block.
type Notifier interface {
	// Started is told of a stream that starts; Ended of its end, once.
	// s is not changed afterwards.
	Started(s *subscriptions.Subscriber)
	Ended(s *subscriptions.Subscriber)
	// Published is told of updates published through the publish
	// endpoint, with their ids.
	Published(us []*hub.Update)
}

func (c *Config) defaults() {
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.Streams == nil {
		c.Streams = stream.New(stream.Config{})
	}
	if c.CookieName == "" {
		c.CookieName = DefaultCookieName
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
	subs  *announcer // the active subscriptions; nil when they are off
	// matchers keeps the compiled Mercure 1.0 matchers by spec and base.
	matchers *topic.Cache
	// shapes write the errors found before routing (a body over the
	// limit) for the paths under a prefix, in their protocol's shape.
	shapes []errorShape
}

// errorShape writes the errors of the paths under prefix.
type errorShape struct {
	prefix string
	write  func(http.ResponseWriter, error)
}

// ShapeErrors makes the errors answered before routing, for the paths
// under prefix, written by write: an endpoint package whose protocol has
// its own error shape (OpenAI's, under /v1/) registers it. Call it before
// serving.
func (a *API) ShapeErrors(prefix string, write func(http.ResponseWriter, error)) {
	a.shapes = append(a.shapes, errorShape{prefix, write})
}

// writeEarlyErr answers an error found before routing r, in the shape of
// r's path.
func (a *API) writeEarlyErr(w http.ResponseWriter, r *http.Request, err error) {
	for _, s := range a.shapes {
		if strings.HasPrefix(r.URL.Path, s.prefix) {
			s.write(w, err)
			return
		}
	}
	writeErr(w, r, err)
}

// New returns the HTTP API of h.
func New(cfg Config, h *hub.Hub, log *slog.Logger) *API {
	cfg.defaults()
	a := &API{cfg: cfg, hub: h, log: log, mux: http.NewServeMux(), cors: newCORS(cfg.CORSOrigins),
		conns:    &connLimiter{max: cfg.Limits.MaxConnections, perIP: cfg.Limits.MaxConnectionsPerIP},
		rate:     newRateLimiter(cfg.Limits.PublishRate, cfg.Limits.PublishBurst),
		matchers: topic.NewCache(matcherCacheSize)}
	if cfg.Subscriptions {
		a.subs = newAnnouncer(h, log)
	}
	a.routes()
	return a
}

func (a *API) routes() {
	mercure := httpio.Methods{http.MethodGet: a.handleSubscribe, http.MethodPost: a.handlePublish}
	a.mux.Handle("/.well-known/mercure", mercure)
	a.mux.Handle("/events", httpio.Methods{http.MethodGet: a.handleSubscribe})
	a.mux.Handle("/publish", httpio.Methods{http.MethodPost: a.handlePublish})
	a.subscriptionRoutes()
	meta := httpio.Methods{http.MethodGet: a.handleResourceMetadata}
	a.mux.Handle(MetadataPath, meta)
	a.mux.Handle(MetadataPath+HubPath, meta)
	a.mux.Handle("/gbi/sse/search", httpio.Methods{http.MethodGet: a.handleSeedSearch})
	receive := a.publishing(SeedTopic, a.handleSeedReceive)
	a.mux.Handle("/gbi/sse/receive", httpio.Methods{http.MethodGet: receive, http.MethodPost: receive})
	a.mux.Handle("/healthz", httpio.Methods{http.MethodGet: a.handleHealth, http.MethodHead: a.handleHealth})
	a.mux.Handle("/readyz", httpio.Methods{http.MethodGet: a.handleReady, http.MethodHead: a.handleReady})
	if a.cfg.Metrics != nil {
		a.mux.Handle("/metrics", httpio.Methods{http.MethodGet: a.handleMetrics})
	}
	a.mux.HandleFunc("/", a.handleRoot)
}

// Handle registers h for pattern, as http.ServeMux does: another package's
// endpoints, served behind the API's CORS policy. Call it before serving.
func (a *API) Handle(pattern string, h http.Handler) { a.mux.Handle(pattern, h) }

// ServeHTTP refuses requests of ambiguous framing, applies CORS and routes
// the request. A body announced over the limit is refused at once (413),
// before a client that sent Expect: 100-continue is told to send it.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if RefuseAmbiguousFraming(w, r) {
		return
	}
	if a.cors.apply(w, r) {
		return
	}
	// Discovery (draft-08): every answer names the hub; the subscriptions
	// web API replaces it with its own.
	w.Header().Set("Link", "<"+a.hubURL(r)+`>; rel="mercure"`)
	if r.ContentLength > a.cfg.MaxBodyBytes {
		a.writeEarlyErr(w, r, &httpio.Error{Status: http.StatusRequestEntityTooLarge, Field: "body",
			Msg: fmt.Sprintf("request body of %d bytes: at most %d (-max-body-bytes)", r.ContentLength, a.cfg.MaxBodyBytes)})
		return
	}
	a.mux.ServeHTTP(w, r)
}

// handleRoot serves the console at "/", its stats page and its assets,
// and the JavaScript client at /ssehub.js; anything else is 404.
func (a *API) handleRoot(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if p == "/ssehub.js" && a.cfg.Client != nil {
		httpio.Methods{http.MethodGet: a.cfg.Client.ServeHTTP, http.MethodHead: a.cfg.Client.ServeHTTP}.ServeHTTP(w, r)
		return
	}
	isConsole := p == "/" || p == "/index.html" || p == "/stats.html" || strings.HasPrefix(p, "/assets/")
	if !isConsole || a.cfg.Console == nil {
		httpio.WriteError(w, http.StatusNotFound, "", "no such endpoint: "+r.URL.Path)
		return
	}
	httpio.Methods{http.MethodGet: a.cfg.Console.ServeHTTP, http.MethodHead: a.cfg.Console.ServeHTTP}.ServeHTTP(w, r)
}

func (a *API) handleHealth(w http.ResponseWriter, _ *http.Request) {
	st := a.hub.Stats()
	httpio.WriteJSON(w, http.StatusOK, map[string]any{"status": "ok", "subscribers": st.Subscribers, "published": st.Published, "auth": a.healthMode()})
}
