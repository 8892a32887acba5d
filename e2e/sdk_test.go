package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app"
)

// nodeScript runs a script of e2e/node with the npm packages installed there
// by `make deps`. Without node or the packages the test skips, or fails
// under CI=true.
func nodeScript(t *testing.T, script string, args ...string) []byte {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "e2e", "node")
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(dir, "node_modules"))
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("node or e2e/node/node_modules missing under CI (run make deps): %v", err)
		}
		t.Skipf("node or e2e/node/node_modules missing (run make deps): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{script}, args...)...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, stderr.String())
	}
	return out
}

// TestOpenAINodeSDK points the official npm openai package at ssehub's
// /v1/chat/completions: a non-streamed and a streamed completion, an error,
// and the model list.
func TestOpenAINodeSDK(t *testing.T) {
	srv := startServer(t, serverOptions{configure: func(c *app.Config) {
		c.SimTTFT, c.SimTokensPerSec = 10*time.Millisecond, 2000
	}})
	const prompt = "How do I push notifications to a browser with SSE?"
	out := nodeScript(t, "openai_sdk.mjs", srv.URL+"/v1", "ssehub-sim", prompt)
	var got struct {
		Full struct {
			Content, Finish, Object string
			Usage                   map[string]int
		}
		Stream struct {
			Content, Finish, Role string
			Chunks                int
			Usage                 map[string]int
		}
		Error struct {
			Status int
			Type   string
		}
		Models []string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("node output %q: %v", out, err)
	}
	want := completeDirect(t, srv.URL, prompt)
	if got.Full.Content != want || got.Full.Object != "chat.completion" || got.Full.Finish != "length" {
		t.Errorf("non-streamed: %q finish %q object %q, want %q length", got.Full.Content, got.Full.Finish, got.Full.Object, want)
	}
	if got.Stream.Content != want || got.Stream.Finish != "length" || got.Stream.Role != "assistant" {
		t.Errorf("streamed: %q finish %q role %q, want %q", got.Stream.Content, got.Stream.Finish, got.Stream.Role, want)
	}
	if got.Stream.Usage["completion_tokens"] != 120 || got.Full.Usage["completion_tokens"] != 120 || got.Stream.Chunks < 120 {
		t.Errorf("usage stream %v full %v, %d chunks", got.Stream.Usage, got.Full.Usage, got.Stream.Chunks)
	}
	if got.Error.Status != http.StatusNotFound || got.Error.Type != "invalid_request_error" {
		t.Errorf("unknown model error: %+v", got.Error)
	}
	if len(got.Models) == 0 || got.Models[0] != "ssehub-sim" {
		t.Errorf("models %v", got.Models)
	}
}

// completeDirect asks ssehub for the same completion over plain HTTP.
func completeDirect(t *testing.T, base, prompt string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{
		"model": "ssehub-sim", "max_tokens": 120,
		"messages": []map[string]string{{"role": "user", "content": prompt}},
	})
	resp, err := http.Post(base+"/v1/chat/completions", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var c struct {
		Choices []struct{ Message struct{ Content string } }
	}
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil || len(c.Choices) != 1 {
		t.Fatalf("direct completion: %v %+v", err, c)
	}
	return c.Choices[0].Message.Content
}
