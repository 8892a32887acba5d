package llmapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/app/apptest"
	"github.com/ssehub/ssehub/internal/auth/authtest"
)

// chunk is a part of a UI message stream, with the fields the tests read.
type chunk struct {
	Type         string          `json:"type"`
	ID           string          `json:"id"`
	MessageID    string          `json:"messageId"`
	Delta        string          `json:"delta"`
	ToolCallID   string          `json:"toolCallId"`
	ToolName     string          `json:"toolName"`
	Input        json.RawMessage `json:"input"`
	FinishReason string          `json:"finishReason"`
	Reason       string          `json:"reason"`
	ErrorText    string          `json:"errorText"`
}

// uiStream reads a UI message stream.
type uiStream struct {
	resp *http.Response
	sc   *bufio.Scanner
	done bool // [DONE] was read
}

// next returns the next chunk, false at [DONE] or the end of the stream.
func (s *uiStream) next(t *testing.T) (chunk, bool) {
	t.Helper()
	for s.sc.Scan() {
		data, ok := strings.CutPrefix(s.sc.Text(), "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			s.done = true
			return chunk{}, false
		}
		var c chunk
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			t.Fatalf("chunk %s: %v", data, err)
		}
		return c, true
	}
	return chunk{}, false
}

// rest reads every chunk left, to [DONE].
func (s *uiStream) rest(t *testing.T) []chunk {
	t.Helper()
	var out []chunk
	for c, ok := s.next(t); ok; c, ok = s.next(t) {
		out = append(out, c)
	}
	if !s.done {
		t.Fatalf("the stream ended without [DONE] after %v", chunkTypes(out))
	}
	return out
}

func (s *uiStream) close() { s.resp.Body.Close() }

// chatEnv is a hub with the AI SDK chat endpoints and alice's token.
type chatEnv struct {
	base   string // the hub's URL
	client *http.Client
	k      *authtest.Keys
	alice  string
}

// newChatEnv starts a hub whose simulated model writes tps tokens a second.
func newChatEnv(t *testing.T, tps float64, mutate func(*app.Config)) *chatEnv {
	k := authtest.NewKeys(t)
	s := apptest.NewServer(t, func(c *app.Config) {
		c.JWTKey = k.SecretFile
		c.SimTokensPerSec = tps
		c.SimTTFT = time.Millisecond
		if mutate != nil {
			mutate(c)
		}
	})
	return &chatEnv{base: s.URL, client: s.Client, k: k, alice: token(t, k, "alice", "llm/generations/{id}")}
}

// call sends a request with tok and returns status and body.
func (e *chatEnv) call(t *testing.T, method, path, tok, body string) (int, string) {
	t.Helper()
	resp := e.do(t, context.Background(), method, path, tok, body)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// do sends a request with tok and returns the response, open.
func (e *chatEnv) do(t *testing.T, ctx context.Context, method, path, tok, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, e.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// stream opens a UI message stream: POST /api/chat, or GET …/stream.
func (e *chatEnv) stream(t *testing.T, ctx context.Context, method, path, tok, body string) *uiStream {
	t.Helper()
	resp := e.do(t, ctx, method, path, tok, body)
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		t.Fatalf("%s %s: %d", method, path, resp.StatusCode)
	}
	return &uiStream{resp: resp, sc: bufio.NewScanner(resp.Body)}
}

// chatBody is a request of DefaultChatTransport for chat id with one user
// message, and extra body fields (",\"maxTokens\":30").
func chatBody(id, text, extra string) string {
	msg, _ := json.Marshal(map[string]any{"id": "u1", "role": "user", "parts": []any{map[string]any{"type": "text", "text": text}}})
	return `{"id":"` + id + `","trigger":"submit-message","messages":[` + string(msg) + `]` + extra + `}`
}

// view is GET /api/chat/{id}.
type view struct {
	ID       string `json:"id"`
	Running  bool   `json:"running"`
	Finish   string `json:"finishReason"`
	Messages []struct {
		ID    string           `json:"id"`
		Role  string           `json:"role"`
		Parts []map[string]any `json:"parts"`
	} `json:"messages"`
}

// text is the text of the last message's text parts.
func (v view) text() string {
	var sb strings.Builder
	if n := len(v.Messages); n > 0 {
		for _, p := range v.Messages[n-1].Parts {
			if p["type"] == "text" {
				sb.WriteString(p["text"].(string))
			}
		}
	}
	return sb.String()
}

// getChat reads GET /api/chat/{id} (or the answer of a stop).
func (e *chatEnv) getChat(t *testing.T, method, path string) view {
	t.Helper()
	status, body := e.call(t, method, path, e.alice, "")
	if status != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, path, status, body)
	}
	var v view
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// completion is the answer of a non-streamed Chat Completion, the
// reference of the simulated model's answer.
func (e *chatEnv) completion(t *testing.T, text string, maxTokens int) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"model": "ssehub-sim", "max_tokens": maxTokens,
		"messages": []any{map[string]string{"role": "user", "content": text}}})
	status, answer := e.call(t, http.MethodPost, "/v1/chat/completions", e.alice, string(body))
	if status != http.StatusOK {
		t.Fatalf("completion: %d %s", status, answer)
	}
	var c struct {
		Choices []struct{ Message struct{ Content string } }
	}
	if err := json.Unmarshal([]byte(answer), &c); err != nil || len(c.Choices) == 0 {
		t.Fatalf("completion %s: %v", answer, err)
	}
	return c.Choices[0].Message.Content
}

// chunkTypes lists the chunks' types, text deltas folded into one.
func chunkTypes(cs []chunk) []string {
	var out []string
	for _, c := range cs {
		if c.Type == "text-delta" && len(out) > 0 && out[len(out)-1] == "text-delta" {
			continue
		}
		out = append(out, c.Type)
	}
	return out
}

// deltas joins the text deltas.
func deltas(cs []chunk) string {
	var sb strings.Builder
	for _, c := range cs {
		if c.Type == "text-delta" {
			sb.WriteString(c.Delta)
		}
	}
	return sb.String()
}

// within returns a context ending after d.
func within(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
