package llmapi_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"
)

// chatWeatherTool is the body's tools, as a page's transport sends them.
const chatWeatherTool = `,"tools":[{"name":"get_weather","description":"the weather of a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}]`

// TestUIChatToolRoundTrip: offered a tool in the body and asked about it,
// the model calls it: tool-input-start, -delta and -available, then finish
// "tool-calls". The next turn sends the assistant message with the tool's
// output; the answer continues that message (same id) with the model's
// reading of the output, GET lists the message with both, and a resume of
// it rebuilds the whole message, the tool's output included.
func TestUIChatToolRoundTrip(t *testing.T) {
	e := newChatEnv(t, 2000, nil)
	const q = "What does get weather say for Paris?"
	st := e.stream(t, within(t, 10*time.Second), http.MethodPost, "/api/chat", e.alice, chatBody("tools", q, chatWeatherTool))
	cs := st.rest(t)
	st.close()
	want := []string{"start", "start-step", "tool-input-start", "tool-input-delta", "tool-input-available", "finish-step", "finish"}
	if got := chunkTypes(cs); !slices.Equal(got, want) {
		t.Fatalf("parts %v, want %v", got, want)
	}
	call1 := cs[4]
	var input struct{ City string }
	if err := json.Unmarshal(call1.Input, &input); err != nil || call1.ToolName != "get_weather" || call1.ToolCallID == "" || input.City != q {
		t.Errorf("tool-input-available %+v (%v), want get_weather with the city", call1, err)
	}
	if cs[6].FinishReason != "tool-calls" {
		t.Errorf("finish %+v, want tool-calls", cs[6])
	}

	// The page adds the tool's output to the assistant message and sends.
	msgs := []any{
		map[string]any{"id": "u1", "role": "user", "parts": []any{map[string]any{"type": "text", "text": q}}},
		map[string]any{"id": cs[0].MessageID, "role": "assistant", "parts": []any{
			map[string]any{"type": "step-start"},
			map[string]any{"type": "tool-get_weather", "toolCallId": call1.ToolCallID, "state": "output-available", "input": input, "output": "sunny, 21°C"},
		}},
	}
	b, _ := json.Marshal(map[string]any{"id": "tools", "trigger": "submit-message", "messages": msgs})
	st = e.stream(t, within(t, 10*time.Second), http.MethodPost, "/api/chat", e.alice, string(b)[:len(b)-1]+chatWeatherTool+"}")
	cs = st.rest(t)
	st.close()
	want = []string{"start", "start-step", "text-start", "text-delta", "text-end", "finish-step", "finish"}
	if got := chunkTypes(cs); !slices.Equal(got, want) || cs[0].MessageID != msgs[1].(map[string]any)["id"] {
		t.Fatalf("continued parts %v (start %+v), want %v continuing the assistant message", got, cs[0], want)
	}
	if text := deltas(cs); text != "get_weather returned: sunny, 21°C" {
		t.Errorf("answer %q, want the model's reading of the output", text)
	}

	v := e.getChat(t, http.MethodGet, "/api/chat/tools")
	if len(v.Messages) != 2 {
		t.Fatalf("GET: %+v, want the question and one assistant message", v)
	}
	var kinds []string
	for _, p := range v.Messages[1].Parts {
		kinds = append(kinds, p["type"].(string))
	}
	if want := []string{"step-start", "tool-get_weather", "step-start", "text"}; !slices.Equal(kinds, want) || v.text() != deltas(cs) {
		t.Errorf("assistant parts %v (%q), want %v", kinds, v.text(), want)
	}
}

// TestUIChatResumesAContinuedMessage: a resume of an answer that continues
// a message after a tool's output rebuilds the whole message from nothing
// (useChat's replay starts it over): the earlier step with the tool's call
// and output, then the running step.
func TestUIChatResumesAContinuedMessage(t *testing.T) {
	e := newChatEnv(t, 4, nil)
	body := `{"id":"cont","messages":[{"id":"u1","role":"user","parts":[{"type":"text","text":"call get_weather"}]},` +
		`{"id":"a1","role":"assistant","parts":[{"type":"step-start"},{"type":"tool-get_weather","toolCallId":"call_1","state":"output-available","input":{"city":"Oslo"},"output":{"sky":"grey"}}]}]` +
		chatWeatherTool + `}`
	st := e.stream(t, within(t, 20*time.Second), http.MethodPost, "/api/chat", e.alice, body)
	defer st.close()
	re := e.stream(t, within(t, 20*time.Second), http.MethodGet, "/api/chat/cont/stream", e.alice, "")
	defer re.close()
	cs := re.rest(t)
	want := []string{"start", "start-step", "tool-input-available", "tool-output-available", "finish-step",
		"start-step", "text-start", "text-delta", "text-end", "finish-step", "finish"}
	if got := chunkTypes(cs); !slices.Equal(got, want) || cs[0].MessageID != "a1" || cs[2].ToolCallID != "call_1" {
		t.Fatalf("resumed parts %v (start %+v), want %v", got, cs[0], want)
	}
	if got, posted := deltas(cs), deltas(st.rest(t)); got != `get_weather returned: {"sky":"grey"}` || got != posted {
		t.Errorf("resumed text %q, posted %q: want the model's reading of the output once", got, posted)
	}
}
