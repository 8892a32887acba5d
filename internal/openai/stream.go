package openai

import (
	"context"
	"fmt"
	"net/http"
	"time"

	sdk "github.com/openai/openai-go/v3"

	"github.com/ssehub/ssehub/internal/llm"
)

// Stream implements llm.Model: it asks the upstream for a streamed chat
// completion and emits each piece of content as it arrives.
func (m *Model) Stream(ctx context.Context, req llm.Request, emit func(delta string) error) (llm.Result, error) {
	params, err := m.params(req)
	if err != nil {
		return llm.Result{}, err
	}
	var acc accumulator
	err = relay(ctx, m, call{op: "chat completion", model: params.Model, path: "chat/completions", params: params},
		func(c chunk) error { return acc.add(c, emit) },
		func() bool { return acc.finish != "" })
	return acc.result(), err
}

// call is an upstream request: what the log names it (op, model), and
// where it goes with what (path, params).
type call struct {
	op, model string
	path      string
	params    any
}

// relay opens c's stream (openStream) and passes each of its events to each,
// bounding the whole in time (Timeout) and the silences between events
// (IdleTimeout). finished says whether the answer is complete: a transport
// error after that (the usage chunk or [DONE] lost) does not spoil it, and
// a stream that ends before it is interrupted. An error of each is
// returned as it is.
func relay[T any](ctx context.Context, m *Model, c call, each func(T) error, finished func() bool) error {
	tctx, cancelTimeout := context.WithTimeoutCause(ctx, m.cfg.Timeout, errTimeout)
	defer cancelTimeout()
	rctx, cancel := context.WithCancelCause(tctx)
	defer cancel(nil)

	var res *http.Response
	stream := openStream[T](rctx, m, c.path, c.params, &res)
	defer stream.Close()
	if err := stream.Err(); err != nil {
		return m.fail(ctx, rctx, failure{err: err, res: res, op: c.op, model: c.model})
	}

	// The upstream has answered; from now on a silence longer than
	// IdleTimeout ends the request.
	idle := time.AfterFunc(m.cfg.IdleTimeout, func() { cancel(errIdle) })
	defer idle.Stop()
	for stream.Next() {
		idle.Reset(m.cfg.IdleTimeout)
		if err := each(stream.Current()); err != nil {
			return err
		}
	}
	idle.Stop()
	if err := stream.Err(); err != nil && (!finished() || ctx.Err() != nil) {
		return m.fail(ctx, rctx, failure{err: err, started: true, op: c.op, model: c.model})
	}
	if !finished() {
		return m.fail(ctx, rctx, failure{err: errNoFinish, started: true, op: c.op, model: c.model})
	}
	return nil
}

// params turns req into the SDK's request. max_tokens, not OpenAI's newer
// max_completion_tokens, carries req.MaxTokens: DeepSeek, DashScope, Ollama,
// vLLM and ssehub itself all honour max_tokens, while several of them
// ignore or reject max_completion_tokens. (OpenAI's reasoning models are the
// exception: they want max_completion_tokens.)
func (m *Model) params(req llm.Request) (sdk.ChatCompletionNewParams, error) {
	p := sdk.ChatCompletionNewParams{
		Model:         req.Model,
		StreamOptions: sdk.ChatCompletionStreamOptionsParam{IncludeUsage: sdk.Bool(true)},
	}
	if p.Model == "" {
		p.Model = m.cfg.Model
	}
	if p.Model == "" {
		return p, &llm.Error{Kind: llm.KindInvalid, Message: "no model named: set one in the request or in the upstream's configuration"}
	}
	for i, msg := range req.Messages {
		u, err := message(msg)
		if err != nil {
			return p, &llm.Error{Kind: llm.KindInvalid, Message: fmt.Sprintf("messages[%d]: %v", i, err)}
		}
		p.Messages = append(p.Messages, u)
	}
	if req.MaxTokens > 0 {
		p.MaxTokens = sdk.Int(int64(req.MaxTokens))
	}
	if req.Temperature != nil {
		p.Temperature = sdk.Float(*req.Temperature)
	}
	if req.Seed != 0 {
		p.Seed = sdk.Int(req.Seed)
	}
	return p, tools(req, &p)
}

// message converts one message of the conversation.
func message(msg llm.Message) (sdk.ChatCompletionMessageParamUnion, error) {
	switch msg.Role {
	case "system":
		return sdk.SystemMessage(msg.Content), nil
	case "developer":
		return sdk.DeveloperMessage(msg.Content), nil
	case "user":
		return sdk.UserMessage(msg.Content), nil
	case "assistant":
		return assistantMessage(msg), nil
	case "tool":
		if msg.ToolCallID == "" {
			return sdk.ChatCompletionMessageParamUnion{}, fmt.Errorf("a tool message needs the id of its call")
		}
		return sdk.ToolMessage(msg.Content, msg.ToolCallID), nil
	}
	return sdk.ChatCompletionMessageParamUnion{}, fmt.Errorf("unsupported role %q", msg.Role)
}

// accumulator follows a stream's chunks.
type accumulator struct {
	deltas int
	finish string
	usage  *llm.Usage // from the upstream's usage chunk, if it sent one
	calls  callAccumulator
}

// add emits the content of one chunk and notes its finish reason and usage.
func (a *accumulator) add(c chunk, emit func(string) error) error {
	if u := c.Usage; u.PromptTokens > 0 || u.CompletionTokens > 0 || u.TotalTokens > 0 {
		a.usage = &llm.Usage{PromptTokens: int(u.PromptTokens), CompletionTokens: int(u.CompletionTokens), TotalTokens: int(u.TotalTokens)}
	}
	if len(c.Choices) == 0 {
		return nil
	}
	choice := c.Choices[0]
	if choice.FinishReason != "" {
		a.finish = choice.FinishReason
	}
	a.calls.add(choice.Delta.ToolCalls)
	if choice.Delta.Content == "" {
		return nil
	}
	a.deltas++
	return emit(choice.Delta.Content)
}

// result is the finish reason, usage and tool calls so far; without a
// usage chunk the completion tokens are the number of deltas. An answer
// with calls ends with "tool_calls" even where an upstream (Ollama, some
// vLLM versions) says "stop".
func (a *accumulator) result() llm.Result {
	res := llm.Result{FinishReason: a.finish, ToolCalls: a.calls.calls}
	if len(res.ToolCalls) > 0 && res.FinishReason == llm.FinishStop {
		res.FinishReason = llm.FinishToolCalls
	}
	if a.usage != nil {
		res.Usage = *a.usage
		return res
	}
	res.Usage = llm.Usage{CompletionTokens: a.deltas, TotalTokens: a.deltas}
	return res
}
