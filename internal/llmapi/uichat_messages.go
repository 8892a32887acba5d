package llmapi

import (
	"cmp"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ssehub/ssehub/internal/httpio"
	"github.com/ssehub/ssehub/internal/llm"
)

// uiMessage is the AI SDK's UIMessage. Its parts are kept as they were
// sent, to give them back as they were.
type uiMessage struct {
	ID       string            `json:"id"`
	Role     string            `json:"role"`
	Metadata json.RawMessage   `json:"metadata,omitempty"`
	Parts    []json.RawMessage `json:"parts"`
}

// uiPart holds the fields of a UIMessage part the model reads.
type uiPart struct {
	Type       string          `json:"type"`
	Text       string          `json:"text"`
	State      string          `json:"state"`
	ToolCallID string          `json:"toolCallId"`
	ToolName   string          `json:"toolName"` // of a dynamic-tool part
	Input      json.RawMessage `json:"input"`
	Output     json.RawMessage `json:"output"`
	ErrorText  string          `json:"errorText"`
}

// toolName returns the tool of a tool part ("tool-NAME" or "dynamic-tool"),
// or false for another part.
func (p *uiPart) toolName() (string, bool) {
	if p.Type == "dynamic-tool" {
		return p.ToolName, true
	}
	name, ok := strings.CutPrefix(p.Type, "tool-")
	return name, ok
}

// ignored reports whether a part carries nothing for the model.
func (p *uiPart) ignored() bool {
	switch p.Type {
	case "step-start", "reasoning", "source-url", "source-document":
		return true
	}
	return strings.HasPrefix(p.Type, "data-")
}

