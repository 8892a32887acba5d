package e2e

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/auth/authtest"
)

// sdkToolCall is a tool call as the npm SDK returns it.
type sdkToolCall struct {
	ID, Type string
	Function struct{ Name, Arguments string }
}

// sdkTools is what e2e/node/openai_tools.mjs prints.
type sdkTools struct {
	Full struct {
		Finish    string
		Content   *string
		ToolCalls []sdkToolCall
	}
	Stream struct {
		Finish         string
		Content        *string
		ToolCalls      []sdkToolCall
		ArgumentDeltas int
	}
	FollowUp struct{ Finish, Content string }
}

// runSDKTools runs openai_tools.mjs against base with apiKey.
func runSDKTools(t *testing.T, base, apiKey string) sdkTools {
	t.Helper()
	out := nodeScript(t, "openai_tools.mjs", base+"/v1", "ssehub-sim", apiKey)
	var got sdkTools
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("node output %q: %v", out, err)
	}
	return got
}

// TestOpenAINodeSDKTools has the official npm openai package call a tool
// through ssehub's /v1/chat/completions, streamed (accumulated by the SDK's
// own stream helper) and not, then send the tool's output back.
func TestOpenAINodeSDKTools(t *testing.T) {
	srv := startServer(t, serverOptions{configure: func(c *app.Config) {
		c.SimTTFT, c.SimTokensPerSec = 10*time.Millisecond, 2000
	}})
	checkSDKTools(t, runSDKTools(t, srv.URL, ""))
}

// TestOpenAINodeSDKToken: with a JWT key, the npm SDK's apiKey is the
// token ssehub verifies; a token allowed to start generations (to publish
// to llm/generations/new) works as the key.
func TestOpenAINodeSDKToken(t *testing.T) {
	keys := authtest.NewKeys(t)
	srv := startServer(t, serverOptions{configure: func(c *app.Config) {
		c.JWTKey = string(keys.Secret)
		c.SimTTFT, c.SimTokensPerSec = 10*time.Millisecond, 2000
	}})
	claims := authtest.Claims([]string{"llm/generations/{id}"}, nil, time.Now().Add(time.Hour))
	claims["sub"] = "alice"
	checkSDKTools(t, runSDKTools(t, srv.URL, keys.HS256(t, claims)))
}

func checkSDKTools(t *testing.T, got sdkTools) {
	t.Helper()
	if got.Full.Finish != "tool_calls" || got.Full.Content != nil || len(got.Full.ToolCalls) != 1 {
		t.Fatalf("non-streamed: %+v", got.Full)
	}
	want := got.Full.ToolCalls[0]
	if want.Type != "function" || want.Function.Name != "get_weather" {
		t.Errorf("non-streamed call %+v", want)
	}
	var args struct{ City string }
	if err := json.Unmarshal([]byte(want.Function.Arguments), &args); err != nil || args.City == "" {
		t.Errorf("arguments %q: %v", want.Function.Arguments, err)
	}
	if got.Stream.Finish != "tool_calls" || len(got.Stream.ToolCalls) != 1 || got.Stream.ToolCalls[0] != want {
		t.Errorf("streamed: %+v, want the call %+v", got.Stream, want)
	}
	if got.Stream.ArgumentDeltas < 2 {
		t.Errorf("%d argument deltas, want the arguments in pieces", got.Stream.ArgumentDeltas)
	}
	if got.FollowUp.Finish != "stop" || got.FollowUp.Content != "get_weather returned: 18°C, sunny" {
		t.Errorf("follow-up: %+v", got.FollowUp)
	}
}
