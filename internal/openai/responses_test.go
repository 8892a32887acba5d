package openai_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ssehub/ssehub/internal/llm"
	"github.com/ssehub/ssehub/internal/openai"
)

// newResponses is a Responses upstream talking to u.
func newResponses(u *upstream) *openai.Responses {
	return openai.NewResponses(openai.Config{BaseURL: u.baseURL(), HTTPClient: u.client, APIKey: "sk-test",
		Model: "test-model", Logger: slog.New(slog.DiscardHandler)})
}

// rEvent writes one event of a Responses stream: its type as the event
// name and in the data, as OpenAI sends them.
func rEvent(w http.ResponseWriter, seq *int, typ string, fields map[string]any) {
	fields["type"], fields["sequence_number"] = typ, *seq
	*seq++
	fmt.Fprintf(w, "event: %s\ndata: %s\n\n", typ, mustJSON(fields))
	w.(http.Flusher).Flush()
}

// response is a response object with status and, when ended, usage.
func response(status string, usage bool, extra map[string]any) map[string]any {
	r := map[string]any{"id": "resp_1", "object": "response", "created_at": 1700000000, "status": status,
		"model": "test-model", "output": []any{}, "error": nil, "incomplete_details": nil}
	if usage {
		r["usage"] = map[string]any{"input_tokens": 11, "output_tokens": 7, "total_tokens": 18,
			"input_tokens_details": map[string]any{"cached_tokens": 0}, "output_tokens_details": map[string]any{"reasoning_tokens": 0}}
	}
	for k, v := range extra {
		r[k] = v
	}
	return r
}

// rScript answers with a Responses stream: created, then body, then end
// (an event type, or "" for none).
func rScript(body func(w http.ResponseWriter, seq *int), end string, extra map[string]any) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, _ *http.Request, _ int) {
		startStream(w)
		seq := 0
		rEvent(w, &seq, "response.created", map[string]any{"response": response("in_progress", false, nil)})
		body(w, &seq)
		switch end {
		case "response.completed":
			rEvent(w, &seq, end, map[string]any{"response": response("completed", true, nil)})
		case "response.incomplete", "response.failed":
			rEvent(w, &seq, end, map[string]any{"response": response(strings.TrimPrefix(end, "response."), true, extra)})
		case "error":
			rEvent(w, &seq, end, extra)
		}
	}
}

// rText streams texts as one output message.
func rText(texts ...string) func(http.ResponseWriter, *int) {
	return func(w http.ResponseWriter, seq *int) {
		rEvent(w, seq, "response.output_item.added", map[string]any{"output_index": 0,
			"item": map[string]any{"type": "message", "id": "msg_1", "status": "in_progress", "role": "assistant", "content": []any{}}})
		for _, t := range texts {
			rEvent(w, seq, "response.output_text.delta", map[string]any{"item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": t, "logprobs": []any{}})
		}
		rEvent(w, seq, "response.output_text.done", map[string]any{"item_id": "msg_1", "output_index": 0, "content_index": 0, "text": strings.Join(texts, ""), "logprobs": []any{}})
	}
}

// rCall streams a function call: added, its arguments in two deltas, done.
func rCall(index int, callID, name, args string) func(http.ResponseWriter, *int) {
	return func(w http.ResponseWriter, seq *int) {
		item := map[string]any{"type": "function_call", "id": "fc_" + callID, "call_id": callID, "name": name, "arguments": "", "status": "in_progress"}
		rEvent(w, seq, "response.output_item.added", map[string]any{"output_index": index, "item": item})
		half := len(args) / 2
		for _, d := range []string{args[:half], args[half:]} {
			rEvent(w, seq, "response.function_call_arguments.delta", map[string]any{"item_id": item["id"], "output_index": index, "delta": d})
		}
		rEvent(w, seq, "response.function_call_arguments.done", map[string]any{"item_id": item["id"], "output_index": index, "arguments": args})
		done := map[string]any{}
		for k, v := range item {
			done[k] = v
		}
		done["arguments"], done["status"] = args, "completed"
		rEvent(w, seq, "response.output_item.done", map[string]any{"output_index": index, "item": done})
	}
}

func both(fs ...func(http.ResponseWriter, *int)) func(http.ResponseWriter, *int) {
	return func(w http.ResponseWriter, seq *int) {
		for _, f := range fs {
			f(w, seq)
		}
	}
}

func streamResponses(r *openai.Responses, req llm.Request) ([]string, llm.Result, error) {
	var deltas []string
	res, err := r.Stream(context.Background(), req, func(d string) error {
		deltas = append(deltas, d)
		return nil
	})
	return deltas, res, err
}

