package app

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/ssehub/ssehub/internal/auth"
	"github.com/ssehub/ssehub/internal/history"
	"github.com/ssehub/ssehub/internal/httpapi"
	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/llm"
	"github.com/ssehub/ssehub/internal/llm/sim"
	"github.com/ssehub/ssehub/internal/llmapi"
	"github.com/ssehub/ssehub/internal/stream"
)

// Config is every setting of ssehub. DefaultConfig gives the values used
// when neither a flag, an SSEHUB_* environment variable nor the
// configuration file sets one.
type Config struct {
	Addr              string        // listen address
	TLSCert           string        // PEM certificate file; with TLSKey enables HTTPS and HTTP/2
	TLSKey            string        // PEM key file
	H2Takeover        bool          // the hub serves HTTP/2 connections itself, not net/http
	Heartbeat         time.Duration // comment sent on idle streams
	Retry             int           // reconnection time (ms) sent to subscribers
	MaxBodyBytes      int64         // publish body limit
	QueueSize         int           // updates a subscriber may have queued before it is cut off
	QueueBytes        int           // their wire bytes
	MaxSlowBytes      int64         // bytes queued for all subscribers before the slowest are cut off; 0 for no bound
	HistoryEvents     int           // updates kept per topic
	HistoryBytes      int           // bytes kept per topic
	HistoryTotal      int           // bytes kept in all topics
	DataDir           string        // durable history directory; empty keeps history in memory only
	HistoryMaxAge     time.Duration // durable history: updates older than this are deleted; 0 keeps them
	SyncBeforeDeliver bool          // durable history: deliver updates only once synced
	CORSOrigins       string        // comma-separated allowed origins, "*" for any
	WriteTimeout      time.Duration // a stream write blocked longer ends the stream
	ReadHeaderTimeout time.Duration // longest a client may take to send its request headers
	ReadTimeout       time.Duration // longest a client may take to send a whole request
	ShutdownTimeout   time.Duration // how long a graceful shutdown waits
	ReconnectSpread   time.Duration // after a shutdown, subscribers reconnect over Retry plus up to this
	LLMBaseURL        string        // OpenAI-compatible upstream; empty serves only the simulated model
	LLMAPIKey         string        // upstream API key
	LLMModel          string        // upstream default model
	LLMUpstreamAPI    string        // the upstream's protocol: chat (Chat Completions) or responses (Responses API)
	LLMMaxRunning     int           // generations running at once
	LLMMaxPerClient   int           // generations running at once for one client
	LLMMaxTokens      int           // largest answer a request may ask for
	LLMTimeout        time.Duration // longest a generation or completion may run
	LLMMaxLateness    time.Duration // new generations get 429 while the token lateness p99 is over it; 0 off
	LLMChatPath       string        // where the AI SDK chat endpoints (useChat) are
	SimTTFT           time.Duration // simulated model: time to first token
	SimTokensPerSec   float64       // simulated model: tokens per second
	LogLevel          string        // debug, info, warn, error
	LogFormat         string        // text or json

	// Authorization. With no key at all ssehub runs in open development mode.
	JWTKey             string // HS256 secret, or a PEM file (or text) of the RS256/ES256 public key or certificate
	JWTAlg             string // HS256, RS256 or ES256
	JWTKeyPrevious     string // a previous JWTKey still accepted after a rotation
	PublisherJWTKey    string // publishers' key when it differs from JWTKey
	PublisherJWTAlg    string // its algorithm; empty means JWTAlg
	SubscriberJWTKey   string // subscribers' key when it differs from JWTKey
	SubscriberJWTAlg   string // its algorithm; empty means JWTAlg
	AnonymousSubscribe bool   // subscribers without a token get public updates
	Subscriptions      bool   // announce subscriptions and serve the subscriptions API
	HubURL             string // the hub's URL (Mercure 1.0); empty derives it from each request

	Token   TokenConfig   // Mercure 1.0 access tokens, token presentation
	AppAuth AppAuthConfig // the application's authorization callback
	Limits  LimitConfig   // what clients may use
	Metrics MetricsConfig // the /metrics endpoint
	Redis   RedisConfig   // cluster mode
	Webhook WebhookConfig // the application's webhooks
}

