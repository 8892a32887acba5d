package openai

import (
	"encoding/json"
	"fmt"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/param"
	"github.com/openai/openai-go/v3/shared"

	"github.com/ssehub/ssehub/internal/llm"
)

// functionDefinition is a tool as the upstream receives it, with its
// schema passed on byte for byte (the SDK's map would reorder it).
type functionDefinition struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      bool            `json:"strict,omitempty"`
}

// tools sets the request's tools and tool choice on p.
func tools(req llm.Request, p *sdk.ChatCompletionNewParams) error {
	for i, t := range req.Tools {
		b, err := json.Marshal(functionDefinition{Name: t.Name, Description: t.Description, Parameters: t.Parameters, Strict: t.Strict})
		if err != nil {
			return &llm.Error{Kind: llm.KindInvalid, Message: fmt.Sprintf("tools[%d]: %v", i, err)}
		}
		p.Tools = append(p.Tools, sdk.ChatCompletionFunctionTool(param.Override[shared.FunctionDefinitionParam](json.RawMessage(b))))
	}
	switch {
	case req.ForceTool != "":
		p.ToolChoice = sdk.ToolChoiceOptionFunctionToolChoice(sdk.ChatCompletionNamedToolChoiceFunctionParam{Name: req.ForceTool})
	case req.ToolChoice != "":
		p.ToolChoice = sdk.ChatCompletionToolChoiceOptionUnionParam{OfAuto: sdk.String(req.ToolChoice)}
	}
	return nil
}

// assistantMessage is an assistant message, with the calls it made.
func assistantMessage(msg llm.Message) sdk.ChatCompletionMessageParamUnion {
	if len(msg.ToolCalls) == 0 {
		return sdk.AssistantMessage(msg.Content)
	}
	var a sdk.ChatCompletionAssistantMessageParam
	if msg.Content != "" {
		a.Content.OfString = sdk.String(msg.Content)
	}
	for _, c := range msg.ToolCalls {
		a.ToolCalls = append(a.ToolCalls, sdk.ChatCompletionMessageToolCallUnionParam{
			OfFunction: &sdk.ChatCompletionMessageFunctionToolCallParam{
				ID:       c.ID,
				Function: sdk.ChatCompletionMessageFunctionToolCallFunctionParam{Name: c.Name, Arguments: c.Arguments},
			},
		})
	}
	return sdk.ChatCompletionMessageParamUnion{OfAssistant: &a}
}

// callAccumulator joins the pieces of streamed tool calls: a call's first
// delta names its index, id and function; later ones with that index carry
// pieces of its arguments.
type callAccumulator struct {
	calls []llm.ToolCall
	index []int64 // the stream's index of each call
}

// add takes one chunk's delta.tool_calls. A delta whose id differs from
// that of the call at its index starts a new call: some upstreams send
// every call with index 0.
func (a *callAccumulator) add(deltas []toolCallDelta) {
	for _, d := range deltas {
		i := a.find(d.Index)
		if i < 0 || (d.ID != "" && a.calls[i].ID != "" && d.ID != a.calls[i].ID) {
			a.calls = append(a.calls, llm.ToolCall{})
			a.index = append(a.index, d.Index)
			i = len(a.calls) - 1
		}
		c := &a.calls[i]
		if c.ID == "" {
			c.ID = d.ID
		}
		if c.Name == "" {
			c.Name = d.Function.Name
		}
		c.Arguments += d.Function.Arguments
	}
}

// find returns the last call with the stream's index, or -1.
func (a *callAccumulator) find(index int64) int {
	for i := len(a.index) - 1; i >= 0; i-- {
		if a.index[i] == index {
			return i
		}
	}
	return -1
}
