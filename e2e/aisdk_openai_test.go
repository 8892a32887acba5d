package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/llm"
	"github.com/ssehub/ssehub/internal/llm/sim"
)

// TestAISDKOpenAIProvider runs the AI SDK's streamText with
// createOpenAI({baseURL: <hub>/v1}), whose models call the Responses API:
// a text answer, and a tool the SDK executes (a zod schema and execute)
// and whose output it sends back, for the model's final text.
func TestAISDKOpenAIProvider(t *testing.T) {
	srv := startServer(t, serverOptions{configure: func(c *app.Config) {
		c.SimTTFT, c.SimTokensPerSec = 10*time.Millisecond, 2000
	}})
	const prompt, toolPrompt = "Why stream tokens to a browser?", "What is the weather in Paris? Use get_weather."
	raw := nodeScript(t, "aisdk_openai.mjs", srv.URL+"/v1", "ssehub-sim", prompt, toolPrompt)
	var got struct {
		Text struct {
			Streamed, Text, FinishReason string
			Usage                        map[string]any
		}
		Second struct {
			Text string
			Sent any // the request body the SDK sent
		}
		Tool struct {
			Text  string
			Calls []string
			Steps []struct {
				FinishReason string
				ToolCalls    []string
				Text         string
			}
		}
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("node output %q: %v", raw, err)
	}
	want, _, err := sim.New(sim.Config{}).Complete(llm.Request{Messages: []llm.Message{{Role: "user", Content: prompt}}, MaxTokens: 40})
	if err != nil {
		t.Fatal(err)
	}
	if got.Text.Streamed != want || got.Text.Text != want || got.Text.FinishReason != "length" || got.Text.Usage["outputTokens"] != 40.0 {
		t.Errorf("text: %+v, want %q", got.Text, want)
	}
	sent, _ := json.Marshal(got.Second.Sent)
	second, _, _ := sim.New(sim.Config{}).Complete(llm.Request{MaxTokens: 40, Messages: []llm.Message{
		{Role: "user", Content: prompt}, {Role: "assistant", Content: want}, {Role: "user", Content: "And then?"}}})
	if got.Second.Text != second || !strings.Contains(string(sent), `"item_reference"`) {
		t.Errorf("second turn: %q, want %q; sent %s", got.Second.Text, second, sent)
	}
	// The simulated model fills a string argument with the user's message.
	const output = "18°C and sunny in " + toolPrompt
	if len(got.Tool.Calls) != 1 || got.Tool.Calls[0] != toolPrompt || got.Tool.Text != "get_weather returned: "+output {
		t.Errorf("tool: %+v", got.Tool)
	}
	if len(got.Tool.Steps) != 2 || got.Tool.Steps[0].FinishReason != "tool-calls" || got.Tool.Steps[1].FinishReason != "stop" {
		t.Errorf("tool steps: %+v", got.Tool.Steps)
	}
}
