package openai

import (
	"github.com/openai/openai-go/v3/responses"

	"github.com/ssehub/ssehub/internal/llm"
)

// responseEvent is what Responses.Stream reads of a streamed response's
// event, decoded as chunk is, and for the same reason.
type responseEvent struct {
	Type    string `json:"type"`
	Delta   string `json:"delta"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Item    struct {
		Type      string `json:"type"`
		CallID    string `json:"call_id"`
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"item"`
	Response eventResponse `json:"response"`
}

// UnmarshalJSON decodes data as decodeLean does.
func (ev *responseEvent) UnmarshalJSON(data []byte) error {
	type plain responseEvent
	return decodeLean(data, (*plain)(ev), func(s *responses.ResponseStreamEventUnion) {
		*ev = responseEvent{Type: s.Type, Delta: s.Delta, Code: s.Code, Message: s.Message}
		ev.Item.Type = s.Item.Type
		if s.Item.Type == "function_call" {
			fc := s.Item.AsFunctionCall()
			ev.Item.CallID, ev.Item.Name, ev.Item.Arguments = fc.CallID, fc.Name, fc.Arguments
		}
		r, u := &ev.Response, s.Response.Usage
		r.Usage.InputTokens, r.Usage.OutputTokens, r.Usage.TotalTokens = u.InputTokens, u.OutputTokens, u.TotalTokens
		r.IncompleteDetails.Reason = s.Response.IncompleteDetails.Reason
		r.Error.Code, r.Error.Message = string(s.Response.Error.Code), s.Response.Error.Message
	})
}

// eventResponse is what responseAccumulator reads of the response an
// event carries.
type eventResponse struct {
	Usage struct {
		InputTokens  int64 `json:"input_tokens"`
		OutputTokens int64 `json:"output_tokens"`
		TotalTokens  int64 `json:"total_tokens"`
	} `json:"usage"`
	IncompleteDetails struct {
		Reason string `json:"reason"`
	} `json:"incomplete_details"`
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// responseAccumulator follows the events of a streamed response.
type responseAccumulator struct {
	emit  func(string) error
	warn  func(op, model string, e *llm.Error)
	model string
	res   llm.Result
}

// add handles one event: text deltas are emitted, function calls noted
// when their item is done, and the response's end gives the finish
// reason and usage. The other events (created, in progress, parts, the
// arguments' own deltas) carry nothing the result needs.
func (a *responseAccumulator) add(ev responseEvent) error {
	switch ev.Type {
	case "response.output_text.delta":
		if ev.Delta == "" {
			return nil
		}
		return a.emit(ev.Delta)
	case "response.output_item.done":
		if it := ev.Item; it.Type == "function_call" {
			a.res.ToolCalls = append(a.res.ToolCalls, llm.ToolCall{ID: it.CallID, Name: it.Name, Arguments: it.Arguments})
		}
	case "response.completed":
		a.end(ev.Response, llm.FinishStop)
	case "response.incomplete":
		reason := ev.Response.IncompleteDetails.Reason
		if reason == "max_output_tokens" || reason == "" {
			reason = llm.FinishLength
		}
		a.end(ev.Response, reason)
	case "response.failed":
		e := ev.Response.Error
		return a.fail(e.Code, e.Message)
	case "error":
		return a.fail(ev.Code, ev.Message)
	}
	return nil
}

// end notes the finish reason and the usage of a response that ended.
func (a *responseAccumulator) end(r eventResponse, reason string) {
	if len(a.res.ToolCalls) > 0 && reason == llm.FinishStop {
		reason = llm.FinishToolCalls
	}
	a.res.FinishReason = reason
	u := r.Usage
	a.res.Usage = llm.Usage{PromptTokens: int(u.InputTokens), CompletionTokens: int(u.OutputTokens), TotalTokens: int(u.TotalTokens)}
}

// fail is the error of a response that failed mid-stream.
func (a *responseAccumulator) fail(code, msg string) error {
	kind := llm.KindUpstream
	if code == "rate_limit_exceeded" {
		kind = llm.KindRateLimit
	}
	if code != "" {
		msg = joinMessage(code, msg)
	}
	e := &llm.Error{Kind: kind, Message: joinMessage("the upstream's response failed", msg)}
	a.warn("response", a.model, e)
	return e
}
