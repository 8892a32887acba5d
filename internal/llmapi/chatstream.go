package llmapi

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/ssehub/ssehub/internal/httpio"
	"github.com/ssehub/ssehub/internal/llm"
	"github.com/ssehub/ssehub/internal/sse"
)

// completion holds what every chunk of one completion repeats.
type completion struct {
	id      string
	created int64
	model   string
}

func newCompletionID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// chunk builds a chat.completion.chunk; choices may be empty (the usage
// chunk). withUsage adds the usage key, null unless usage is given.
func (c completion) chunk(choices []any, withUsage bool, usage *llm.Usage) map[string]any {
	m := map[string]any{
		"id": c.id, "object": "chat.completion.chunk", "created": c.created, "model": c.model,
		"system_fingerprint": nil, "choices": choices,
	}
	if withUsage {
		m["usage"] = usage
	}
	return m
}

func choice(delta map[string]any, finish any) []any {
	return []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}}
}

// full is the non-streamed answer, a chat.completion object.
func (c completion) full(text string, res llm.Result) map[string]any {
	return map[string]any{
		"id": c.id, "object": "chat.completion", "created": c.created, "model": c.model,
		"system_fingerprint": nil,
		"choices": []any{map[string]any{
			"index":         0,
			"message":       message(text, res.ToolCalls),
			"logprobs":      nil,
			"finish_reason": finishReason(res.FinishReason),
		}},
		"usage": res.Usage,
	}
}

// message is the assistant message of a non-streamed answer: with tool
// calls and no text, its content is null, as OpenAI's is.
func message(text string, calls []llm.ToolCall) map[string]any {
	m := map[string]any{"role": "assistant", "content": text, "refusal": nil}
	if len(calls) > 0 {
		m["tool_calls"] = toolCallsJSON(calls)
		if text == "" {
			m["content"] = nil
		}
	}
	return m
}

// finishReason maps ssehub's reasons onto OpenAI's.
func finishReason(r string) string {
	if r == "" || r == llm.FinishStopped {
		return llm.FinishStop
	}
	return r
}

// chatStream writes one streamed completion.
type chatStream struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	c       completion
	usage   bool
	started bool
	buf     []byte
}

// start writes the headers and the first chunk, which names the role and
// carries first, the answer's first delta.
func (cs *chatStream) start(first map[string]any) error {
	writeStreamHead(cs.w)
	cs.started = true
	first["role"] = "assistant"
	return cs.event(cs.c.chunk(choice(first, nil), cs.usage, nil))
}

// delta sends one piece of the answer.
func (cs *chatStream) delta(text string) error {
	if !cs.started {
		if err := cs.start(map[string]any{"content": ""}); err != nil {
			return err
		}
	}
	return cs.event(cs.c.chunk(choice(map[string]any{"content": text}, nil), cs.usage, nil))
}

// finish streams the answer's tool calls, its finish reason, its usage
// when asked for, and [DONE].
func (cs *chatStream) finish(res llm.Result) {
	if !cs.started {
		first := map[string]any{"content": ""}
		if len(res.ToolCalls) > 0 {
			first["content"] = nil // as OpenAI starts an answer that is only calls
		}
		cs.start(first)
	}
	for _, calls := range toolCallDeltas(res.ToolCalls) {
		cs.event(cs.c.chunk(choice(map[string]any{"tool_calls": calls}, nil), cs.usage, nil))
	}
	cs.event(cs.c.chunk(choice(map[string]any{}, finishReason(res.FinishReason)), cs.usage, nil))
	if cs.usage {
		cs.event(cs.c.chunk([]any{}, true, &res.Usage))
	}
	cs.raw("[DONE]")
}

func (cs *chatStream) event(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return cs.raw(string(b))
}

func (cs *chatStream) raw(data string) error {
	cs.buf, _ = sse.AppendEvent(cs.buf[:0], sse.Event{Data: data})
	if _, err := cs.w.Write(cs.buf); err != nil {
		return err
	}
	return cs.rc.Flush()
}

// openAIErrorBody is OpenAI's error object.
type openAIErrorBody struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    any     `json:"code"`
}

func openAIError(err error) openAIErrorBody {
	status, _ := httpio.Status(err)
	body := openAIErrorBody{Message: err.Error(), Type: "server_error"}
	var lerr *llm.Error
	if errors.As(err, &lerr) {
		body.Message = lerr.Message
		body.Code = string(lerr.Kind)
	}
	switch status {
	case http.StatusBadRequest, http.StatusNotFound, http.StatusRequestEntityTooLarge:
		body.Type = "invalid_request_error"
	case http.StatusTooManyRequests:
		body.Type = "rate_limit_error"
	case http.StatusUnauthorized:
		body.Type = "authentication_error"
	case http.StatusForbidden:
		body.Type = "permission_error"
	}
	if status == http.StatusInternalServerError {
		body.Message = "internal error"
	}
	return body
}

// writeOpenAIError answers an error before any stream byte, OpenAI style,
// with the challenge of a refused token.
func writeOpenAIError(w http.ResponseWriter, err error) {
	status, _ := httpio.Status(err)
	switch status {
	case http.StatusTooManyRequests:
		httpio.SetRetryAfter(w, time.Second)
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusBadRequest:
		httpio.SetChallenge(w.Header(), status, err)
	}
	httpio.WriteJSON(w, status, map[string]any{"error": openAIError(err)})
}

// handleModels lists the models, OpenAI style.
func (a *API) handleModels(w http.ResponseWriter, r *http.Request) {
	names, err := a.cfg.Models.Models(r.Context())
	if err != nil {
		writeOpenAIError(w, err)
		return
	}
	data := make([]any, 0, len(names))
	for _, n := range names {
		data = append(data, map[string]any{"id": n, "object": "model", "created": 0, "owned_by": "ssehub"})
	}
	httpio.WriteJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
}
