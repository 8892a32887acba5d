package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/sse"
)

const genPrompt = "请介绍一下服务器推送事件"

func llmServer(t *testing.T, tokensPerSec float64, configure func(*app.Config)) string {
	t.Helper()
	return startServer(t, serverOptions{configure: func(c *app.Config) {
		c.SimTTFT, c.SimTokensPerSec = 10*time.Millisecond, tokensPerSec
		if configure != nil {
			configure(c)
		}
	}}).URL
}

// postJSON posts v and returns the status and body.
func postJSON(t *testing.T, u string, v any) (int, []byte, http.Header) {
	t.Helper()
	body, _ := json.Marshal(v)
	resp, err := http.Post(u, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

func startGeneration(t *testing.T, base string, maxTokens int) (id, topic string) {
	t.Helper()
	status, body, _ := postJSON(t, base+"/llm/generations", map[string]any{
		"messages": []map[string]string{{"role": "user", "content": genPrompt}}, "max_tokens": maxTokens,
	})
	var g struct{ ID, Topic string }
	if err := json.Unmarshal(body, &g); status != http.StatusCreated || err != nil {
		t.Fatalf("start generation: %d %s", status, body)
	}
	return g.ID, g.Topic
}

// genStream reads a generation's events from /events until the end event or
// until at least stopAfter tokens (0 reads to the end; an event may carry
// several, see "tokens"). It returns the text, the id of
// the last event read and the end event, if reached.
func genStream(t *testing.T, base, topic, lastID string, stopAfter int) (text, last string, end *sse.Event) {
	t.Helper()
	text, last, _, end = countedStream(t, base, topic, lastID, stopAfter)
	return text, last, end
}

// countedStream is genStream, also returning the tokens the events
// counted (an event's "tokens", else one).
func countedStream(t *testing.T, base, topic, lastID string, stopAfter int) (text, last string, tokens int, end *sse.Event) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/events?topic="+url.QueryEscape(topic), nil)
	req.Header.Set("Last-Event-ID", lastID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if got := resp.Header.Get("Last-Event-ID"); got != lastID {
		t.Fatalf("resumed after %q, asked %q", got, lastID)
	}
	p := sse.NewParser(resp.Body)
	var sb strings.Builder
	for stopAfter == 0 || tokens < stopAfter {
		ev, err := p.Next()
		if err != nil {
			t.Fatalf("after %d tokens: %v", tokens, err)
		}
		last = ev.ID
		if ev.Type != "token" {
			return sb.String(), last, tokens, &ev
		}
		var tok struct {
			Text   string
			Tokens int
		}
		if err := json.Unmarshal([]byte(ev.Data), &tok); err != nil {
			t.Fatal(err)
		}
		sb.WriteString(tok.Text)
		tokens += max(1, tok.Tokens)
	}
	return sb.String(), last, tokens, nil
}

func directAnswer(t *testing.T, base string, maxTokens int) string {
	t.Helper()
	status, body, _ := postJSON(t, base+"/v1/chat/completions", map[string]any{
		"model": "ssehub-sim", "max_tokens": maxTokens,
		"messages": []map[string]string{{"role": "user", "content": genPrompt}},
	})
	var c struct {
		Choices []struct{ Message struct{ Content string } }
	}
	if err := json.Unmarshal(body, &c); status != http.StatusOK || err != nil || len(c.Choices) != 1 {
		t.Fatalf("completion: %d %s", status, body)
	}
	return c.Choices[0].Message.Content
}

// TestGenerationSurvivesReconnect leaves mid-answer and comes back with
// Last-Event-ID: the text equals the uninterrupted answer.
func TestGenerationSurvivesReconnect(t *testing.T) {
	base := llmServer(t, 300, nil)
	_, topic := startGeneration(t, base, 90)
	first, last, end := genStream(t, base, topic, "earliest", 25)
	if end != nil {
		t.Fatal("generation ended before the reconnect")
	}
	rest, _, end := genStream(t, base, topic, last, 0)
	if end == nil || end.Type != "done" || !strings.Contains(end.Data, `"reason":"length"`) {
		t.Fatalf("end %+v", end)
	}
	if want := directAnswer(t, base, 90); first+rest != want {
		t.Fatalf("resumed text differs:\n got %q\nwant %q", first+rest, want)
	}
	again, _, _ := genStream(t, base, topic, "earliest", 0) // a reload after the end
	if again != first+rest {
		t.Fatalf("replay from the start differs: %q", again)
	}
}

func TestGenerationStopAndSnapshot(t *testing.T) {
	base := llmServer(t, 40, nil)
	id, topic := startGeneration(t, base, 0)
	before, last, _ := genStream(t, base, topic, "earliest", 5)
	status, body, _ := postJSON(t, base+"/llm/generations/"+id+"/stop", nil)
	if status != http.StatusOK {
		t.Fatalf("stop: %d %s", status, body)
	}
	rest, _, end := genStream(t, base, topic, last, 0)
	if end == nil || end.Type != "done" || !strings.Contains(end.Data, `"reason":"stopped"`) {
		t.Fatalf("end %+v", end)
	}
	resp, err := http.Get(base + "/llm/generations/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var snap struct {
		Status       string `json:"status"`
		Text         string `json:"text"`
		FinishReason string `json:"finish_reason"`
	}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &snap); err != nil {
		t.Fatal(err)
	}
	if snap.Status != "done" || snap.FinishReason != "stopped" || snap.Text != before+rest {
		t.Fatalf("snapshot %s, streamed %q", b, before+rest)
	}
	fast := llmServer(t, 1e6, nil) // the same deterministic model, unpaced
	if !strings.HasPrefix(directAnswer(t, fast, 0), snap.Text) {
		t.Fatal("stopped text is not a prefix of the full answer")
	}
}

func TestGenerationLimits(t *testing.T) {
	base := llmServer(t, 5, func(c *app.Config) { c.LLMMaxRunning, c.LLMMaxTokens = 1, 100 })
	msgs := []map[string]string{{"role": "user", "content": "hi"}}
	startGeneration(t, base, 50)
	cases := []struct {
		name   string
		path   string
		body   any
		status int
	}{
		{"second running generation", "/llm/generations", map[string]any{"messages": msgs}, 429},
		{"max_tokens over the limit", "/llm/generations", map[string]any{"messages": msgs, "max_tokens": 101}, 400},
		{"no messages", "/llm/generations", map[string]any{"messages": []any{}}, 400},
		{"unknown key", "/llm/generations", map[string]any{"messages": msgs, "prompt": "x"}, 400},
		{"bad role", "/llm/generations", map[string]any{"messages": []map[string]string{{"role": "x", "content": "y"}}}, 400},
		{"unknown generation", "/llm/generations/nope/stop", nil, 404},
		{"unknown model", "/v1/chat/completions", map[string]any{"model": "gpt-x", "messages": msgs}, 404},
		{"chat max_tokens over the limit", "/v1/chat/completions", map[string]any{"messages": msgs, "max_tokens": 101}, 400},
		{"chat n=2", "/v1/chat/completions", map[string]any{"messages": msgs, "n": 2}, 400},
	}
	for _, c := range cases {
		status, body, hdr := postJSON(t, base+c.path, c.body)
		if status != c.status || !bytes.Contains(body, []byte(`"error"`)) {
			t.Errorf("%s: %d %s, want %d with an error body", c.name, status, body, c.status)
		}
		if status == 429 && hdr.Get("Retry-After") == "" {
			t.Errorf("%s: 429 without Retry-After", c.name)
		}
	}
}

// TestUpstreamRelay runs one ssehub as the OpenAI-compatible upstream of
// another: the openai-go SDK package against a real server.
func TestUpstreamRelay(t *testing.T) {
	var upstreamCalls atomic.Int32
	upstream := startServer(t, serverOptions{
		configure: func(c *app.Config) { c.SimTTFT, c.SimTokensPerSec = time.Millisecond, 5000 },
		wrap: func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/v1/chat/completions" {
					upstreamCalls.Add(1)
				}
				h.ServeHTTP(w, r)
			})
		},
	}).URL
	base := llmServer(t, 5000, func(c *app.Config) { c.LLMBaseURL, c.LLMModel = upstream+"/v1", "ssehub-sim" })
	status, body, _ := postJSON(t, base+"/llm/generations", map[string]any{
		"messages": []map[string]string{{"role": "user", "content": genPrompt}}, "max_tokens": 40,
	})
	var g struct{ Topic string }
	if err := json.Unmarshal(body, &g); status != 201 || err != nil {
		t.Fatalf("start: %d %s", status, body)
	}
	text, _, end := genStream(t, base, g.Topic, "earliest", 0)
	if end == nil || end.Type != "done" || text != directAnswer(t, upstream, 40) || upstreamCalls.Load() < 1 {
		t.Fatalf("relayed %q, end %+v, upstream calls %d", text, end, upstreamCalls.Load())
	}

	// An upstream that is down: a clear error event and a 502 OpenAI error.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String() + "/v1"
	ln.Close()
	broken := llmServer(t, 5000, func(c *app.Config) { c.LLMBaseURL, c.LLMModel = dead, "m" })
	status, body, _ = postJSON(t, broken+"/llm/generations", map[string]any{
		"messages": []map[string]string{{"role": "user", "content": "hi"}},
	})
	if err := json.Unmarshal(body, &g); status != 201 || err != nil {
		t.Fatalf("start: %d %s", status, body)
	}
	if _, _, end := genStream(t, broken, g.Topic, "earliest", 0); end == nil || end.Type != "error" {
		t.Fatalf("end %+v", end)
	}
	status, body, _ = postJSON(t, broken+"/v1/chat/completions", map[string]any{
		"messages": []map[string]string{{"role": "user", "content": "hi"}},
	})
	if status != http.StatusBadGateway || !bytes.Contains(body, []byte(`"error":{`)) {
		t.Fatalf("chat through a dead upstream: %d %s", status, body)
	}
}
