// Package app wires ssehub together: configuration, hub, history, HTTP API
// and console, the server and its graceful shutdown. cmd/ssehub calls Main;
// tests build the same wiring with New.
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	jsclient "github.com/ssehub/ssehub/clients/js"
	"github.com/ssehub/ssehub/internal/appauth"
	"github.com/ssehub/ssehub/internal/bolt"
	"github.com/ssehub/ssehub/internal/console"
	"github.com/ssehub/ssehub/internal/history"
	"github.com/ssehub/ssehub/internal/httpapi"
	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/jwks"
	"github.com/ssehub/ssehub/internal/llm"
	"github.com/ssehub/ssehub/internal/llm/sim"
	"github.com/ssehub/ssehub/internal/llmapi"
	"github.com/ssehub/ssehub/internal/metrics"
	"github.com/ssehub/ssehub/internal/openai"
	"github.com/ssehub/ssehub/internal/redis"
	"github.com/ssehub/ssehub/internal/stream"
	"github.com/ssehub/ssehub/internal/webhook"
)

// App is a configured ssehub: a hub and its HTTP handler.
type App struct {
	cfg     Config
	log     *slog.Logger
	hub     *hub.Hub
	store   io.Closer // the durable history or Redis, nil in memory-only mode
	gens    *llm.Manager
	streams *stream.Engine
	api     *httpapi.API
	hooks   *webhook.Dispatcher // the application's webhooks; nil when off
	// presence is the webhooks' register of their queue and open
	// subscribers (one node with a data directory); nil without one.
	presence io.Closer
	handler  http.Handler
	keys     keys            // what Reload replaces
	appAuth  *appauth.Client // the authorization callback's client; nil without one
	jwks     []*jwks.Set     // the issuers' JWK Sets, fetched until Close
	// stopFeed ends the stats feed's goroutine and waits for it.
	stopFeed func()
	// stopFollow ends the goroutines following the cluster's Redis log and
	// answering the other nodes.
	stopFollow func()
	// stopRecover ends the recovery of generations cut by a crash
	// (recoverGenerations), if it still runs.
	stopRecover func()
}

