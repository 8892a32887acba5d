// Package llmapi is ssehub's HTTP interface to its LLM generations: the
// resumable generations of /llm/generations (started, read, stopped; their
// tokens go to a hub topic that any stream can follow), OpenAI's Chat
// Completions, Responses (every response stored and resumable) and models
// endpoints under /v1, and the Vercel AI SDK's chat endpoints (useChat)
// under /api/chat. Each protocol is an adapter over the one engine of
// package llm, in files of its own (chat*, responses*, uichat*): the
// resumable ones read a generation back from the hub's history (follow),
// so any node of a cluster answers for it; the nodes ask each other about
// the generations they run (Peers).
//
// It must not know how streams are written (package stream), nor how
// requests are authenticated or limited: its Gate, the hub's endpoints,
// answers that.
package llmapi

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/ssehub/ssehub/internal/auth"
	"github.com/ssehub/ssehub/internal/httpio"
	"github.com/ssehub/ssehub/internal/llm"
)

// DefaultMaxBodyBytes bounds a request body when Config.MaxBodyBytes is 0.
const DefaultMaxBodyBytes = 1 << 20

// GenerationTopic is the topic a token's mercure.publish claim must match to
// start an LLM generation or a chat completion: a generation's topic is not
// known before it starts, so this representative of "llm/generations/{id}"
// stands for it. Stopping a generation needs a right on its own topic.
const GenerationTopic = llm.DefaultTopicPrefix + "new"

// Gate authenticates and limits the requests that start or stop
// generations, as it does publishes.
type Gate interface {
	// Publisher returns the claims of r's publisher, or why it is refused.
	Publisher(r *http.Request) (*auth.Claims, error)
	// AdmitPublish applies the publish rate of r's client.
	AdmitPublish(r *http.Request) error
	// ClientKey names r's client for the per-client limits.
	ClientKey(r *http.Request) string
	// VerifiedOrLocal returns nil when the hub knows who r's caller is (a
	// verified token, the application's callback) or r comes straight from
	// a loopback client; else why r may not use what costs money.
	VerifiedOrLocal(r *http.Request) error
}

// Peers are the other nodes of a cluster. A generation runs on the node
// that started it; a node asked about one it does not run asks its peers.
type Peers interface {
	// Ask returns the answer of the node that knows key, if any does.
	Ask(ctx context.Context, kind, key string) (body []byte, found bool, err error)
}

// Config configures the API.
type Config struct {
	Generations  *llm.Manager // runs the generations
	Models       *llm.Router  // answers /v1/chat/completions and /v1/models
	Gate         Gate
	Hub          Follower // where the protocols read generations back from history
	Peers        Peers    // nil on one node
	MaxBodyBytes int64    // request body limit; larger gets 413; 0: DefaultMaxBodyBytes
	// Publisher stores the AI SDK chats' turns in the hub (the hub itself);
	// without it, the chat endpoints refuse new turns.
	Publisher Publisher
	// ChatPath is where the AI SDK chat endpoints are; "": DefaultChatPath.
	ChatPath string
	// KeepAlive is the silence after which a response's or a chat's
	// stream sends a comment; 0: DefaultKeepAlive.
	KeepAlive time.Duration
}

// API serves the LLM endpoints.
type API struct {
	cfg Config
}

// New returns the LLM endpoints of cfg.
func New(cfg Config) *API {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = DefaultKeepAlive
	}
	if cfg.ChatPath == "" {
		cfg.ChatPath = DefaultChatPath
	}
	return &API{cfg: cfg}
}

// Mux is where the endpoints are registered.
type Mux interface {
	Handle(pattern string, h http.Handler)
}

// ErrorShaper is a Mux that writes the errors it finds before routing (a
// body over the limit) in the shape a path prefix's protocol asks for.
type ErrorShaper interface {
	ShapeErrors(prefix string, write func(http.ResponseWriter, error))
}

// Register registers the endpoints on mux, and OpenAI's error shape for
// /v1/ where mux is an ErrorShaper.
func (a *API) Register(mux Mux) {
	if s, ok := mux.(ErrorShaper); ok {
		s.ShapeErrors("/v1/", writeOpenAIError)
	}
	mux.Handle("/llm/generations", httpio.Methods{http.MethodPost: a.publishing(a.handleStartGeneration, httpio.WriteErr)})
	mux.Handle("/llm/generations/{id}", httpio.Methods{http.MethodGet: a.handleGetGeneration})
	mux.Handle("/llm/generations/{id}/stop", httpio.Methods{http.MethodPost: a.handleStopGeneration})
	mux.Handle("/v1/chat/completions", httpio.Methods{http.MethodPost: a.publishing(a.handleChatCompletions, writeOpenAIError)})
	mux.Handle("/v1/models", httpio.Methods{http.MethodGet: a.handleModels})
	a.registerResponses(mux)
	a.registerChat(mux, a.cfg.ChatPath)
}

// publishing wraps h so that it runs only for a publisher allowed to start
// generations (to publish to GenerationTopic), with the publisher's claims
// in the request's context (see claimsOf); fail writes refusals.
func (a *API) publishing(h http.HandlerFunc, fail func(http.ResponseWriter, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		claims, err := a.cfg.Gate.Publisher(r)
		if err == nil {
			if err = claims.CanPublish([]string{GenerationTopic}); err != nil {
				err = &httpio.FieldError{Field: "topic", Err: err}
			}
		}
		if err != nil {
			fail(w, httpio.Bearer(r, err))
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), claimsKey{}, claims)))
	}
}

// mayUseModel checks that r may be answered by model, a model name as
// requested or as Models.Resolve returned it. The simulated model is open
// to every publisher; an upstream costs money, so in open development mode
// (no JWT key, no callback deciding publishes) only loopback clients
// reached directly may use it, and others get 403 saying how to configure
// a key. Every endpoint that starts answers calls it once it knows the
// model, after publishing and Models.Resolve, before it starts anything.
func (a *API) mayUseModel(r *http.Request, model string) error {
	if !a.cfg.Models.Upstream(model) {
		return nil
	}
	if err := a.cfg.Gate.VerifiedOrLocal(r); err != nil {
		return httpio.Bearer(r, &httpio.FieldError{Field: "model", Err: fmt.Errorf("model %q is served by the upstream, which costs money: %w", model, err)})
	}
	return nil
}

// claimsKey is the request context's key for the claims publishing found.
type claimsKey struct{}

// claimsOf returns the claims publishing put in r's context.
func claimsOf(r *http.Request) *auth.Claims {
	c, _ := r.Context().Value(claimsKey{}).(*auth.Claims)
	if c == nil {
		return &auth.Claims{}
	}
	return c
}

// starter fills in who starts req: the owner (the token's subject) and
// the client the per-client limit counts it against (the owner, else the
// client's address).
func (a *API) starter(r *http.Request, req *llm.Request) {
	req.Owner = claimsOf(r).Subject
	req.Client = "ip:" + a.cfg.Gate.ClientKey(r)
	if req.Owner != "" {
		req.Client = "sub:" + req.Owner
	}
}

// admitPublish applies the publish rate, answering the refusal.
func (a *API) admitPublish(w http.ResponseWriter, r *http.Request) bool {
	if err := a.cfg.Gate.AdmitPublish(r); err != nil {
		httpio.WriteErr(w, err)
		return false
	}
	return true
}
