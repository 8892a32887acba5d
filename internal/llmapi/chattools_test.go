package llmapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/app/apptest"
)

const completionsWeatherTool = `{"type":"function","function":{"name":"get_weather","description":"The weather in a city",
	"parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]},"strict":true}}`

// fastSim is an open development server whose simulated model answers at once.
func fastSim(t *testing.T) *apptest.Server {
	return apptest.NewServer(t, func(c *app.Config) {
		c.SimTTFT, c.SimTokensPerSec = time.Millisecond, 5000
	})
}

// toolRequest is a chat completion request offering get_weather.
func toolRequest(stream bool, choice string, messages ...string) string {
	extra := ""
	if choice != "" {
		extra = `,"tool_choice":` + choice
	}
	s := "false"
	if stream {
		s = "true"
	}
	return `{"model":"ssehub-sim","stream":` + s + `,"tools":[` + completionsWeatherTool + `]` + extra +
		`,"messages":[` + strings.Join(messages, ",") + `]}`
}

const askWeather = `{"role":"user","content":"What is the weather in Paris? Use get_weather."}`

type wireCall struct {
	Index    *int   `json:"index"`
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string  `json:"name"`
		Arguments *string `json:"arguments"`
	} `json:"function"`
}

type completionJSON struct {
	Choices []struct {
		Message struct {
			Role      string     `json:"role"`
			Content   *string    `json:"content"`
			ToolCalls []wireCall `json:"tool_calls"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
}

// complete asks for a non-streamed completion, failing on any status but 200.
func complete(t *testing.T, s *apptest.Server, body string) completionJSON {
	t.Helper()
	status, answer := call(t, s, http.MethodPost, "/v1/chat/completions", "", body)
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, answer)
	}
	var c completionJSON
	if err := json.Unmarshal([]byte(answer), &c); err != nil || len(c.Choices) != 1 {
		t.Fatalf("answer %s: %v", answer, err)
	}
	return c
}

func TestChatToolCall(t *testing.T) {
	s := fastSim(t)
	c := complete(t, s, toolRequest(false, "", askWeather))
	ch := c.Choices[0]
	if ch.FinishReason != "tool_calls" || ch.Message.Content != nil || len(ch.Message.ToolCalls) != 1 {
		t.Fatalf("answer %+v, want one call, content null, finish tool_calls", ch)
	}
	tc := ch.Message.ToolCalls[0]
	if !strings.HasPrefix(tc.ID, "call_") || tc.Type != "function" || tc.Function.Name != "get_weather" || tc.Index != nil {
		t.Errorf("call %+v", tc)
	}
	var args map[string]string
	if err := json.Unmarshal([]byte(*tc.Function.Arguments), &args); err != nil || !strings.Contains(args["city"], "Paris") {
		t.Errorf("arguments %q: %v", *tc.Function.Arguments, err)
	}

	// The tool's output continues the turn.
	assistant := `{"role":"assistant","content":null,"tool_calls":[{"id":"` + tc.ID +
		`","type":"function","function":{"name":"get_weather","arguments":` + jsonString(*tc.Function.Arguments) + `}}]}`
	tool := `{"role":"tool","tool_call_id":"` + tc.ID + `","content":"18°C, sunny"}`
	c = complete(t, s, toolRequest(false, "", askWeather, assistant, tool))
	if got := c.Choices[0]; got.FinishReason != "stop" || got.Message.Content == nil || *got.Message.Content != "get_weather returned: 18°C, sunny" {
		t.Errorf("follow-up %+v", got)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestChatToolChoice(t *testing.T) {
	s := fastSim(t)
	const plain = `{"role":"user","content":"Tell me about Paris."}`
	tests := []struct {
		name, choice, msg string
		call              bool
	}{
		{"auto, not named", `"auto"`, plain, false},
		{"none, named", `"none"`, askWeather, false},
		{"required", `"required"`, plain, true},
		{"a function", `{"type":"function","function":{"name":"get_weather"}}`, plain, true},
	}
	for _, tt := range tests {
		ch := complete(t, s, toolRequest(false, tt.choice, tt.msg)).Choices[0]
		if called := len(ch.Message.ToolCalls) == 1 && ch.FinishReason == "tool_calls"; called != tt.call {
			t.Errorf("%s: answer %+v, want a call: %v", tt.name, ch, tt.call)
		}
	}
}

func TestChatToolsInvalid(t *testing.T) {
	s := fastSim(t)
	tests := []struct{ name, body, want string }{
		{"custom tool", `{"model":"ssehub-sim","tools":[{"type":"custom","custom":{"name":"x"}}],"messages":[` + askWeather + `]}`, `\"custom\" is not supported`},
		{"no function", `{"model":"ssehub-sim","tools":[{"type":"function"}],"messages":[` + askWeather + `]}`, "tools[0].function"},
		{"allowed tools", toolRequest(false, `{"type":"allowed_tools","allowed_tools":{}}`, askWeather), `\"allowed_tools\" is not supported`},
		{"unknown tool", toolRequest(false, `{"type":"function","function":{"name":"nope"}}`, askWeather), `no tool is named \"nope\"`},
		{"bad choice", toolRequest(false, `"sometimes"`, askWeather), "tool_choice"},
		{"call without id", toolRequest(false, "", askWeather, `{"role":"assistant","tool_calls":[{"type":"function","function":{"name":"get_weather","arguments":"{}"}}]}`), "needs an id"},
		{"tool without call id", toolRequest(false, "", askWeather, `{"role":"tool","content":"x"}`), "id of its call"},
	}
	for _, tt := range tests {
		status, body := call(t, s, http.MethodPost, "/v1/chat/completions", "", tt.body)
		if status != http.StatusBadRequest || !strings.Contains(body, tt.want) || !strings.Contains(body, "invalid_request_error") {
			t.Errorf("%s: %d %s, want 400 with %q", tt.name, status, body, tt.want)
		}
	}
}

type chunkJSON struct {
	Choices []struct {
		Delta struct {
			Role      *string    `json:"role"`
			Content   *string    `json:"content"`
			ToolCalls []wireCall `json:"tool_calls"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
}

// streamChunks asks for a streamed completion and returns its chunks,
// checking that it ends with [DONE].
func streamChunks(t *testing.T, s *apptest.Server, body string) []chunkJSON {
	t.Helper()
	status, answer := call(t, s, http.MethodPost, "/v1/chat/completions", "", body)
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, answer)
	}
	events := strings.Split(strings.TrimSpace(answer), "\n\n")
	if last := events[len(events)-1]; last != "data: [DONE]" {
		t.Fatalf("last event %q", last)
	}
	var out []chunkJSON
	for _, ev := range events[:len(events)-1] {
		var c chunkJSON
		if err := json.Unmarshal([]byte(strings.TrimPrefix(ev, "data: ")), &c); err != nil || len(c.Choices) != 1 {
			t.Fatalf("event %q: %v", ev, err)
		}
		out = append(out, c)
	}
	return out
}

func TestChatToolCallStreamed(t *testing.T) {
	s := fastSim(t)
	want := complete(t, s, toolRequest(false, "", askWeather)).Choices[0].Message.ToolCalls[0]
	chunks := streamChunks(t, s, toolRequest(true, "", askWeather))
	if len(chunks) < 4 {
		t.Fatalf("%d chunks, want a first, argument pieces and a finish", len(chunks))
	}
	first := chunks[0].Choices[0].Delta
	if first.Role == nil || *first.Role != "assistant" || first.Content != nil || len(first.ToolCalls) != 0 {
		t.Fatalf("first chunk %+v, want the role and content null", first)
	}
	chunks = chunks[1:]
	if len(chunks[0].Choices[0].Delta.ToolCalls) != 1 {
		t.Fatalf("second chunk %+v, want the call", chunks[0])
	}
	head := chunks[0].Choices[0].Delta.ToolCalls[0]
	if head.Index == nil || *head.Index != 0 || head.ID != want.ID || head.Type != "function" ||
		head.Function.Name != "get_weather" || head.Function.Arguments == nil || *head.Function.Arguments != "" {
		t.Fatalf("first call chunk %+v", head)
	}
	var args strings.Builder
	for _, c := range chunks[1 : len(chunks)-1] {
		d := c.Choices[0].Delta
		if len(d.ToolCalls) != 1 || d.ToolCalls[0].ID != "" || d.ToolCalls[0].Function.Arguments == nil || c.Choices[0].FinishReason != nil {
			t.Fatalf("argument chunk %+v", c)
		}
		args.WriteString(*d.ToolCalls[0].Function.Arguments)
	}
	if args.String() != *want.Function.Arguments {
		t.Errorf("streamed arguments %q, want %q", args.String(), *want.Function.Arguments)
	}
	if f := chunks[len(chunks)-1].Choices[0].FinishReason; f == nil || *f != "tool_calls" {
		t.Errorf("finish %v, want tool_calls", f)
	}
}