func TestResponsesText(t *testing.T) {
	u := newUpstream(t, rScript(rText("Hel", "lo", "!"), "response.completed", nil))
	req := conversation()
	temp := 0.3
	req.MaxTokens, req.Temperature = 50, &temp
	req.Tools = []llm.Tool{{Name: "get_weather", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`), Strict: true}, {Name: "now"}}
	req.ToolChoice = llm.ToolChoiceAuto
	req.Messages = append(req.Messages,
		llm.Message{Role: "assistant", ToolCalls: []llm.ToolCall{{ID: "call_1", Name: "get_weather", Arguments: romeArgs}}},
		llm.Message{Role: "tool", ToolCallID: "call_1", Content: "18°C"})
	deltas, res, err := streamResponses(newResponses(u), req)
	if err != nil {
		t.Fatal(err)
	}
	want := llm.Result{FinishReason: llm.FinishStop, Usage: llm.Usage{PromptTokens: 11, CompletionTokens: 7, TotalTokens: 18}}
	if !slices.Equal(deltas, []string{"Hel", "lo", "!"}) || !reflect.DeepEqual(res, want) {
		t.Errorf("deltas %q result %+v", deltas, res)
	}
	got := u.requests()[0]
	if got.Path != "/v1/responses" || got.Auth != "Bearer sk-test" {
		t.Errorf("request to %s with %q", got.Path, got.Auth)
	}
	wantBody := map[string]any{
		"model": "test-model", "stream": true, "store": false, "max_output_tokens": 50.0, "temperature": 0.3, "tool_choice": "auto",
		"input": []any{
			map[string]any{"role": "system", "content": "Be brief."},
			map[string]any{"role": "user", "content": "Say hello"},
			map[string]any{"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": romeArgs},
			map[string]any{"type": "function_call_output", "call_id": "call_1", "output": "18°C"},
		},
		"tools": []any{
			map[string]any{"type": "function", "name": "get_weather", "strict": true, "parameters": map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}},
			map[string]any{"type": "function", "name": "now", "strict": false, "parameters": map[string]any{"type": "object", "properties": map[string]any{}}},
		},
	}
	if !reflect.DeepEqual(got.Body, wantBody) {
		t.Errorf("body\n%v\nwant\n%v", got.Body, wantBody)
	}
}

func TestResponsesFunctionCalls(t *testing.T) {
	u := newUpstream(t, rScript(both(rCall(0, "call_a", "get_weather", parisArgs), rCall(1, "call_b", "get_weather", romeArgs)), "response.completed", nil))
	req := conversation()
	req.Tools = []llm.Tool{{Name: "get_weather"}}
	req.ToolChoice, req.ForceTool = llm.ToolChoiceRequired, "get_weather"
	deltas, res, err := streamResponses(newResponses(u), req)
	if err != nil {
		t.Fatal(err)
	}
	want := llm.Result{FinishReason: llm.FinishToolCalls, Usage: llm.Usage{PromptTokens: 11, CompletionTokens: 7, TotalTokens: 18},
		ToolCalls: []llm.ToolCall{{ID: "call_a", Name: "get_weather", Arguments: parisArgs}, {ID: "call_b", Name: "get_weather", Arguments: romeArgs}}}
	if len(deltas) != 0 || !reflect.DeepEqual(res, want) {
		t.Errorf("deltas %q result %+v\nwant %+v", deltas, res, want)
	}
	if c := u.requests()[0].Body["tool_choice"]; !reflect.DeepEqual(c, map[string]any{"type": "function", "name": "get_weather"}) {
		t.Errorf("tool_choice %v", c)
	}
}

func TestResponsesEnds(t *testing.T) {
	tests := []struct {
		name    string
		handle  func(http.ResponseWriter, *http.Request, int)
		finish  string
		kind    llm.ErrorKind // "" for no error
		message string
	}{
		{"incomplete", rScript(rText("a", "b"), "response.incomplete", map[string]any{"incomplete_details": map[string]any{"reason": "max_output_tokens"}}), llm.FinishLength, "", ""},
		{"failed", rScript(rText("a"), "response.failed", map[string]any{"error": map[string]any{"code": "server_error", "message": "The model crashed."}}), "", llm.KindUpstream, "The model crashed."},
		{"rate limited", rScript(rText("a"), "response.failed", map[string]any{"error": map[string]any{"code": "rate_limit_exceeded", "message": "Slow down."}}), "", llm.KindRateLimit, "Slow down."},
		{"error event", rScript(rText("a"), "error", map[string]any{"code": "invalid_prompt", "message": "Bad prompt.", "param": nil}), "", llm.KindUpstream, "Bad prompt."},
		{"cut", rScript(rText("a"), "", nil), "", llm.KindInterrupted, "ended before"},
		{"refused key", fail(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key"), "", llm.KindAuth, "Incorrect API key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, res, err := streamResponses(newResponses(newUpstream(t, tt.handle)), conversation())
			if tt.kind == "" {
				if err != nil || res.FinishReason != tt.finish || res.Usage.TotalTokens != 18 {
					t.Fatalf("result %+v, err %v; want finish %s", res, err, tt.finish)
				}
				return
			}
			var e *llm.Error
			if !errors.As(err, &e) || e.Kind != tt.kind || !strings.Contains(e.Message, tt.message) {
				t.Fatalf("err %v, want kind %s with %q", err, tt.kind, tt.message)
			}
		})
	}
}
