package llmapi

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/ssehub/ssehub/internal/llm"
)

// chatTool is one of a chat completion request's tools. Only functions are
// supported; OpenAI's custom tools are refused by name.
type chatTool struct {
	Type     string `json:"type"`
	Function *struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
		Strict      *bool           `json:"strict"`
	} `json:"function"`
}

// chatToolCall is a call in OpenAI's shape, in an assistant message of a
// request or in an answer.
type chatToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// tools converts the request's tools and tool_choice into req.
func (c *chatRequest) tools(req *llm.Request) error {
	for i, t := range c.Tools {
		if t.Type != "function" {
			return invalid("tools[%d].type %q is not supported: use \"function\"", i, t.Type)
		}
		if t.Function == nil {
			return invalid("tools[%d].function is missing", i)
		}
		f := t.Function
		req.Tools = append(req.Tools, llm.Tool{Name: f.Name, Description: f.Description, Parameters: f.Parameters, Strict: f.Strict != nil && *f.Strict})
	}
	return c.toolChoice(req)
}

// toolChoice reads tool_choice: "auto", "none", "required", or
// {"type":"function","function":{"name":...}} (which requires that tool).
func (c *chatRequest) toolChoice(req *llm.Request) error {
	raw := c.ToolChoice
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if json.Unmarshal(raw, &req.ToolChoice) == nil {
		return nil
	}
	var named struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(raw, &named); err != nil {
		return invalid("tool_choice: must be a string or an object")
	}
	if named.Type != "function" || named.Function.Name == "" {
		return invalid("tool_choice of type %q is not supported: use auto, none, required or {\"type\":\"function\",\"function\":{\"name\":...}}", named.Type)
	}
	req.ToolChoice, req.ForceTool = llm.ToolChoiceRequired, named.Function.Name
	return nil
}

// message converts the i-th message, its tool calls and tool call id.
func (m chatMessage) message(i int) (llm.Message, error) {
	text, err := partsText(m.Content, "text")
	if err != nil {
		return llm.Message{}, invalid("messages[%d].content: %v", i, err)
	}
	msg := llm.Message{Role: m.Role, Content: text, ToolCallID: m.ToolCallID}
	for j, tc := range m.ToolCalls {
		if tc.Type != "" && tc.Type != "function" {
			return llm.Message{}, invalid("messages[%d].tool_calls[%d].type %q is not supported: use \"function\"", i, j, tc.Type)
		}
		if tc.ID == "" || tc.Function.Name == "" {
			return llm.Message{}, invalid("messages[%d].tool_calls[%d]: a call needs an id and a function name", i, j)
		}
		msg.ToolCalls = append(msg.ToolCalls, llm.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
	}
	return msg, nil
}

// toolCallsJSON is the calls in OpenAI's shape for a non-streamed answer.
func toolCallsJSON(calls []llm.ToolCall) []chatToolCall {
	out := make([]chatToolCall, len(calls))
	for i, c := range calls {
		out[i].ID, out[i].Type = c.ID, "function"
		out[i].Function.Name, out[i].Function.Arguments = c.Name, c.Arguments
	}
	return out
}

// argumentPiece is the most bytes of a call's arguments one chunk carries:
// OpenAI streams arguments a token or so at a time, and clients must join
// the pieces.
const argumentPiece = 16

// toolCallDeltas are the delta.tool_calls of the chunks that stream calls
// as OpenAI does: for each call, a first chunk with its index, id, type,
// name and empty arguments, then chunks of argument pieces with the index.
func toolCallDeltas(calls []llm.ToolCall) [][]any {
	var out [][]any
	for i, c := range calls {
		out = append(out, []any{map[string]any{
			"index": i, "id": c.ID, "type": "function",
			"function": map[string]any{"name": c.Name, "arguments": ""},
		}})
		for _, p := range split(c.Arguments, argumentPiece) {
			out = append(out, []any{map[string]any{"index": i, "function": map[string]any{"arguments": p}}})
		}
	}
	return out
}

// split cuts s into pieces of at most n bytes, not inside a character.
func split(s string, n int) []string {
	var out []string
	for len(s) > 0 {
		end := min(n, len(s))
		for end < len(s) && end > 1 && !utf8.RuneStart(s[end]) {
			end--
		}
		out = append(out, s[:end])
		s = s[end:]
	}
	return out
}