// DefaultConfig returns the settings ssehub runs with out of the box.
func DefaultConfig() Config {
	return Config{
		Addr:              ":8080",
		Heartbeat:         stream.DefaultHeartbeat,
		Retry:             stream.DefaultRetry,
		MaxBodyBytes:      httpapi.DefaultMaxBodyBytes,
		QueueSize:         hub.DefaultQueueSize,
		QueueBytes:        hub.DefaultQueueBytes,
		MaxSlowBytes:      hub.DefaultMaxSlowBytes,
		HistoryEvents:     history.DefaultMaxEvents,
		HistoryBytes:      history.DefaultMaxBytes,
		HistoryTotal:      history.DefaultMaxTotalBytes,
		DataDir:           "./data",
		CORSOrigins:       "*",
		WriteTimeout:      stream.DefaultWriteTimeout,
		ShutdownTimeout:   10 * time.Second,
		ReconnectSpread:   5 * time.Second,
		H2Takeover:        true,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		LLMUpstreamAPI:    UpstreamChat,
		LLMMaxRunning:     llm.DefaultMaxConcurrent,
		LLMMaxPerClient:   llm.DefaultMaxPerClient,
		LLMMaxTokens:      llm.DefaultMaxTokens,
		LLMTimeout:        llm.DefaultTimeout,
		LLMMaxLateness:    DefaultLLMMaxLateness,
		LLMChatPath:       llmapi.DefaultChatPath,
		SimTTFT:           sim.DefaultTTFT,
		SimTokensPerSec:   sim.DefaultTokensPerSecond,
		LogLevel:          "info",
		LogFormat:         "text",

		JWTAlg:             auth.HS256,
		AnonymousSubscribe: true,
		Token:              TokenConfig{CookieName: httpapi.DefaultCookieName, QueryToken: true},
		AppAuth:            DefaultAppAuth(),
		Limits:             DefaultLimits(),
		Metrics:            DefaultMetrics(),
		Redis:              DefaultRedis(),
		Webhook:            DefaultWebhook(),
	}
}

// ErrHelp is returned by ParseFlags when -h or -help was asked for.
var ErrHelp = flag.ErrHelp

// ErrVersion is returned by ParseFlags when -version was asked for; the
// caller prints the version, which it alone knows.
var ErrVersion = errors.New("version requested")

