package llmapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/llm"
	"github.com/ssehub/ssehub/internal/llm/sim"
)

// simText is what the simulated model answers to msgs.
func simText(t *testing.T, maxTokens int, msgs ...llm.Message) string {
	t.Helper()
	text, _, err := sim.New(sim.Config{}).Complete(llm.Request{Messages: msgs, MaxTokens: maxTokens})
	if err != nil {
		t.Fatal(err)
	}
	return text
}

// TestResponseContinuesAConversation: previous_response_id continues the
// earlier response's conversation, its input and output, read back from
// history: the model answers the whole conversation.
func TestResponseContinuesAConversation(t *testing.T) {
	s := respServer(t, nil)
	_, r1 := jsonCall(t, s, http.MethodPost, "/v1/responses", "", `{"input":[{"role":"user","content":"Tell me about SSE"}],"max_output_tokens":10}`)
	first := outputText(r1)
	if want := simText(t, 10, llm.Message{Role: "user", Content: "Tell me about SSE"}); first != want {
		t.Fatalf("first answer %q, want %q", first, want)
	}
	body := `{"input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"And WebSockets?"}]}],"max_output_tokens":10,"previous_response_id":"` + r1["id"].(string) + `"}`
	_, r2 := jsonCall(t, s, http.MethodPost, "/v1/responses", "", body)
	want := simText(t, 10, llm.Message{Role: "user", Content: "Tell me about SSE"}, llm.Message{Role: "assistant", Content: first},
		llm.Message{Role: "user", Content: "And WebSockets?"})
	alone := simText(t, 10, llm.Message{Role: "user", Content: "And WebSockets?"})
	if got := outputText(r2); got != want || got == alone || r2["previous_response_id"] != r1["id"] {
		t.Errorf("continued answer %q, want %q (alone: %q); %v", got, want, alone, r2)
	}
	// An item_reference to the first answer's message (as the AI SDK
	// sends) stands for it.
	msgID := r1["output"].([]any)[0].(map[string]any)["id"].(string)
	body = `{"input":[{"role":"user","content":"Tell me about SSE"},{"type":"item_reference","id":"` + msgID + `"},{"role":"user","content":"And WebSockets?"}],"max_output_tokens":10}`
	if _, r3 := jsonCall(t, s, http.MethodPost, "/v1/responses", "", body); outputText(r3) != want {
		t.Errorf("with an item_reference: %q, want %q", outputText(r3), want)
	}
	for _, ref := range []string{"msg_nope", "fc_" + msgID[4:] + "_7", "rs_1"} {
		body = `{"input":[{"role":"user","content":"hi"},{"type":"item_reference","id":"` + ref + `"}]}`
		if status, answer := call(t, s, http.MethodPost, "/v1/responses", "", body); status != 400 || !strings.Contains(answer, "no such item") {
			t.Errorf("item_reference %s: %d %s", ref, status, answer)
		}
	}
}

// weatherTool is a Responses function tool.
const weatherTool = `[{"type":"function","name":"get_weather","description":"Weather of a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}]`

// TestResponseToolRoundTrip: the model calls a tool (a function_call
// output item); its output sent back, as function_call_output with the
// call in the input or after previous_response_id, gets the final text.
func TestResponseToolRoundTrip(t *testing.T) {
	s := respServer(t, nil)
	_, r1 := jsonCall(t, s, http.MethodPost, "/v1/responses", "", `{"input":"What is the weather in Paris? Use get_weather.","tools":`+weatherTool+`}`)
	out := r1["output"].([]any)
	if len(out) != 1 || r1["status"] != "completed" {
		t.Fatalf("tool call response %v", r1)
	}
	fc := out[0].(map[string]any)
	if fc["type"] != "function_call" || fc["name"] != "get_weather" || !strings.HasPrefix(fc["id"].(string), "fc_") || fc["status"] != "completed" {
		t.Fatalf("function call %v", fc)
	}
	var args map[string]string
	if err := json.Unmarshal([]byte(fc["arguments"].(string)), &args); err != nil || args["city"] == "" {
		t.Fatalf("arguments %v: %v", fc["arguments"], err)
	}
	callJSON, _ := json.Marshal(map[string]any{"type": "function_call", "call_id": fc["call_id"], "name": "get_weather", "arguments": fc["arguments"], "id": fc["id"]})
	output := `{"type":"function_call_output","call_id":"` + fc["call_id"].(string) + `","output":"18°C, sunny"}`
	bodies := map[string]string{
		"whole input":          `{"input":[{"role":"user","content":"What is the weather in Paris? Use get_weather."},` + string(callJSON) + `,` + output + `],"tools":` + weatherTool + `}`,
		"previous_response_id": `{"previous_response_id":"` + r1["id"].(string) + `","input":[` + output + `],"tools":` + weatherTool + `}`,
		"item_reference":       `{"input":[{"role":"user","content":"What is the weather in Paris? Use get_weather."},{"type":"item_reference","id":"` + fc["id"].(string) + `"},` + output + `],"tools":` + weatherTool + `}`,
	}
	for name, body := range bodies {
		evs := stream(t, s, http.MethodPost, "/v1/responses", "", strings.Replace(body, `{"`, `{"stream":true,"`, 1))
		text, final := checkSequence(t, evs)
		if text != "get_weather returned: 18°C, sunny" || final["status"] != "completed" {
			t.Errorf("%s: %q %v", name, text, final)
		}
	}
}

