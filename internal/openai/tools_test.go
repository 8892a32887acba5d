package openai_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"testing"

	"github.com/ssehub/ssehub/internal/llm"
	"github.com/ssehub/ssehub/internal/openai"
)

// toolChunk is a chunk carrying one delta.tool_calls entry, as OpenAI
// sends them: id, type and name in a call's first chunk only.
func toolChunk(index int, id, name, args string) string {
	call := map[string]any{"index": index, "function": map[string]any{"arguments": args}}
	if id != "" {
		call["id"], call["type"] = id, "function"
		call["function"] = map[string]any{"name": name, "arguments": args}
	}
	return mustJSON(map[string]any{
		"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 1700000000, "model": "test-model",
		"choices": []any{map[string]any{"index": 0, "delta": map[string]any{"tool_calls": []any{call}}, "logprobs": nil, "finish_reason": nil}},
	})
}

// pieces cuts s into pieces of n bytes.
func pieces(s string, n int) []string {
	var out []string
	for len(s) > n {
		out, s = append(out, s[:n]), s[n:]
	}
	return append(out, s)
}

const (
	parisArgs = `{"city":"Paris","days":3,"units":"metric"}`
	romeArgs  = `{"city":"Rome"}`
)

func TestToolsSent(t *testing.T) {
	u := newUpstream(t, answer("ok"))
	m := newModel(u, openai.Config{})
	req := conversation()
	req.Tools = []llm.Tool{
		{Name: "get_weather", Description: "The weather", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`), Strict: true},
		{Name: "now"},
	}
	req.ToolChoice, req.ForceTool = llm.ToolChoiceRequired, "get_weather"
	req.Messages = append(req.Messages,
		llm.Message{Role: "assistant", ToolCalls: []llm.ToolCall{{ID: "call_1", Name: "get_weather", Arguments: romeArgs}}},
		llm.Message{Role: "tool", ToolCallID: "call_1", Content: "18°C"},
	)
	if _, _, err := stream(context.Background(), m, req); err != nil {
		t.Fatal(err)
	}
	body := u.requests()[0].Body
	wantTools := []any{
		map[string]any{"type": "function", "function": map[string]any{"name": "get_weather", "description": "The weather", "strict": true,
			"parameters": map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []any{"city"}}}},
		map[string]any{"type": "function", "function": map[string]any{"name": "now"}},
	}
	if !reflect.DeepEqual(body["tools"], wantTools) {
		t.Errorf("tools %v\nwant %v", body["tools"], wantTools)
	}
	if want := map[string]any{"type": "function", "function": map[string]any{"name": "get_weather"}}; !reflect.DeepEqual(body["tool_choice"], want) {
		t.Errorf("tool_choice %v", body["tool_choice"])
	}
	msgs := body["messages"].([]any)
	wantAssistant := map[string]any{"role": "assistant", "tool_calls": []any{map[string]any{"id": "call_1", "type": "function",
		"function": map[string]any{"name": "get_weather", "arguments": romeArgs}}}}
	if !reflect.DeepEqual(msgs[2], wantAssistant) {
		t.Errorf("assistant message %v\nwant %v", msgs[2], wantAssistant)
	}
	if want := map[string]any{"role": "tool", "tool_call_id": "call_1", "content": "18°C"}; !reflect.DeepEqual(msgs[3], want) {
		t.Errorf("tool message %v", msgs[3])
	}

	req.ToolChoice, req.ForceTool = llm.ToolChoiceNone, ""
	if _, _, err := stream(context.Background(), m, req); err != nil {
		t.Fatal(err)
	}
	if c := u.requests()[1].Body["tool_choice"]; c != "none" {
		t.Errorf("tool_choice %v, want none", c)
	}
}

func TestToolCallsStreamed(t *testing.T) {
	calls := []llm.ToolCall{{ID: "call_a", Name: "get_weather", Arguments: parisArgs}, {ID: "call_b", Name: "get_weather", Arguments: romeArgs}}
	tests := []struct {
		name   string
		chunks []string
		finish string
		want   []llm.ToolCall
	}{
		{"two calls one after the other, arguments in pieces", append(append(
			[]string{chunk("", ""), toolChunk(0, "call_a", "get_weather", "")},
			toolPieces(0, parisArgs)...),
			append([]string{toolChunk(1, "call_b", "get_weather", "")}, toolPieces(1, romeArgs)...)...),
			"tool_calls", calls},
		{"interleaved", []string{
			toolChunk(0, "call_a", "get_weather", `{"city":`), toolChunk(1, "call_b", "get_weather", `{"city":`),
			toolChunk(0, "", "", `"Paris","days":3,`), toolChunk(1, "", "", `"Rome"}`), toolChunk(0, "", "", `"units":"metric"}`),
		}, "tool_calls", calls},
		{"every call at index 0, finish stop (Ollama)", []string{
			toolChunk(0, "call_a", "get_weather", parisArgs), toolChunk(0, "call_b", "get_weather", romeArgs),
		}, "stop", calls},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newUpstream(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
				startStream(w)
				send(w, tt.chunks...)
				send(w, chunk("", tt.finish), usageChunk(20, 30), "[DONE]")
			})
			deltas, res, err := stream(context.Background(), newModel(u, openai.Config{}), conversation())
			if err != nil {
				t.Fatal(err)
			}
			want := llm.Result{FinishReason: llm.FinishToolCalls, Usage: llm.Usage{PromptTokens: 20, CompletionTokens: 30, TotalTokens: 50}, ToolCalls: tt.want}
			if len(deltas) != 0 || !reflect.DeepEqual(res, want) {
				t.Errorf("deltas %q, result %+v\nwant %+v", deltas, res, want)
			}
		})
	}
}

// toolPieces streams a call's arguments three bytes at a time.
func toolPieces(index int, args string) []string {
	var out []string
	for _, p := range pieces(args, 3) {
		out = append(out, toolChunk(index, "", "", p))
	}
	return out
}
