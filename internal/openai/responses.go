package openai

import (
	"context"
	"encoding/json"
	"fmt"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/param"
	"github.com/openai/openai-go/v3/responses"

	"github.com/ssehub/ssehub/internal/llm"
)

// Responses is an upstream that speaks OpenAI's Responses API (POST
// BaseURL/responses, streamed) rather than Chat Completions: for models
// and providers that serve only that API. It is configured, bounded in
// time and lists models as Model does, and is safe for concurrent use.
type Responses struct {
	base *Model
}

var (
	_ llm.Model  = (*Responses)(nil)
	_ llm.Lister = (*Responses)(nil)
)

// NewResponses returns a Responses upstream configured by cfg.
func NewResponses(cfg Config) *Responses {
	return &Responses{base: New(cfg)}
}

// Name returns the default model name.
func (r *Responses) Name() string { return r.base.Name() }

// Models implements llm.Lister, as Model.Models does.
func (r *Responses) Models(ctx context.Context) ([]string, error) { return r.base.Models(ctx) }

// Stream implements llm.Model: it asks for a streamed response, emits the
// deltas of its output text, and returns its function calls (from the
// output items done) as the result's tool calls.
func (r *Responses) Stream(ctx context.Context, req llm.Request, emit func(delta string) error) (llm.Result, error) {
	params, err := r.params(req)
	if err != nil {
		return llm.Result{}, err
	}
	acc := responseAccumulator{emit: emit, warn: r.base.warn, model: params.Model}
	err = relay(ctx, r.base, call{op: "response", model: params.Model, path: "responses", params: params},
		acc.add,
		func() bool { return acc.res.FinishReason != "" })
	return acc.res, err
}

// params turns req into the SDK's request. The conversation goes as input
// items: messages, the assistant's function calls and their outputs.
// store is false: ssehub keeps no response ids to refer back to, so the
// upstream needs not keep the conversation.
func (r *Responses) params(req llm.Request) (responses.ResponseNewParams, error) {
	p := responses.ResponseNewParams{Model: req.Model, Store: sdk.Bool(false)}
	if p.Model == "" {
		p.Model = r.base.cfg.Model
	}
	if p.Model == "" {
		return p, &llm.Error{Kind: llm.KindInvalid, Message: "no model named: set one in the request or in the upstream's configuration"}
	}
	for i, msg := range req.Messages {
		items, err := inputItems(msg)
		if err != nil {
			return p, &llm.Error{Kind: llm.KindInvalid, Message: fmt.Sprintf("messages[%d]: %v", i, err)}
		}
		p.Input.OfInputItemList = append(p.Input.OfInputItemList, items...)
	}
	if req.MaxTokens > 0 {
		p.MaxOutputTokens = sdk.Int(int64(req.MaxTokens))
	}
	if req.Temperature != nil {
		p.Temperature = sdk.Float(*req.Temperature)
	}
	return p, responseTools(req, &p)
}

// inputItems converts one message of the conversation.
func inputItems(msg llm.Message) ([]responses.ResponseInputItemUnionParam, error) {
	switch msg.Role {
	case "system", "developer", "user", "assistant":
	case "tool":
		if msg.ToolCallID == "" {
			return nil, fmt.Errorf("a tool message needs the id of its call")
		}
		out := responses.ResponseInputItemParamOfFunctionCallOutput(msg.Content)
		out.OfFunctionCallOutput.CallID = sdk.String(msg.ToolCallID)
		return []responses.ResponseInputItemUnionParam{out}, nil
	default:
		return nil, fmt.Errorf("unsupported role %q", msg.Role)
	}
	var items []responses.ResponseInputItemUnionParam
	if msg.Content != "" || len(msg.ToolCalls) == 0 {
		items = append(items, responses.ResponseInputItemParamOfMessage(msg.Content, responses.EasyInputMessageRole(msg.Role)))
	}
	for _, c := range msg.ToolCalls {
		items = append(items, responses.ResponseInputItemParamOfFunctionCall(c.Arguments, c.ID, c.Name))
	}
	return items, nil
}

// responseFunction is a function tool as the Responses API takes it, with
// its schema passed on byte for byte. The API requires parameters and
// strict.
type responseFunction struct {
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters"`
	Strict      bool            `json:"strict"`
}

// emptySchema stands for a tool's missing parameters.
var emptySchema = json.RawMessage(`{"type":"object","properties":{}}`)

// responseTools sets the request's tools and tool choice on p.
func responseTools(req llm.Request, p *responses.ResponseNewParams) error {
	for i, t := range req.Tools {
		params := t.Parameters
		if len(params) == 0 {
			params = emptySchema
		}
		b, err := json.Marshal(responseFunction{Type: "function", Name: t.Name, Description: t.Description, Parameters: params, Strict: t.Strict})
		if err != nil {
			return &llm.Error{Kind: llm.KindInvalid, Message: fmt.Sprintf("tools[%d]: %v", i, err)}
		}
		f := param.Override[responses.FunctionToolParam](json.RawMessage(b))
		p.Tools = append(p.Tools, responses.ToolUnionParam{OfFunction: &f})
	}
	switch {
	case req.ForceTool != "":
		p.ToolChoice.OfFunctionTool = &responses.ToolChoiceFunctionParam{Name: req.ForceTool}
	case req.ToolChoice != "":
		p.ToolChoice.OfToolChoiceMode = param.NewOpt(responses.ToolChoiceOptions(req.ToolChoice))
	}
	return nil
}
