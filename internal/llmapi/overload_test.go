package llmapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/app/apptest"
)

// TestBehindNodeRefusesGenerations: once token events are published later
// than -llm-max-lateness (here 1 ns: any lateness is over it), new
// generations and completions get 429 with Retry-After and a message
// naming the figures, and /metrics shows the lateness histogram.
func TestBehindNodeRefusesGenerations(t *testing.T) {
	s := apptest.NewServer(t, func(c *app.Config) {
		c.LLMMaxLateness = time.Nanosecond
		c.SimTokensPerSec, c.SimTTFT = 1e6, time.Millisecond
		c.Metrics.Enabled = true
	})
	const gen = `{"messages":[{"role":"user","content":"hi"}],"max_tokens":20}`
	status, body := call(t, s, http.MethodPost, "/llm/generations", "", gen)
	if status != http.StatusCreated {
		t.Fatalf("first start: %d %s", status, body)
	}
	var g struct{ ID string }
	_ = json.Unmarshal([]byte(body), &g)
	deadline := time.Now().Add(5 * time.Second)
	for { // the first token event's publish makes the node late
		_, snap := call(t, s, http.MethodGet, "/llm/generations/"+g.ID, "", "")
		if strings.Contains(snap, `"status":"done"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("generation not done: %s", snap)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, path := range []string{"/llm/generations", "/v1/chat/completions"} {
		resp := post(t, s, path, gen)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" ||
			!strings.Contains(string(b), "the node is behind: token lateness p99") || !strings.Contains(string(b), "-llm-max-lateness") {
			t.Errorf("%s while behind: %d, Retry-After %q, %s", path, resp.StatusCode, resp.Header.Get("Retry-After"), b)
		}
	}
	_, metrics := call(t, s, http.MethodGet, "/metrics", "", "")
	if !strings.Contains(metrics, "ssehub_llm_token_lateness_seconds_count") || strings.Contains(metrics, "ssehub_llm_token_lateness_seconds_count 0") {
		t.Errorf("/metrics lacks the observed token lateness:\n%s", metrics)
	}
}

func post(t *testing.T, s *apptest.Server, path, body string) *http.Response {
	t.Helper()
	resp, err := s.Client.Post(s.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return resp
}
