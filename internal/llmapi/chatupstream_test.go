package llmapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/app/apptest"
)

// fakeUpstream is a loopback OpenAI upstream that calls get_weather with
// arguments in pieces, over Chat Completions or the Responses API, and
// records the first bodies it receives.
type fakeUpstream struct {
	srv    *httptest.Server
	bodies chan map[string]any
}

const upstreamArgs = `{"city":"Paris"}`

func newFakeUpstream(t *testing.T) *fakeUpstream {
	u := &fakeUpstream{bodies: make(chan map[string]any, 8)}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &body)
		select {
		case u.bodies <- body:
		default: // nobody reads them: a test that counts no requests
		}
		w.Header().Set("Content-Type", "text/event-stream")
		switch r.URL.Path {
		case "/v1/chat/completions":
			u.chat(w)
		case "/v1/responses":
			u.responses(w)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *fakeUpstream) chat(w http.ResponseWriter) {
	chunk := func(delta map[string]any, finish any) {
		fmt.Fprintf(w, "data: %s\n\n", mustJSON(map[string]any{"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "up",
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}}))
	}
	chunk(map[string]any{"role": "assistant", "content": nil, "tool_calls": []any{map[string]any{"index": 0, "id": "call_up", "type": "function",
		"function": map[string]any{"name": "get_weather", "arguments": ""}}}}, nil)
	for _, p := range []string{`{"ci`, `ty":"Pa`, `ris"}`} {
		chunk(map[string]any{"tool_calls": []any{map[string]any{"index": 0, "function": map[string]any{"arguments": p}}}}, nil)
	}
	chunk(map[string]any{}, "tool_calls")
	fmt.Fprint(w, "data: [DONE]\n\n")
}

func (u *fakeUpstream) responses(w http.ResponseWriter) {
	event := func(typ string, v map[string]any) {
		v["type"] = typ
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", typ, mustJSON(v))
	}
	item := map[string]any{"type": "function_call", "id": "fc_1", "call_id": "call_up", "name": "get_weather", "arguments": upstreamArgs, "status": "completed"}
	event("response.created", map[string]any{"response": map[string]any{"id": "r", "status": "in_progress"}})
	event("response.function_call_arguments.delta", map[string]any{"item_id": "fc_1", "output_index": 0, "delta": upstreamArgs})
	event("response.output_item.done", map[string]any{"output_index": 0, "item": item})
	event("response.completed", map[string]any{"response": map[string]any{"id": "r", "status": "completed",
		"usage": map[string]any{"input_tokens": 5, "output_tokens": 3, "total_tokens": 8}}})
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestChatToolsThroughUpstream: a chat completion with tools, routed to an
// upstream speaking either API, reaches it with the tools and streams its
// call back in OpenAI's shape.
func TestChatToolsThroughUpstream(t *testing.T) {
	for _, api := range []string{app.UpstreamChat, app.UpstreamResponses} {
		t.Run(api, func(t *testing.T) {
			u := newFakeUpstream(t)
			s := apptest.NewServer(t, func(c *app.Config) {
				c.LLMBaseURL, c.LLMModel, c.LLMUpstreamAPI = u.srv.URL+"/v1", "up", api
			})
			body := strings.Replace(toolRequest(true, `"required"`, askWeather), `"ssehub-sim"`, `"up"`, 1)
			chunks := streamChunks(t, s, body)
			sent := <-u.bodies
			if tools, _ := sent["tools"].([]any); len(tools) != 1 || sent["tool_choice"] != "required" {
				t.Errorf("upstream got tools %v, tool_choice %v", sent["tools"], sent["tool_choice"])
			}
			chunks = chunks[1:] // the role
			first := chunks[0].Choices[0].Delta
			if len(first.ToolCalls) != 1 || first.ToolCalls[0].ID != "call_up" || first.ToolCalls[0].Function.Name != "get_weather" {
				t.Fatalf("first chunk %+v", first)
			}
			var args strings.Builder
			for _, c := range chunks[1 : len(chunks)-1] {
				args.WriteString(*c.Choices[0].Delta.ToolCalls[0].Function.Arguments)
			}
			if f := chunks[len(chunks)-1].Choices[0].FinishReason; args.String() != upstreamArgs || f == nil || *f != "tool_calls" {
				t.Errorf("arguments %q finish %v", args.String(), f)
			}
		})
	}
}
