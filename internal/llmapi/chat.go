package llmapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/ssehub/ssehub/internal/httpio"
	"github.com/ssehub/ssehub/internal/llm"
)

// chatRequest is the part of OpenAI's chat completion request ssehub uses;
// other fields clients send are accepted and ignored.
type chatRequest struct {
	Model         string        `json:"model"`
	Messages      []chatMessage `json:"messages"`
	Stream        bool          `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	MaxTokens           int             `json:"max_tokens"`
	MaxCompletionTokens int             `json:"max_completion_tokens"`
	Temperature         *float64        `json:"temperature"`
	Seed                *int64          `json:"seed"`
	N                   *int            `json:"n"`
	Tools               []chatTool      `json:"tools"`
	ToolChoice          json.RawMessage `json:"tool_choice"`
}

// chatMessage accepts content as a string, a list of text parts or null
// (an assistant message with tool calls), and the calls of an assistant
// message or the call id of a tool message.
type chatMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	ToolCalls  []chatToolCall  `json:"tool_calls"`
	ToolCallID string          `json:"tool_call_id"`
}

// toRequest converts and validates the request.
func (c *chatRequest) toRequest() (llm.Request, error) {
	if c.N != nil && *c.N != 1 {
		return llm.Request{}, &llm.Error{Kind: llm.KindInvalid, Message: "n: only 1 choice is supported"}
	}
	req := llm.Request{Model: c.Model, MaxTokens: c.MaxTokens, Temperature: c.Temperature}
	if c.MaxCompletionTokens > 0 {
		req.MaxTokens = c.MaxCompletionTokens
	}
	if c.Seed != nil {
		req.Seed = *c.Seed
	}
	for i, m := range c.Messages {
		msg, err := m.message(i)
		if err != nil {
			return llm.Request{}, err
		}
		req.Messages = append(req.Messages, msg)
	}
	return req, c.tools(&req)
}

// handleChatCompletions speaks OpenAI's chat completions API, streamed or
// not, answered by the simulated model or relayed to the upstream.
func (a *API) handleChatCompletions(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, a.cfg.MaxBodyBytes)
	var in chatRequest
	if err := httpio.DecodeJSON(r, &in, false); err != nil {
		writeOpenAIError(w, err)
		return
	}
	req, err := in.toRequest()
	if err == nil {
		err = a.cfg.Generations.Validate(&req)
	}
	if err == nil {
		err = a.cfg.Generations.Admit() // a completion is a generation too
	}
	var model string
	if err == nil {
		model, err = a.cfg.Models.Resolve(req.Model)
	}
	if err == nil {
		err = a.mayUseModel(r, model)
	}
	if err != nil {
		writeOpenAIError(w, err)
		return
	}
	c := completion{id: "chatcmpl-" + newCompletionID(), created: time.Now().Unix(), model: model}
	if in.Stream {
		a.streamChat(w, r, req, c, in.StreamOptions != nil && in.StreamOptions.IncludeUsage)
		return
	}
	var text strings.Builder
	res, err := a.cfg.Models.Stream(r.Context(), req, func(d string) error {
		text.WriteString(d)
		return nil
	})
	if err != nil {
		writeOpenAIError(w, err)
		return
	}
	httpio.WriteJSON(w, http.StatusOK, c.full(text.String(), res))
}

// streamChat sends chat.completion.chunk events, then data: [DONE]. An
// error before the first byte is an ordinary error answer; after it, a
// data: {"error": ...} event, as OpenAI does.
func (a *API) streamChat(w http.ResponseWriter, r *http.Request, req llm.Request, c completion, usage bool) {
	cs := &chatStream{w: w, rc: http.NewResponseController(w), c: c, usage: usage}
	res, err := a.cfg.Models.Stream(r.Context(), req, cs.delta)
	if err != nil {
		if !cs.started {
			writeOpenAIError(w, err)
			return
		}
		cs.event(map[string]any{"error": openAIError(err)})
		return
	}
	cs.finish(res)
}
