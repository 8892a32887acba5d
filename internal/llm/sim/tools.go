package sim

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/ssehub/ssehub/internal/llm"
)

// The simulated model's rule for tools, deterministic so that tool calls
// are testable with no network:
//
//   - After a tool's output (the last message is a tool message), it
//     answers with text that quotes the output: the turn continues.
//   - Otherwise, offered tools and not told "none", it calls one when the
//     choice is "required" (the forced tool, else the first one named in
//     the last user message, else the first tool), or, by default, when
//     the last user message names a tool (its name, or its name with "_"
//     and "-" read as spaces, in any case).
//   - The call's arguments fill the schema's properties: a string gets the
//     user's message, an integer or a number 1, a boolean true; others are
//     left out. Its id is "call_" and a hash of the conversation.
//
// Else it answers with text, as without tools.

// toolCall returns the call the model makes for req, if any.
func toolCall(req llm.Request) (llm.ToolCall, bool) {
	if len(req.Tools) == 0 || req.ToolChoice == llm.ToolChoiceNone || lastIsTool(req.Messages) {
		return llm.ToolCall{}, false
	}
	prompt, _ := lastUser(req.Messages)
	t, named := namedTool(req.Tools, prompt)
	switch {
	case req.ToolChoice == llm.ToolChoiceRequired && req.ForceTool != "":
		i := slices.IndexFunc(req.Tools, func(t llm.Tool) bool { return t.Name == req.ForceTool })
		t = req.Tools[max(i, 0)]
	case req.ToolChoice == llm.ToolChoiceRequired && !named:
		t = req.Tools[0]
	case !named:
		return llm.ToolCall{}, false
	}
	s1, s2 := seedOf(req)
	id := fmt.Sprintf("call_%016x%08x", s1, uint32(s2))
	return llm.ToolCall{ID: id, Name: t.Name, Arguments: arguments(t.Parameters, prompt)}, true
}

// namedTool returns the first tool the prompt names.
func namedTool(tools []llm.Tool, prompt string) (llm.Tool, bool) {
	p := strings.ToLower(prompt)
	for _, t := range tools {
		n := strings.ToLower(t.Name)
		spaced := strings.NewReplacer("_", " ", "-", " ").Replace(n)
		if strings.Contains(p, n) || strings.Contains(p, spaced) {
			return t, true
		}
	}
	return llm.Tool{}, false
}

// arguments fills the properties of a JSON Schema object.
func arguments(schema json.RawMessage, prompt string) string {
	var s struct {
		Properties map[string]struct {
			Type any `json:"type"`
		} `json:"properties"`
	}
	_ = json.Unmarshal(schema, &s) // a schema that is no object gets {}
	args := map[string]any{}
	for name, p := range s.Properties {
		switch typeOf(p.Type) {
		case "string":
			args[name] = prompt
		case "integer", "number":
			args[name] = 1
		case "boolean":
			args[name] = true
		}
	}
	b, _ := json.Marshal(args) // map keys are sorted: the same text every time
	return string(b)
}

// typeOf is a schema's type, the first non-null one of a list.
func typeOf(t any) string {
	switch v := t.(type) {
	case string:
		return v
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok && s != "null" {
				return s
			}
		}
	}
	return ""
}

func lastIsTool(msgs []llm.Message) bool {
	return len(msgs) > 0 && msgs[len(msgs)-1].Role == "tool"
}

// toolAnswer is the text that follows the outputs of tools: one line per
// output since the last assistant message, oldest first.
func toolAnswer(msgs []llm.Message) string {
	names := map[string]string{}
	for _, m := range msgs {
		for _, c := range m.ToolCalls {
			names[c.ID] = c.Name
		}
	}
	first := len(msgs)
	for first > 0 && msgs[first-1].Role == "tool" {
		first--
	}
	var sb strings.Builder
	for _, m := range msgs[first:] {
		name := names[m.ToolCallID]
		if name == "" {
			name = "The tool"
		}
		fmt.Fprintf(&sb, "%s returned: %s\n\n", name, m.Content)
	}
	return strings.TrimSuffix(sb.String(), "\n\n")
}