// ParseFlags reads the configuration from args, the environment (looked up
// with getenv) and the YAML configuration file named by -config or
// SSEHUB_CONFIG. Flags win over SSEHUB_* variables, which win over the
// file, which wins over the defaults. A bad value stops with an error
// naming the flag, variable or key (with the file's name and line).
func ParseFlags(args []string, getenv func(string) string, usage io.Writer) (Config, error) {
	// The first pass finds -h, -version, -config and bad flags.
	cfg := DefaultConfig()
	fs := flagSet(&cfg, usage)
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q (the commands are serve, pub, sub, token, health and version; see ssehub help)", fs.Arg(0))
	}
	if fs.Lookup("version").Value.String() == "true" {
		return cfg, ErrVersion
	}
	path := fs.Lookup("config").Value.String()
	if !isSet(fs, "config") {
		path = getenv(EnvName("config"))
	}

	// The second applies the sources from the weakest to the strongest.
	cfg = DefaultConfig()
	fs = flagSet(&cfg, io.Discard)
	if path != "" {
		if err := loadFile(fs, path); err != nil {
			return cfg, err
		}
	}
	if err := applyEnv(fs, getenv); err != nil {
		return cfg, err
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

// flagSet returns the flag set of ssehub serve: the settings, bound to cfg,
// and the meta flags -config and -version.
func flagSet(cfg *Config, usage io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("ssehub", flag.ContinueOnError)
	fs.SetOutput(usage)
	fs.Usage = func() {
		fmt.Fprint(usage, serveUsage)
		fs.PrintDefaults()
	}
	settingFlags(fs, cfg)
	fs.String("config", "", "YAML configuration file whose keys are these flags' names, e.g. heartbeat: 15s (see deploy/ssehub.example.yaml)")
	fs.Bool("version", false, "print the version and exit")
	return fs
}

const serveUsage = `Usage: ssehub [serve] [flags]
       ssehub pub|sub|token|health|version [flags]   (see ssehub help)

Serves the hub and its web console. Every flag is also an SSEHUB_*
environment variable (-max-body-bytes is SSEHUB_MAX_BODY_BYTES) and a key of
the -config file (max-body-bytes: 1048576). Flags win over the environment,
which wins over the file.

Flags:
`

// settingFlags defines a flag for every setting of cfg, with cfg's values
// as defaults.
func settingFlags(fs *flag.FlagSet, cfg *Config) {
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "listen address")
	fs.StringVar(&cfg.TLSCert, "tls-cert", cfg.TLSCert, "TLS certificate file (PEM); enables HTTPS and HTTP/2 with -tls-key")
	fs.StringVar(&cfg.TLSKey, "tls-key", cfg.TLSKey, "TLS private key file (PEM)")
	fs.BoolVar(&cfg.H2Takeover, "h2-takeover", cfg.H2Takeover, "serve HTTP/2 connections (over TLS) with the hub's own HTTP/2, whose event streams cost no goroutine (Linux); false leaves them to Go's net/http")
	fs.DurationVar(&cfg.Heartbeat, "heartbeat", cfg.Heartbeat, "interval of the keep-alive comment on idle streams")
	fs.IntVar(&cfg.Retry, "retry", cfg.Retry, "reconnection time in milliseconds sent to subscribers")
	fs.Int64Var(&cfg.MaxBodyBytes, "max-body-bytes", cfg.MaxBodyBytes, "largest publish request body in bytes")
	fs.IntVar(&cfg.QueueSize, "queue-size", cfg.QueueSize, "updates a subscriber may have queued before it is cut off as too slow")
	fs.IntVar(&cfg.QueueBytes, "queue-bytes", cfg.QueueBytes, "bytes of the updates a subscriber may have queued before it is cut off as too slow")
	fs.Int64Var(&cfg.MaxSlowBytes, "max-slow-bytes", cfg.MaxSlowBytes, "bytes queued for all subscribers together, an update counted once for each subscriber holding it; past it the subscribers holding the most, among those that did not drain for a second, are cut off as too slow; 0 for no bound")
	fs.IntVar(&cfg.HistoryEvents, "history-events", cfg.HistoryEvents, "updates kept per topic for replay")
	fs.IntVar(&cfg.HistoryBytes, "history-bytes", cfg.HistoryBytes, "bytes kept per topic for replay")
	fs.IntVar(&cfg.HistoryTotal, "history-total-bytes", cfg.HistoryTotal, "bytes kept for replay in all topics; past it the least recently used topics are dropped")
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory of the durable history (and, with webhooks, of their queue and the subscribers open at a crash: sent and ended at the next start); empty keeps history in memory only (lost on restart)")
	fs.DurationVar(&cfg.HistoryMaxAge, "history-max-age", cfg.HistoryMaxAge, "durable history: delete updates older than this (e.g. 168h); 0 keeps them until -history-events")
	fs.BoolVar(&cfg.SyncBeforeDeliver, "sync-before-deliver", cfg.SyncBeforeDeliver, "durable history: deliver an update only once it is synced to disk, so that no subscriber sees one a crash could lose (deliveries then wait for the disk)")
	fs.StringVar(&cfg.CORSOrigins, "cors-origins", cfg.CORSOrigins, "comma-separated origins allowed cross-origin, * for any, empty for none")
	fs.DurationVar(&cfg.WriteTimeout, "write-timeout", cfg.WriteTimeout, "a stream write blocked longer than this ends the stream")
	fs.DurationVar(&cfg.ReadHeaderTimeout, "read-header-timeout", cfg.ReadHeaderTimeout, "longest a client may take to send its request headers (slow clients are cut off)")
	fs.DurationVar(&cfg.ReadTimeout, "read-timeout", cfg.ReadTimeout, "longest a client may take to send a whole request, body included (streams are not bound by it)")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout, "how long a graceful shutdown waits for requests in flight")
	fs.DurationVar(&cfg.ReconnectSpread, "reconnect-spread", cfg.ReconnectSpread, "on shutdown, tell each subscriber to reconnect after -retry plus a random part of this, so that they come back spread out rather than all at once; 0 to send nothing")
	fs.StringVar(&cfg.LLMBaseURL, "llm-base-url", cfg.LLMBaseURL, "OpenAI-compatible API root of an upstream model, e.g. https://api.deepseek.com/v1 or http://localhost:11434/v1; empty serves only the simulated model")
	fs.StringVar(&cfg.LLMAPIKey, "llm-api-key", cfg.LLMAPIKey, "API key of the upstream model")
	fs.StringVar(&cfg.LLMModel, "llm-model", cfg.LLMModel, "upstream model used when a request names none, e.g. gpt-4o-mini, deepseek-chat, qwen-plus, llama3.2")
	fs.StringVar(&cfg.LLMUpstreamAPI, "llm-upstream-api", cfg.LLMUpstreamAPI, "the upstream's API: chat (POST /chat/completions, every OpenAI-compatible server) or responses (POST /responses, OpenAI's Responses API)")
	fs.IntVar(&cfg.LLMMaxRunning, "llm-max-running", cfg.LLMMaxRunning, "LLM generations running at once; more are refused with 429")
	fs.IntVar(&cfg.LLMMaxPerClient, "llm-max-running-per-client", cfg.LLMMaxPerClient, "LLM generations running at once for one client (a token's subject, else an address); more are refused with 429; 0: no limit")
	fs.IntVar(&cfg.LLMMaxTokens, "llm-max-tokens", cfg.LLMMaxTokens, "largest answer, in tokens, a request may ask for")
	fs.DurationVar(&cfg.LLMTimeout, "llm-timeout", cfg.LLMTimeout, "longest an LLM generation or completion may run")
	fs.DurationVar(&cfg.LLMMaxLateness, "llm-max-lateness", cfg.LLMMaxLateness, "new LLM generations are refused with 429 while the p99 of how late token events are published plus the p99 of how late the streams write them, over the last 5 s, is over it, and past as many running at once as the node has served under it (a limit from 256 up that grows while they stay on time); 0 turns both off")
	fs.StringVar(&cfg.LLMChatPath, "llm-chat-path", cfg.LLMChatPath, "path of the Vercel AI SDK chat endpoints (useChat's DefaultChatTransport api): POST it, GET and POST under it")
	fs.DurationVar(&cfg.SimTTFT, "sim-ttft", cfg.SimTTFT, "simulated model: time to the first token")
	fs.Float64Var(&cfg.SimTokensPerSec, "sim-tokens-per-second", cfg.SimTokensPerSec, "simulated model: tokens per second")
	fs.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "log level: debug, info, warn or error")
	fs.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "log format: text or json")

	fs.StringVar(&cfg.JWTKey, "jwt-key", cfg.JWTKey, "JWT key of publishers and subscribers: the HS256 secret, or a PEM file of the RS256/ES256 public key or certificate; with no key at all the hub runs in open development mode")
	fs.StringVar(&cfg.JWTAlg, "jwt-alg", cfg.JWTAlg, "JWT signing algorithm: HS256, RS256 or ES256")
	fs.StringVar(&cfg.JWTKeyPrevious, "jwt-key-previous", cfg.JWTKeyPrevious, "a previous -jwt-key (same form and algorithm) still accepted while the tokens signed with it expire after a rotation: the key, or a file (an empty file: none; SIGHUP reads it again)")
	fs.StringVar(&cfg.PublisherJWTKey, "publisher-jwt-key", cfg.PublisherJWTKey, "publishers' JWT key when it differs from -jwt-key")
	fs.StringVar(&cfg.PublisherJWTAlg, "publisher-jwt-alg", cfg.PublisherJWTAlg, "algorithm of -publisher-jwt-key; empty means -jwt-alg")
	fs.StringVar(&cfg.SubscriberJWTKey, "subscriber-jwt-key", cfg.SubscriberJWTKey, "subscribers' JWT key when it differs from -jwt-key")
	fs.StringVar(&cfg.SubscriberJWTAlg, "subscriber-jwt-alg", cfg.SubscriberJWTAlg, "algorithm of -subscriber-jwt-key; empty means -jwt-alg")
	fs.BoolVar(&cfg.AnonymousSubscribe, "anonymous-subscribe", cfg.AnonymousSubscribe, "let subscribers without a token receive public updates")
	fs.BoolVar(&cfg.Subscriptions, "subscriptions", cfg.Subscriptions, "active subscriptions (Mercure): announce every subscription that starts or ends with a private update to /.well-known/mercure/subscriptions/{topic}/{subscriber} (/{match_type}/{match}/{subscriber} for Mercure 1.0 matchers), and list them at /.well-known/mercure/subscriptions")
	fs.StringVar(&cfg.HubURL, "hub-url", cfg.HubURL, "the hub's public URL, e.g. https://example.com/.well-known/mercure: the base of relative URL patterns (match_urlpattern=) and relative topics, and the URL discovery advertises (Link: rel=\"mercure\"); empty derives it from each request (its scheme and Host, then /.well-known/mercure)")
	tokenFlags(fs, &cfg.Token)
	appAuthFlags(fs, &cfg.AppAuth)
	limitFlags(fs, &cfg.Limits)
	metricsFlags(fs, &cfg.Metrics)
	redisFlags(fs, &cfg.Redis)
	webhookFlags(fs, &cfg.Webhook)
}

