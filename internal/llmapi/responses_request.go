package llmapi

import (
	"encoding/json"
	"fmt"

	"github.com/ssehub/ssehub/internal/llm"
)

// responseRequest is the part of OpenAI's POST /v1/responses body ssehub
// uses; other fields are accepted and ignored.
type responseRequest struct {
	Model              string          `json:"model"`
	Input              json.RawMessage `json:"input"`
	Instructions       *string         `json:"instructions"`
	MaxOutputTokens    *int            `json:"max_output_tokens"`
	Temperature        *float64        `json:"temperature"`
	Stream             bool            `json:"stream"`
	Background         bool            `json:"background"`
	PreviousResponseID string          `json:"previous_response_id"`
	Tools              []responseTool  `json:"tools"`
	ToolChoice         json.RawMessage `json:"tool_choice"`
	Metadata           json.RawMessage `json:"metadata"`
}

// responseTool is a tool of a Responses request; only function tools are
// served.
type responseTool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// inputItem is one item of a Responses input list: a message (type
// "message", or no type and a role), a function_call, a
// function_call_output, or an item_reference to an earlier response's
// output item.
type inputItem struct {
	Type      string          `json:"type"`
	ID        string          `json:"id"`
	Role      string          `json:"role"`
	Content   json.RawMessage `json:"content"`
	CallID    string          `json:"call_id"`
	Name      string          `json:"name"`
	Arguments string          `json:"arguments"`
	Output    json.RawMessage `json:"output"`
}

// invalid is a 400 in OpenAI's shape naming what is wrong.
func invalid(format string, args ...any) error {
	return &llm.Error{Kind: llm.KindInvalid, Message: fmt.Sprintf(format, args...)}
}

// itemResolver returns the output item an item_reference names.
type itemResolver func(id string) (inputItem, error)

// parseInput converts a Responses input (a string, or a list of items)
// to the messages of a conversation; resolve reads the items that
// item_reference items name.
func parseInput(raw json.RawMessage, resolve itemResolver) ([]llm.Message, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, invalid("input: missing; give a string or a list of items")
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []llm.Message{{Role: "user", Content: s}}, nil
	}
	var items []inputItem
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, invalid("input: must be a string or a list of items: %v", err)
	}
	if len(items) == 0 {
		return nil, invalid("input: the list is empty")
	}
	var msgs []llm.Message
	for i, it := range items {
		var err error
		if it.Type == "item_reference" {
			it, err = resolve(it.ID)
		}
		if err == nil {
			msgs, err = appendItem(msgs, it)
		}
		if err != nil {
			return nil, invalid("input[%d]: %v", i, err)
		}
	}
	return msgs, nil
}

// appendItem adds one input item to the conversation msgs. Function calls
// join the assistant message they follow, as Chat Completions has them.
func appendItem(msgs []llm.Message, it inputItem) ([]llm.Message, error) {
	switch it.Type {
	case "message", "":
		if it.Type == "" && it.Role == "" {
			return nil, fmt.Errorf("an item needs a type or a role")
		}
		return appendMessage(msgs, it)
	case "function_call":
		if it.CallID == "" || it.Name == "" {
			return nil, fmt.Errorf("a function_call needs call_id and name")
		}
		call := llm.ToolCall{ID: it.CallID, Name: it.Name, Arguments: it.Arguments}
		if n := len(msgs); n > 0 && msgs[n-1].Role == "assistant" {
			msgs[n-1].ToolCalls = append(msgs[n-1].ToolCalls, call)
			return msgs, nil
		}
		return append(msgs, llm.Message{Role: "assistant", ToolCalls: []llm.ToolCall{call}}), nil
	case "function_call_output":
		if it.CallID == "" {
			return nil, fmt.Errorf("a function_call_output needs call_id")
		}
		out, err := contentText(it.Output, "output")
		if err != nil {
			return nil, err
		}
		return append(msgs, llm.Message{Role: "tool", Content: out, ToolCallID: it.CallID}), nil
	}
	return nil, fmt.Errorf("items of type %q are not supported (use message, function_call, function_call_output or item_reference)", it.Type)
}

// appendMessage adds a message item.
func appendMessage(msgs []llm.Message, it inputItem) ([]llm.Message, error) {
	switch it.Role {
	case "user", "system", "developer", "assistant":
	default:
		return nil, fmt.Errorf("role %q: use user, system, developer or assistant", it.Role)
	}
	text, err := contentText(it.Content, "content")
	if err != nil {
		return nil, err
	}
	return append(msgs, llm.Message{Role: it.Role, Content: text}), nil
}

// contentText reads a content (or a function_call_output's output): a
// string or a list of input_text/output_text parts.
func contentText(raw json.RawMessage, field string) (string, error) {
	text, err := partsText(raw, "input_text", "output_text")
	if err != nil {
		return "", fmt.Errorf("%s: %w", field, err)
	}
	return text, nil
}

// parseTools converts the function tools; other tool types are refused.
func parseTools(tools []responseTool) ([]llm.Tool, error) {
	var out []llm.Tool
	for i, t := range tools {
		if t.Type != "function" {
			return nil, invalid("tools[%d]: tools of type %q are not supported; ssehub serves function tools only", i, t.Type)
		}
		out = append(out, llm.Tool{Name: t.Name, Description: t.Description, Parameters: t.Parameters, Strict: t.Strict != nil && *t.Strict})
	}
	return out, nil
}

// parseToolChoice reads tool_choice: "auto", "none", "required" or
// {"type": "function", "name": ...}; it returns the choice and the forced
// tool.
func parseToolChoice(raw json.RawMessage) (choice, force string, err error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", "", nil
	}
	if json.Unmarshal(raw, &choice) == nil {
		return choice, "", nil // the engine's validation names a bad choice
	}
	var fn struct{ Type, Name string }
	if err := json.Unmarshal(raw, &fn); err != nil || fn.Type != "function" || fn.Name == "" {
		return "", "", invalid(`tool_choice: use "auto", "none", "required" or {"type": "function", "name": ...}`)
	}
	return llm.ToolChoiceRequired, fn.Name, nil
}
