package openai

import (
	"github.com/openai/openai-go/v3/responses"

	"github.com/ssehub/ssehub/internal/llm"
)

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
func (a *responseAccumulator) add(ev responses.ResponseStreamEventUnion) error {
	switch ev.Type {
	case "response.output_text.delta":
		if ev.Delta == "" {
			return nil
		}
		return a.emit(ev.Delta)
	case "response.output_item.done":
		if ev.Item.Type == "function_call" {
			fc := ev.Item.AsFunctionCall()
			a.res.ToolCalls = append(a.res.ToolCalls, llm.ToolCall{ID: fc.CallID, Name: fc.Name, Arguments: fc.Arguments})
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
		return a.fail(string(e.Code), e.Message)
	case "error":
		return a.fail(ev.Code, ev.Message)
	}
	return nil
}

// end notes the finish reason and the usage of a response that ended.
func (a *responseAccumulator) end(r responses.Response, reason string) {
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