// isSet reports whether the flag name was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// applyEnv sets every setting whose SSEHUB_* variable is not empty.
func applyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		env := EnvName(f.Name)
		if v := getenv(env); v != "" && !metaFlags[f.Name] {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("environment variable %s=%q: want %s", env, v, kindOf(f)))
			}
		}
	})
	return errors.Join(errs...)
}

// EnvName is the environment variable of a flag: SSEHUB_ and the flag name
// in upper case with dashes as underscores.
func EnvName(flagName string) string {
	if env, ok := envAliases[flagName]; ok {
		return env
	}
	return "SSEHUB_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Values of -llm-upstream-api.
const (
	UpstreamChat      = "chat"      // OpenAI's Chat Completions, which every compatible server speaks
	UpstreamResponses = "responses" // OpenAI's Responses API
)

// DefaultLLMMaxLateness is the default of -llm-max-lateness.
const DefaultLLMMaxLateness = 250 * time.Millisecond

// Validate checks values that parse but make no sense.
func (c Config) Validate() error {
	var errs []error
	positive := map[string]int64{
		"heartbeat": int64(c.Heartbeat), "retry": int64(c.Retry), "max-body-bytes": c.MaxBodyBytes,
		"queue-size": int64(c.QueueSize), "queue-bytes": int64(c.QueueBytes), "history-events": int64(c.HistoryEvents),
		"history-bytes": int64(c.HistoryBytes), "history-total-bytes": int64(c.HistoryTotal), "write-timeout": int64(c.WriteTimeout),
		"shutdown-timeout": int64(c.ShutdownTimeout), "read-header-timeout": int64(c.ReadHeaderTimeout),
		"read-timeout": int64(c.ReadTimeout), "llm-max-running": int64(c.LLMMaxRunning),
		"llm-max-tokens": int64(c.LLMMaxTokens), "llm-timeout": int64(c.LLMTimeout),
	}
	for name, v := range positive {
		if v <= 0 {
			errs = append(errs, fmt.Errorf("-%s must be positive", name))
		}
	}
	if err := c.Limits.validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Redis.validate(); err != nil {
		errs = append(errs, err)
	}
	if c.LLMMaxPerClient < 0 {
		errs = append(errs, errors.New("-llm-max-running-per-client must not be negative (0 for no limit)"))
	}
	if c.LLMMaxLateness < 0 {
		errs = append(errs, errors.New("-llm-max-lateness must not be negative (0 turns it off)"))
	}
	if c.MaxSlowBytes < 0 {
		errs = append(errs, errors.New("-max-slow-bytes must not be negative (0 for no bound)"))
	}
	if err := c.Webhook.validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.AppAuth.validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Token.validate(); err != nil {
		errs = append(errs, err)
	}
	if err := validHubURL(c.HubURL); err != nil {
		errs = append(errs, err)
	}
	if c.SimTokensPerSec <= 0 {
		errs = append(errs, errors.New("-sim-tokens-per-second must be positive"))
	}
	if c.SimTTFT < 0 {
		errs = append(errs, errors.New("-sim-ttft must not be negative"))
	}
	if c.ReconnectSpread < 0 {
		errs = append(errs, errors.New("-reconnect-spread must not be negative"))
	}
	if p := c.LLMChatPath; !strings.HasPrefix(p, "/") || len(p) < 2 || strings.HasSuffix(p, "/") || strings.ContainsAny(p, "{} ?#") {
		errs = append(errs, fmt.Errorf("-llm-chat-path %q: want a path such as /api/chat (a leading /, no trailing /)", p))
	}
	if c.LLMBaseURL != "" {
		if u, err := url.Parse(c.LLMBaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("-llm-base-url %q: want an http(s) URL such as https://api.openai.com/v1", c.LLMBaseURL))
		}
		if c.LLMModel == "" {
			errs = append(errs, errors.New("-llm-model is required with -llm-base-url (e.g. gpt-4o-mini, deepseek-chat, qwen-plus, llama3.2)"))
		}
	}
	if c.LLMUpstreamAPI != UpstreamChat && c.LLMUpstreamAPI != UpstreamResponses {
		errs = append(errs, fmt.Errorf("-llm-upstream-api %q: want %s or %s", c.LLMUpstreamAPI, UpstreamChat, UpstreamResponses))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("-tls-cert and -tls-key must be given together"))
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("-log-format must be text or json, not %q", c.LogFormat))
	}
	if _, _, err := c.verifiers(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return l, fmt.Errorf("-log-level %q: use debug, info, warn or error", s)
	}
	return l, nil
}

// origins splits the CORS setting into a list.
func (c Config) origins() []string {
	var out []string
	for _, o := range strings.Split(c.CORSOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, o)
		}
	}
	return out
}