// modelMessages converts a chat's UIMessages to the engine's messages: the
// text parts of a message make its content; an assistant's tool parts make
// its tool calls, and their outputs the tool messages that follow.
func modelMessages(msgs []uiMessage) ([]llm.Message, error) {
	var out []llm.Message
	for i, m := range msgs {
		field := fmt.Sprintf("messages[%d]", i)
		if len(m.Parts) == 0 {
			return nil, httpio.BadRequest(field+".parts", field+" has no parts: a message needs at least one (a text part: {\"type\":\"text\",\"text\":\"...\"})")
		}
		parts := make([]uiPart, len(m.Parts))
		for j, raw := range m.Parts {
			if err := json.Unmarshal(raw, &parts[j]); err != nil || parts[j].Type == "" {
				return nil, httpio.BadRequest(fmt.Sprintf("%s.parts[%d]", field, j), fmt.Sprintf("%s.parts[%d]: a part is an object with a type", field, j))
			}
		}
		var err error
		switch m.Role {
		case "system", "user":
			var msg llm.Message
			msg, err = textMessage(field, m.Role, parts)
			out = append(out, msg)
		case "assistant":
			out, err = assistantMessages(out, field, parts)
		default:
			err = httpio.BadRequest(field+".role", fmt.Sprintf("%s.role %q: use system, user or assistant", field, m.Role))
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// textMessage is a system or user message: its text parts.
func textMessage(field, role string, parts []uiPart) (llm.Message, error) {
	var sb strings.Builder
	for j, p := range parts {
		switch {
		case p.Type == "text":
			sb.WriteString(p.Text)
		case !p.ignored():
			return llm.Message{}, unmappable(field, j, p.Type)
		}
	}
	return llm.Message{Role: role, Content: sb.String()}, nil
}

// unmappable refuses a part the model cannot be given.
func unmappable(field string, j int, typ string) error {
	f := fmt.Sprintf("%s.parts[%d]", field, j)
	return httpio.BadRequest(f, fmt.Sprintf("%s: a part of type %q cannot be given to the model here (text parts, and an assistant's tool parts, can)", f, typ))
}

// assistantMessages appends an assistant's UIMessage: one assistant
// message per step (its text and tool calls), each followed by the tool
// messages of its calls' outputs.
func assistantMessages(out []llm.Message, field string, parts []uiPart) ([]llm.Message, error) {
	cur := llm.Message{Role: "assistant"}
	var results []llm.Message
	flush := func() {
		if cur.Content != "" || len(cur.ToolCalls) > 0 {
			out = append(append(out, cur), results...)
		}
		cur, results = llm.Message{Role: "assistant"}, nil
	}
	for j, p := range parts {
		name, isTool := p.toolName()
		switch {
		case p.Type == "step-start":
			flush()
		case p.Type == "text":
			if len(cur.ToolCalls) > 0 {
				flush() // text after a tool's output answers it
			}
			cur.Content += p.Text
		case isTool:
			res, err := toolResult(fmt.Sprintf("%s.parts[%d]", field, j), p)
			if err != nil {
				return nil, err
			}
			args := "{}"
			if len(p.Input) > 0 && string(p.Input) != "null" {
				args = string(p.Input)
			}
			cur.ToolCalls = append(cur.ToolCalls, llm.ToolCall{ID: p.ToolCallID, Name: name, Arguments: args})
			results = append(results, res)
		case !p.ignored():
			return nil, unmappable(field, j, p.Type)
		}
	}
	flush()
	return out, nil
}

// toolResult is the tool message of a tool part's output.
func toolResult(field string, p uiPart) (llm.Message, error) {
	if p.ToolCallID == "" {
		return llm.Message{}, httpio.BadRequest(field, field+": a tool part needs its toolCallId")
	}
	msg := llm.Message{Role: "tool", ToolCallID: p.ToolCallID}
	switch p.State {
	case "output-available":
		var s string
		if json.Unmarshal(p.Output, &s) == nil {
			msg.Content = s
		} else {
			msg.Content = string(p.Output)
		}
	case "output-error":
		msg.Content = "error: " + p.ErrorText
	case "output-denied":
		msg.Content = "the user denied this call"
	default:
		return msg, httpio.BadRequest(field, fmt.Sprintf("%s: tool call %s has no output (state %q): give it (addToolOutput) before sending", field, p.ToolCallID, p.State))
	}
	return msg, nil
}

// priorChunks replays the parts of the message an answer continues, for
// a stream that rebuilds the message from nothing (a resume): steps,
// text, reasoning and tool calls with their outputs.
func priorChunks(parts []json.RawMessage) []uiChunk {
	var out []uiChunk
	inStep := false
	for j, raw := range parts {
		var p uiPart
		if json.Unmarshal(raw, &p) != nil {
			continue
		}
		id := fmt.Sprintf("prior-%d", j)
		name, isTool := p.toolName()
		switch {
		case p.Type == "step-start":
			if inStep {
				out = append(out, uiChunk{Type: "finish-step"})
			}
			out, inStep = append(out, uiChunk{Type: "start-step"}), true
		case p.Type == "text" || p.Type == "reasoning":
			out = append(out, uiChunk{Type: p.Type + "-start", ID: id})
			if p.Text != "" {
				out = append(out, uiChunk{Type: p.Type + "-delta", ID: id, Delta: p.Text})
			}
			out = append(out, uiChunk{Type: p.Type + "-end", ID: id})
		case isTool:
			out = append(out, toolChunks(p, name)...)
		}
	}
	if inStep {
		out = append(out, uiChunk{Type: "finish-step"})
	}
	return out
}

// toolChunks replays a tool part: its call, then its output.
func toolChunks(p uiPart, name string) []uiChunk {
	input := p.Input
	if len(input) == 0 {
		input = json.RawMessage(`{}`)
	}
	out := []uiChunk{{Type: "tool-input-available", ToolCallID: p.ToolCallID, ToolName: name, Input: input, Dynamic: p.Type == "dynamic-tool"}}
	switch p.State {
	case "output-available":
		output := p.Output
		if len(output) == 0 {
			output = json.RawMessage(`null`)
		}
		out = append(out, uiChunk{Type: "tool-output-available", ToolCallID: p.ToolCallID, Output: output})
	case "output-error":
		out = append(out, uiChunk{Type: "tool-output-error", ToolCallID: p.ToolCallID, ErrorText: cmp.Or(p.ErrorText, "error")})
	}
	return out
}
