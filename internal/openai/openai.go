// Package openai is an llm.Model that streams chat completions from an
// OpenAI-compatible upstream (OpenAI, DeepSeek, Qwen on DashScope, Ollama,
// vLLM, or another ssehub) through the official openai-go SDK, tool calls
// included; Responses is the same over OpenAI's Responses API. It bounds
// every request in time, notices a stalled stream, and turns the
// upstream's failures into *llm.Error values with a kind and status.
package openai

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/ssehub/ssehub/internal/llm"
)

// Defaults of Config's zero value.
const (
	DefaultBaseURL     = "https://api.openai.com/v1"
	DefaultTimeout     = 5 * time.Minute
	DefaultIdleTimeout = 60 * time.Second
	DefaultMaxRetries  = 2
)

// maxRetryDelay is the longest the SDK waits before a retry. An upstream
// that asks for a longer wait (Retry-After) gets its 429 passed on at once
// rather than keeping a user waiting.
const maxRetryDelay = 10 * time.Second

// Config configures an upstream. Its zero value talks to OpenAI with no key.
type Config struct {
	// BaseURL is the API root, up to and including its version, such as
	// https://api.deepseek.com/v1 or http://localhost:11434/v1; requests go
	// to BaseURL/chat/completions (BaseURL/responses for Responses) and
	// BaseURL/models. "" means DefaultBaseURL.
	BaseURL string
	// APIKey is sent as "Authorization: Bearer APIKey"; empty sends none
	// (Ollama, vLLM). The OPENAI_* environment variables are not read.
	APIKey string
	// Model is the model asked for when a request names none.
	Model string
	// Timeout bounds a whole request, retries and streaming included; 0
	// means DefaultTimeout.
	Timeout time.Duration
	// IdleTimeout is the longest wait for the next chunk once the upstream
	// has answered with its headers; 0 means DefaultIdleTimeout.
	IdleTimeout time.Duration
	// MaxRetries is how many times a request is retried before the first
	// byte of its answer, after a 408, 409, 429, 5xx or connection error; 0
	// means DefaultMaxRetries and a negative value none.
	MaxRetries int
	// HTTPClient makes the requests; nil means http.DefaultClient. Its
	// Timeout, if any, also bounds whole streams.
	HTTPClient *http.Client
	// Logger receives a line for each failed request; nil means slog.Default().
	Logger *slog.Logger
}

// Model is an OpenAI-compatible upstream. It is safe for concurrent use.
type Model struct {
	cfg    Config
	log    *slog.Logger
	client sdk.Client // sends the streamed requests (openStream); only its Options are set
	models sdk.ModelService
}

var (
	_ llm.Model  = (*Model)(nil)
	_ llm.Lister = (*Model)(nil)
)

// New returns an upstream configured by cfg.
func New(cfg Config) *Model {
	cfg = withDefaults(cfg)
	opts := []option.RequestOption{
		option.WithBaseURL(cfg.BaseURL),
		option.WithAPIKey(cfg.APIKey),
		option.WithMaxRetries(cfg.MaxRetries),
		option.WithMaxRetryDelay(maxRetryDelay),
		option.WithHTTPClient(cfg.HTTPClient),
	}
	// The services, unlike sdk.NewClient, read no OPENAI_* variables: the
	// upstream is what Config says and nothing else.
	return &Model{
		cfg:    cfg,
		log:    cfg.Logger,
		client: sdk.Client{Options: opts},
		models: sdk.NewModelService(opts...),
	}
}

func withDefaults(cfg Config) Config {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	switch {
	case cfg.MaxRetries == 0:
		cfg.MaxRetries = DefaultMaxRetries
	case cfg.MaxRetries < 0:
		cfg.MaxRetries = 0
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg
}

// Name returns the default model name.
func (m *Model) Name() string { return m.cfg.Model }

// Models implements llm.Lister: it lists the IDs the upstream's /models
// serves.
func (m *Model) Models(ctx context.Context) ([]string, error) {
	rctx, cancel := context.WithTimeoutCause(ctx, m.cfg.Timeout, errTimeout)
	defer cancel()
	var res *http.Response
	page, err := m.models.List(rctx, option.WithResponseInto(&res))
	if err != nil {
		return nil, m.fail(ctx, rctx, failure{err: err, res: res, op: "list models"})
	}
	ids := make([]string, 0, len(page.Data))
	for _, md := range page.Data {
		ids = append(ids, md.ID)
	}
	return ids, nil
}

// Causes of an upstream request's end that are not the caller's doing.
var (
	errTimeout = errors.New("request timeout")
	errIdle    = errors.New("idle timeout")
)
