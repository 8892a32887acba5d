// Package sim is a simulated large language model for demos and tests: it
// needs no key and no network, answers any conversation with plausible
// Markdown in the language of its last user message, and streams the answer
// token by token at a configurable pace. The same messages and seed always
// give the same answer.
package sim

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/ssehub/ssehub/internal/llm"
)

// Defaults of Config's zero value.
const (
	DefaultTTFT            = 400 * time.Millisecond
	DefaultTokensPerSecond = 50
	DefaultMaxTokens       = 400
	DefaultName            = "ssehub-sim"
)

// Config configures a simulated model. Its zero value gives the defaults.
type Config struct {
	// TTFT is the time to the first token; 0 means DefaultTTFT and a
	// negative value none.
	TTFT time.Duration
	// TokensPerSecond is the pace after the first token; 0 or less means
	// DefaultTokensPerSecond. Very high rates (1e6) emit without waiting.
	TokensPerSecond float64
	// MaxTokens caps answers whose request sets no MaxTokens; 0 or less
	// means DefaultMaxTokens. Answers are composed to fit within it.
	MaxTokens int
	// Name is the model's name; "" means DefaultName.
	Name string
}

// Model is the simulated model. It is safe for concurrent use.
type Model struct {
	cfg Config
}

var (
	_ llm.Model  = (*Model)(nil)
	_ llm.Lister = (*Model)(nil)
)

// New returns a simulated model configured by cfg.
func New(cfg Config) *Model {
	if cfg.TTFT == 0 {
		cfg.TTFT = DefaultTTFT
	}
	if cfg.TTFT < 0 {
		cfg.TTFT = 0
	}
	if cfg.TokensPerSecond <= 0 {
		cfg.TokensPerSecond = DefaultTokensPerSecond
	}
	if cfg.MaxTokens <= 0 {
		cfg.MaxTokens = DefaultMaxTokens
	}
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	return &Model{cfg: cfg}
}

// Name returns the model's name.
func (m *Model) Name() string { return m.cfg.Name }

// Models implements llm.Lister: the simulated model serves only itself.
func (m *Model) Models(context.Context) ([]string, error) {
	return []string{m.cfg.Name}, nil
}

// Stream implements llm.Model: it waits TTFT, then emits the answer's
// tokens at TokensPerSecond. It stops at the first error of emit and
// returns it, and returns ctx's error as soon as ctx ends.
func (m *Model) Stream(ctx context.Context, req llm.Request, emit func(delta string) error) (llm.Result, error) {
	toks, res, err := m.answer(req)
	if err != nil {
		return llm.Result{}, err
	}
	p := pacer{start: time.Now(), ttft: m.cfg.TTFT, interval: time.Duration(float64(time.Second) / m.cfg.TokensPerSecond)}
	defer p.stop()
	for i, tok := range toks {
		if err := p.wait(ctx, i); err != nil {
			return llm.Result{Usage: usage(res.Usage.PromptTokens, i)}, err
		}
		if err := emit(tok); err != nil {
			return llm.Result{Usage: usage(res.Usage.PromptTokens, i)}, err
		}
	}
	return res, nil
}

// Complete returns at once the whole answer that Stream would emit for req.
func (m *Model) Complete(req llm.Request) (string, llm.Result, error) {
	toks, res, err := m.answer(req)
	return strings.Join(toks, ""), res, err
}

// answer composes the answer to req and splits it into tokens.
func (m *Model) answer(req llm.Request) ([]string, llm.Result, error) {
	prompt, ok := lastUser(req.Messages)
	if !ok {
		return nil, llm.Result{}, &llm.Error{Kind: llm.KindInvalid, Message: "the conversation has no user message"}
	}
	if req.MaxTokens < 0 {
		return nil, llm.Result{}, &llm.Error{Kind: llm.KindInvalid, Message: "max_tokens must not be negative"}
	}
	if call, ok := toolCall(req); ok {
		return nil, llm.Result{FinishReason: llm.FinishToolCalls, Usage: usage(promptTokens(req.Messages), 1),
			ToolCalls: []llm.ToolCall{call}}, nil
	}
	s1, s2 := seedOf(req)
	var text string
	if lastIsTool(req.Messages) {
		text = toolAnswer(req.Messages)
	} else {
		text = compose(prompt, rand.New(rand.NewPCG(s1, s2)), m.cfg.MaxTokens)
	}
	toks := tokenize(text, rand.New(rand.NewPCG(s2, s1)))
	limit := req.MaxTokens
	if limit == 0 {
		limit = m.cfg.MaxTokens
	}
	finish := llm.FinishStop
	if len(toks) > limit {
		toks, finish = toks[:limit], llm.FinishLength
	}
	return toks, llm.Result{FinishReason: finish, Usage: usage(promptTokens(req.Messages), len(toks))}, nil
}

func usage(prompt, completion int) llm.Usage {
	return llm.Usage{PromptTokens: prompt, CompletionTokens: completion, TotalTokens: prompt + completion}
}

// lastUser returns the content of the last user message.
func lastUser(msgs []llm.Message) (string, bool) {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == "user" {
			return msgs[i].Content, true
		}
	}
	return "", false
}

// seedOf hashes the conversation and the request's seed into a PCG seed.
func seedOf(req llm.Request) (uint64, uint64) {
	h := sha256.New()
	for _, msg := range req.Messages {
		h.Write([]byte(msg.Role))
		h.Write([]byte{0})
		h.Write([]byte(msg.Content))
		h.Write([]byte{0})
		for _, c := range msg.ToolCalls {
			h.Write([]byte(c.ID + "\x00" + c.Name + "\x00" + c.Arguments + "\x00"))
		}
		if msg.ToolCallID != "" {
			h.Write([]byte(msg.ToolCallID + "\x00"))
		}
	}
	for _, t := range req.Tools {
		h.Write([]byte(t.Name + "\x00"))
	}
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(req.Seed)))
	sum := h.Sum(nil)
	return binary.BigEndian.Uint64(sum[:8]), binary.BigEndian.Uint64(sum[8:16])
}