// New builds an App from cfg.
func New(cfg Config, log *slog.Logger) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	pubs, subs, err := cfg.verifiers()
	if err != nil {
		return nil, err
	}
	k := keys{pubs: pubs, subs: subs, files: cfg.keyFiles()}
	access, jwksSrcs, err := cfg.Token.access()
	if err != nil {
		return nil, err
	}
	if pubs, subs, err = withAccess(pubs, subs, access, jwksSrcs, log); err != nil {
		return nil, err
	}
	if cfg.TLSCert != "" {
		k.cert = &certificate{certFile: cfg.TLSCert, keyFile: cfg.TLSKey}
		if err := k.cert.load(); err != nil {
			return nil, err
		}
	}
	log.Info("metrics", "served", cfg.Metrics.where())
	openDev := pubs == nil && subs == nil
	switch {
	case openDev && cfg.AppAuth.URL != "":
		log.Warn("no JWT key is configured: the authorization callback (-auth-url) alone decides who may subscribe",
			"publish", cfg.AppAuth.publishing())
	case openDev:
		log.Warn("OPEN DEVELOPMENT MODE: no JWT key is configured, authorization is off",
			"publish", "anonymous, from loopback clients (127.0.0.0/8, ::1) only; others get 403",
			"subscribe", "anonymous; private updates reach nobody",
			"fix", "set -jwt-key (SSEHUB_JWT_KEY) to an HS256 secret or a PEM public key file (with -jwt-alg RS256 or ES256), or -auth-url to your app's authorization callback")
	}
	appAuth, err := newAppAuth(cfg, openDev, log)
	if err != nil {
		return nil, err
	}
	b, err := newBackend(cfg, log)
	if err != nil {
		return nil, err
	}
	if cfg.Subscriptions && b.closer != nil && cfg.HistoryMaxAge == 0 {
		log.Warn("with -subscriptions each subscription leaves two updates in the history, under a topic of its own, and -history-events never removes them",
			"fix", "set -history-max-age (SSEHUB_HISTORY_MAX_AGE), e.g. 24h, to delete them (and every other update) past that age")
	}
	hcfg := hub.Config{History: b.history, QueueSize: cfg.QueueSize, QueueBytes: cfg.QueueBytes, MaxSlowBytes: cfg.MaxSlowBytes}
	if cfg.MaxSlowBytes == 0 {
		hcfg.MaxSlowBytes = -1 // no bound
	}
	if b.cluster != nil {
		hcfg.Log = b.cluster
	}
	h := hub.New(hcfg)
	hooks, presence := newWebhooks(cfg, b, log)
	models := newModels(cfg, log)
	gens := llm.NewManager(llm.ManagerConfig{
		Model: models, MaxConcurrent: cfg.LLMMaxRunning, MaxPerClient: cfg.LLMMaxPerClient, MaxTokens: cfg.LLMMaxTokens,
		Timeout: cfg.LLMTimeout, MaxLateness: cfg.LLMMaxLateness, Logger: log,
	}, h)
	var reg *metrics.Registry
	var apiMetrics http.Handler // stays a nil interface when metrics are off
	// Delivery latencies go to LLM admission, and to the metrics.
	latency := stream.Observer(gens)
	if cfg.Metrics.Enabled {
		reg = metrics.New(metrics.Config{})
		apiMetrics, latency = reg, stream.Observers(reg, gens)
	}
	streams := stream.New(stream.Config{
		Heartbeat:       cfg.Heartbeat,
		Retry:           cfg.Retry,
		ReconnectSpread: cfg.ReconnectSpread,
		WriteTimeout:    cfg.WriteTimeout,
		NoHTTP2Takeover: !cfg.H2Takeover,
		Latency:         latency,
		Logger:          log,
	})
	api := httpapi.New(httpapi.Config{
		Streams:        streams,
		MaxBodyBytes:   cfg.MaxBodyBytes,
		CORSOrigins:    cfg.origins(),
		Limits:         cfg.Limits.api(),
		TrustedProxies: cfg.Limits.trustedProxies(),
		Console:        console.Handler(),
		Client:         jsclient.Handler(),
		HubTopics:      []string{llm.DefaultTopicPrefix, llmapi.ChatTopicPrefix},
		Peers:          b.subscriptionPeers(),
		History:        b.reader,
		Metrics:        apiMetrics,
		MetricsToken:   cfg.Metrics.Token,

		Publishers:    pubs,
		Subscribers:   subs,
		DenyAnonymous: !cfg.AnonymousSubscribe,
		Subscriptions: cfg.Subscriptions,
		HubURL:        cfg.HubURL,
		Notifier:      notifier(hooks),
		App:           appAuthorizer(appAuth),
		AppAlways:     cfg.AppAuth.Mode == AuthModeCallback,
		AppPublish:    cfg.AppAuth.Publish,
		Resource:      cfg.Token.Audience,
		Issuers:       split(cfg.Token.Issuers),
		CookieName:    cfg.Token.CookieName,
		NoQueryToken:  !cfg.Token.QueryToken,
	}, h, log)
	llmAPI := llmapi.New(llmapi.Config{
		Generations: gens, Models: models, Gate: api, Hub: h, Peers: b.generationPeers(), MaxBodyBytes: cfg.MaxBodyBytes,
		Publisher: h, ChatPath: cfg.LLMChatPath, KeepAlive: cfg.Heartbeat,
	})
	llmAPI.Register(api)
	src := metrics.Sources{Hub: h, Streams: api, History: b.reader, LLM: gens}
	if hooks != nil {
		src.Webhooks = hooks
	}
	if appAuth != nil {
		src.AppAuth = appAuth
	}
	if reg != nil {
		reg.Watch(src)
	}
	// In JWT mode, or when the app decides, the feed's topic names are for
	// subscribers allowed $ssehub/stats; in open development mode anyone
	// may watch.
	feed := metrics.NewFeed(metrics.FeedConfig{Private: !openDev || appAuth != nil, Logger: log}, src)
	var handler http.Handler = api
	if cfg.Metrics.Pprof {
		handler = withPprof(api, cfg.Metrics.Token)
		runtime.SetMutexProfileFraction(mutexProfileFraction)
		log.Warn("profiler on at /debug/pprof/: keep this address private")
	}
	stopFollow := func() {}
	if b.cluster != nil {
		stopLog := launch(func(ctx context.Context) { b.cluster.Follow(ctx, h) })
		answer := func(kind, key string) ([]byte, bool) {
			if body, ok := api.AnswerPeer(kind, key); ok {
				return body, true
			}
			return llmAPI.AnswerPeer(kind, key)
		}
		stopPeers := launch(func(ctx context.Context) { b.cluster.Answer(ctx, answer) })
		stopFollow = func() { stopPeers(); stopLog() }
	}
	stopRecover := launch(func(ctx context.Context) { recoverGenerations(ctx, gens, b.reader, llmAPI, b.cluster != nil, log) })
	var sets []*jwks.Set
	if access != nil {
		sets = startJWKS(access, jwksSrcs, log) // last: nothing can fail after it
	}
	return &App{cfg: cfg, log: log, hub: h, store: b.closer, gens: gens, streams: streams, api: api, hooks: hooks, presence: presence, handler: handler, keys: k,
		appAuth: appAuth, jwks: sets, stopFeed: launch(feed.Run), stopFollow: stopFollow, stopRecover: stopRecover}, nil
}