// TestResponseBadInput: what cannot be a response is refused in OpenAI's
// error shape, naming the fault.
func TestResponseBadInput(t *testing.T) {
	s := respServer(t, func(c *app.Config) { c.MaxBodyBytes = 4096 })
	tests := []struct {
		name, body string
		status     int
		want       string
	}{
		{"not JSON", `{"input":`, 400, "malformed JSON"},
		{"no input", `{"model":"ssehub-sim"}`, 400, "input: missing"},
		{"empty input", `{"input":[]}`, 400, "input: the list is empty"},
		{"unknown item", `{"input":[{"type":"reasoning","summary":[]}]}`, 400, `input[0]: items of type \"reasoning\"`},
		{"image part", `{"input":[{"role":"user","content":[{"type":"input_image","image_url":"x"}]}]}`, 400, `\"input_image\"`},
		{"bad role", `{"input":[{"role":"robot","content":"hi"}]}`, 400, `role \"robot\"`},
		{"no user", `{"input":[{"role":"system","content":"hi"}]}`, 400, "no user message"},
		{"hosted tool", `{"input":"hi","tools":[{"type":"web_search"}]}`, 400, `tools of type \"web_search\"`},
		{"bad tool choice", `{"input":"hi","tool_choice":{"type":"file_search"}}`, 400, "tool_choice"},
		{"unknown model", `{"input":"hi","model":"gpt-9"}`, 404, "gpt-9"},
		{"unknown previous", `{"input":"hi","previous_response_id":"resp_nope"}`, 400, "Previous response with id 'resp_nope' not found."},
	}
	for _, tt := range tests {
		status, body := call(t, s, http.MethodPost, "/v1/responses", "", tt.body)
		if status != tt.status || !strings.Contains(body, tt.want) || !strings.Contains(body, `"error":{"message":`) {
			t.Errorf("%s: %d %s, want %d with %q", tt.name, status, body, tt.status, tt.want)
		}
	}
	// Unannounced (chunked), an over-long body is cut by the handler;
	// announced, the hub refuses it before routing: OpenAI's shape both
	// ways.
	long := `{"input":"` + strings.Repeat("a", 5000) + `"}`
	resp, err := s.Client.Post(s.URL+"/v1/responses", "application/json", io.MultiReader(strings.NewReader(long)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), "invalid_request_error") {
		t.Errorf("too long, chunked: %d %s", resp.StatusCode, b)
	}
	for _, path := range []string{"/v1/responses", "/v1/chat/completions"} {
		if status, body := call(t, s, http.MethodPost, path, "", long); status != http.StatusRequestEntityTooLarge || !strings.Contains(body, `"type":"invalid_request_error"`) {
			t.Errorf("too long, announced, %s: %d %s", path, status, body)
		}
	}
	for _, path := range []string{"/v1/responses/resp_0123", "/v1/responses/nope", "/v1/responses/resp_x.deleted", "/v1/responses/resp_0123?stream=true"} {
		if status, body := call(t, s, http.MethodGet, path, "", ""); status != 404 || !strings.Contains(body, "not found") {
			t.Errorf("GET %s: %d %s", path, status, body)
		}
	}
}
