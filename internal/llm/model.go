// Package llm streams a large language model's answer into the hub:
// the Model interface its implementations satisfy (a simulated model and an
// OpenAI-compatible upstream), and generations that publish their tokens to
// a topic so an answer survives a page reload and can be stopped.
package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Message is one turn of a conversation.
type Message struct {
	// Role is system, developer (OpenAI's newer name for system), user,
	// assistant, or tool (the output of a tool call).
	Role    string `json:"role"`
	Content string `json:"content"`
	// ToolCalls are the calls an assistant message made.
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
	// ToolCallID names the call whose output a tool message carries.
	ToolCallID string `json:"tool_call_id,omitempty"`
}

// Tool is a function the model may call.
type Tool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"` // a JSON Schema of the arguments
	Strict      bool            `json:"strict,omitempty"`
}

// ToolCall is a call of a tool by the model.
type ToolCall struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Arguments string `json:"arguments"` // a JSON text
}

// Tool choices of Request.ToolChoice.
const (
	ToolChoiceAuto     = "auto"     // the model decides (the default)
	ToolChoiceNone     = "none"     // the model must answer with text
	ToolChoiceRequired = "required" // the model must call a tool (ForceTool names which)
)

// Request asks a model for a completion.
type Request struct {
	Model       string    // model name; empty means the model's default
	Messages    []Message // the conversation, oldest first
	MaxTokens   int       // most tokens to generate; 0 means the model's default
	Temperature *float64  // sampling temperature, passed to upstreams; nil for default
	Seed        int64     // makes the simulated model's answer vary; 0 is a valid seed
	// Tools are the functions the model may call; ToolChoice says whether
	// it must ("" is auto) and ForceTool, with ToolChoiceRequired, which.
	Tools      []Tool
	ToolChoice string
	ForceTool  string
	// Owner is who starts a generation (a token's subject), never sent to
	// the model; "" when nobody can be named.
	Owner string
	// Client is who the per-client limit counts the generation against
	// (ManagerConfig.MaxPerClient): the owner, else the client's address;
	// "" is not limited.
	Client string
	// ID is the generation's id; "" gives it a new random one. A protocol
	// that names its answers itself sets it (IDs of 1 to 64 letters,
	// digits, '-' or '_').
	ID string
	// Record, when set, is published as the data of the generation's first
	// event (start): what a protocol needs to answer for the generation
	// from history alone, on any node. Never sent to the model.
	Record string
}

// Usage counts the tokens of a completion.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// Result is how a completion ended.
type Result struct {
	FinishReason string // "stop", "length", "tool_calls", or "stopped" when cancelled by a user
	Usage        Usage
	ToolCalls    []ToolCall // the calls the answer ends with, in order
}

// Finish reasons.
const (
	FinishStop      = "stop"       // the model ended its answer
	FinishLength    = "length"     // MaxTokens was reached
	FinishToolCalls = "tool_calls" // the model called tools (Result.ToolCalls) and waits for their output
	FinishStopped   = "stopped"    // a user stopped the generation
)

// Model streams completions. Stream calls emit with each piece of text in
// order and returns once the answer is complete, emit fails, or ctx ends.
// When ctx is cancelled it returns ctx's error promptly. Tool calls come
// whole, in the Result, once the answer is complete.
type Model interface {
	Stream(ctx context.Context, req Request, emit func(delta string) error) (Result, error)
}

// Lister is implemented by models that can name the models they serve.
type Lister interface {
	Models(ctx context.Context) ([]string, error)
}

// ErrorKind classifies a model error so callers can map it to a status.
type ErrorKind string

// Error kinds.
const (
	KindInvalid     ErrorKind = "invalid_request" // the request is wrong (400)
	KindNotFound    ErrorKind = "model_not_found" // no such model (404)
	KindAuth        ErrorKind = "authentication"  // the upstream refused the key (401/403)
	KindRateLimit   ErrorKind = "rate_limit"      // the upstream or ssehub is at a limit (429)
	KindUpstream    ErrorKind = "upstream"        // the upstream failed (5xx, bad answer)
	KindTimeout     ErrorKind = "timeout"         // the upstream took too long
	KindInterrupted ErrorKind = "interrupted"     // the stream was cut mid-answer
)

// Error is a model failure with its kind and, for upstream failures, the
// upstream's HTTP status.
type Error struct {
	Kind    ErrorKind
	Status  int // upstream HTTP status, 0 if none
	Message string
	Err     error
}

// Error implements error.
func (e *Error) Error() string {
	msg := string(e.Kind) + ": " + e.Message
	if e.Status != 0 {
		msg = fmt.Sprintf("%s (upstream status %d)", msg, e.Status)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the kind of err, KindUpstream for errors of unknown kind.
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return KindTimeout
	}
	return KindUpstream
}
