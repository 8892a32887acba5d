package sim_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ssehub/ssehub/internal/llm"
	"github.com/ssehub/ssehub/internal/llm/sim"
)

var weather = llm.Tool{Name: "get_weather", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"},"metric":{"type":["boolean","null"]},"extra":{"type":"object"}}}`)}
var clock = llm.Tool{Name: "time-now", Parameters: json.RawMessage(`{"type":"object","properties":{}}`)}

func TestToolRule(t *testing.T) {
	m := sim.New(fast)
	for _, tc := range []struct {
		name, prompt, choice, force string
		want                        string // the tool called, "" for text
	}{
		{"named", "Use get_weather for Paris", "", "", "get_weather"},
		{"named with spaces", "what is the TIME NOW?", "auto", "", "time-now"},
		{"not named", "Tell me about Paris", "", "", ""},
		{"none", "Use get_weather for Paris", "none", "", ""},
		{"required picks the named one", "what is the time now", "required", "", "time-now"},
		{"required picks the first", "Tell me about Paris", "required", "", "get_weather"},
		{"forced", "Use get_weather for Paris", "required", "time-now", "time-now"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := request(tc.prompt, 1)
			req.Tools, req.ToolChoice, req.ForceTool = []llm.Tool{weather, clock}, tc.choice, tc.force
			deltas, res := collect(t, m, req)
			if tc.want == "" {
				if len(res.ToolCalls) != 0 || len(deltas) == 0 || res.FinishReason != llm.FinishStop {
					t.Fatalf("want text, got %d deltas, calls %+v, finish %q", len(deltas), res.ToolCalls, res.FinishReason)
				}
				return
			}
			if len(deltas) != 0 || len(res.ToolCalls) != 1 || res.ToolCalls[0].Name != tc.want || res.FinishReason != llm.FinishToolCalls {
				t.Fatalf("want a call of %s alone, got deltas %q, calls %+v, finish %q", tc.want, deltas, res.ToolCalls, res.FinishReason)
			}
			if !strings.HasPrefix(res.ToolCalls[0].ID, "call_") {
				t.Errorf("call id %q", res.ToolCalls[0].ID)
			}
			_, again := collect(t, m, req)
			if again.ToolCalls[0] != res.ToolCalls[0] {
				t.Errorf("not deterministic: %+v then %+v", res.ToolCalls[0], again.ToolCalls[0])
			}
		})
	}
}

func TestToolArguments(t *testing.T) {
	req := request("Use get_weather for Paris", 1)
	req.Tools = []llm.Tool{weather}
	_, res := collect(t, sim.New(fast), req)
	want := `{"city":"Use get_weather for Paris","days":1,"metric":true}`
	if got := res.ToolCalls[0].Arguments; got != want {
		t.Fatalf("arguments %s, want %s", got, want)
	}
}

func TestToolOutputContinuesTheTurn(t *testing.T) {
	req := request("Use get_weather for Paris", 1)
	req.Tools = []llm.Tool{weather}
	_, res := collect(t, sim.New(fast), req)
	call := res.ToolCalls[0]
	req.Messages = append(req.Messages,
		llm.Message{Role: "assistant", ToolCalls: []llm.ToolCall{call}},
		llm.Message{Role: "tool", ToolCallID: call.ID, Content: `{"temp":21}`})
	deltas, res := collect(t, sim.New(fast), req)
	if got, want := strings.Join(deltas, ""), `get_weather returned: {"temp":21}`; got != want || res.FinishReason != llm.FinishStop || len(res.ToolCalls) != 0 {
		t.Fatalf("answer %q (finish %q, calls %d), want %q", got, res.FinishReason, len(res.ToolCalls), want)
	}
}