// launch starts f in a goroutine and returns the function that cancels its
// context and waits for it to return; calling that again does nothing more.
func launch(f func(context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

// backend is where the hub keeps its history: in memory, in the durable
// store of DataDir, or shared with other nodes in Redis.
type backend struct {
	history hub.History  // single node; nil in cluster mode
	cluster *redis.Store // cluster mode; nil on a single node
	reader  hub.Reader   // whichever of the two is set, for readiness and metrics
	closer  io.Closer    // nil in memory
}

// notifier is what the HTTP API tells of subscribers and publishes: the
// webhooks; nil (a nil interface) when they are off.
func notifier(hooks *webhook.Dispatcher) httpapi.Notifier {
	if hooks == nil {
		return nil
	}
	return hooks
}

// subscriptionPeers are the other nodes of a cluster, asked about their
// subscriptions; nil (a nil interface) on one node.
func (b backend) subscriptionPeers() httpapi.Peers {
	if b.cluster == nil {
		return nil
	}
	return b.cluster
}

// generationPeers are the other nodes of a cluster, asked about their
// generations; nil (a nil interface) on one node.
func (b backend) generationPeers() llmapi.Peers {
	if b.cluster == nil {
		return nil
	}
	return b.cluster
}

// newBackend opens Redis when configured, else the durable history in
// DataDir, else keeps history in memory.
func newBackend(cfg Config, log *slog.Logger) (backend, error) {
	switch {
	case cfg.Redis.URL != "":
		st, err := openRedis(cfg, log)
		if err != nil {
			return backend{}, err
		}
		return backend{cluster: st, reader: st, closer: st}, nil
	case cfg.DataDir == "":
		log.Warn("history is kept in memory only: it is lost on restart (set -data-dir to keep it)")
		mem := history.NewMemory(history.MemoryConfig{
			MaxEvents: cfg.HistoryEvents, MaxBytes: cfg.HistoryBytes, MaxTotalBytes: cfg.HistoryTotal,
		})
		return backend{history: mem, reader: mem}, nil
	}
	store, err := bolt.Open(bolt.Config{
		Dir: cfg.DataDir, MaxEvents: cfg.HistoryEvents, MaxAge: cfg.HistoryMaxAge, Logger: log,
		SyncBeforeDeliver: cfg.SyncBeforeDeliver,
	})
	if err != nil {
		return backend{}, fmt.Errorf("durable history: %w", err)
	}
	return backend{history: store, reader: store, closer: store}, nil
}

// newModels builds the simulated model and, when configured, the upstream.
func newModels(cfg Config, log *slog.Logger) *llm.Router {
	simModel := sim.New(sim.Config{TTFT: cfg.SimTTFT, TokensPerSecond: cfg.SimTokensPerSec, MaxTokens: 0})
	if cfg.LLMBaseURL == "" {
		return llm.NewRouter(sim.DefaultName, simModel, nil, "")
	}
	upCfg := openai.Config{
		BaseURL: cfg.LLMBaseURL, APIKey: cfg.LLMAPIKey, Model: cfg.LLMModel, Timeout: cfg.LLMTimeout, Logger: log,
	}
	var up llm.Model = openai.New(upCfg)
	if cfg.LLMUpstreamAPI == UpstreamResponses {
		up = openai.NewResponses(upCfg)
	}
	return llm.NewRouter(sim.DefaultName, simModel, up, cfg.LLMModel)
}

// Handler returns the HTTP handler serving the hub and the console.
func (a *App) Handler() http.Handler { return a.handler }

// Hub returns the app's hub.
func (a *App) Hub() *hub.Hub { return a.hub }

// Close stops the generations, ends every stream (waiting, until ctx is
// done, for the streams taken over from the server to close), refuses
// further publishes, delivers the webhooks queued (until ctx is done)
// and closes the durable history.
func (a *App) Close(ctx context.Context) error {
	a.stopRecover()
	a.stopFeed()
	a.gens.Close()
	a.hub.Close()
	err := a.api.CloseStreams(ctx)
	return errors.Join(err, a.closeWebhooks(ctx), a.closeStore())
}

// closeStore closes the history (and the authorization callback's idle
// connections), once the streams have ended.
func (a *App) closeStore() error {
	if a.appAuth != nil {
		a.appAuth.Close()
	}
	for _, s := range a.jwks {
		_ = s.Close()
	}
	a.stopFollow()
	if a.store == nil {
		return nil
	}
	if err := a.store.Close(); err != nil {
		return fmt.Errorf("close history: %w", err)
	}
	return nil
}

// Server returns an http.Server for the app with timeouts that keep slow
// clients from pinning resources; streams manage their own write deadlines.
// The app takes over its HTTP/1.1 subscription streams from it, plain or
// over TLS (see stream.Engine.TakeOver); Close or Serve's shutdown closes
// them. Serve it (with Serve, not ServeTLS) on Listener's listener, which
// refuses requests of ambiguous framing, and with -tls-cert does the TLS
// handshakes: its TLSConfig serves the certificate that Reload renews, over
// HTTP/2 or HTTP/1.1.
func (a *App) Server() *http.Server {
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: a.cfg.ReadHeaderTimeout,
		ReadTimeout:       a.cfg.ReadTimeout,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	if a.keys.cert != nil {
		// "h2" has Serve configure HTTP/2 for the listener's tls.Conns.
		srv.TLSConfig = &tls.Config{GetCertificate: a.keys.cert.get, NextProtos: []string{"h2", "http/1.1"}}
	}
	a.streams.TakeOver(srv)
	return srv
}

// Listener wraps ln for srv, a server from Server, as Serve does: its
// connections follow the framing of HTTP/1.x requests, so that one with
// both Content-Length and Transfer-Encoding is refused, and with -tls-cert
// it does their TLS handshakes with srv.TLSConfig (see
// stream.Engine.PlainListener and TLSListener). Serve srv on it with Serve.
func (a *App) Listener(ln net.Listener, srv *http.Server) net.Listener {
	if srv.TLSConfig != nil {
		return a.streams.TLSListener(ln, srv)
	}
	return a.streams.PlainListener(ln)
}

// Serve serves on ln until ctx is cancelled, then shuts down gracefully:
// streams end, publishes in flight finish, all within ShutdownTimeout.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	stopMetrics, err := a.startMetrics()
	if err != nil {
		return err
	}
	defer stopMetrics()
	srv := a.Server()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(a.Listener(ln, srv)) }()
	select {
	case err := <-errc:
		cctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
		defer cancel()
		return errors.Join(fmt.Errorf("serve: %w", err), a.Close(cctx))
	case <-ctx.Done():
	}
	a.log.Info("shutting down", "timeout", a.cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	a.stopFeed()
	a.gens.Close()
	a.hub.EndSubscriptions()
	err = srv.Shutdown(sctx)
	if err != nil {
		srv.Close() // past the timeout: drop the connections still open
	}
	err = errors.Join(err, a.api.CloseStreams(sctx))
	a.hub.Close()
	err = errors.Join(err, a.closeWebhooks(sctx))
	<-errc
	if err != nil {
		err = fmt.Errorf("graceful shutdown: %w", err)
	}
	return errors.Join(err, a.closeStore())
}

// Main runs ssehub with the given arguments until ctx is cancelled. It
// warns of the SSEHUB_* names in environ that are no setting.
func Main(ctx context.Context, args []string, getenv func(string) string, environ []string) error {
	cfg, err := ParseFlags(args, getenv, os.Stderr)
	if errors.Is(err, ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	log := newLogger(cfg)
	for _, name := range UnknownEnv(environ) {
		log.Warn("environment variable ignored: no setting has this name (ssehub -h lists them)", "name", name)
	}
	a, err := New(cfg, log)
	if err != nil {
		ln.Close()
		return err
	}
	log.Info("ssehub listening", "addr", ln.Addr().String(), "console", scheme+"://"+displayAddr(ln.Addr())+"/")
	defer reloadOnHangup(a)()
	return a.Serve(ctx, ln)
}

// reloadOnHangup reloads a at every SIGHUP (systemctl reload, kill -HUP),
// which would otherwise end the process, until the returned stop is called.
func reloadOnHangup(a *App) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	stopLoop := launch(func(ctx context.Context) {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				_ = a.Reload() // logs its outcome
			}
		}
	})
	return func() { signal.Stop(hup); stopLoop() }
}

func displayAddr(addr net.Addr) string {
	if tcp, ok := addr.(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
		return fmt.Sprintf("localhost:%d", tcp.Port)
	}
	return addr.String()
}

func newLogger(cfg Config) *slog.Logger {
	level, _ := parseLevel(cfg.LogLevel)
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

// recoverGenerations ends the generations a crash cut (see llm.Recover),
// in the background of a starting node; in a cluster, those no other node
// runs.
func recoverGenerations(ctx context.Context, gens *llm.Manager, r hub.Reader, api *llmapi.API, cluster bool, log *slog.Logger) {
	var alive llm.Alive
	if cluster {
		alive = api.Alive
	}
	n, err := gens.Recover(ctx, r, alive)
	if err != nil && ctx.Err() == nil {
		log.Warn("end the generations cut by a crash", slog.Any("err", err))
	}
	if n > 0 {
		log.Warn("ended generations cut by a crash: their answers end with an error event", slog.Int("generations", n))
	}
}
