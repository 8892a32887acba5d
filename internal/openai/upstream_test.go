package openai_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// received is what the fake upstream saw of one request.
type received struct {
	Method, Path, Auth string
	Body               map[string]any
}

// upstream is a fake OpenAI-compatible server on 127.0.0.1 that speaks the
// chat-completions streaming wire format and misbehaves on demand.
type upstream struct {
	srv    *httptest.Server
	client *http.Client
	handle func(w http.ResponseWriter, r *http.Request, n int) // n counts requests from 1

	mu   sync.Mutex
	reqs []received
}

// newUpstream starts a fake upstream whose handler is handle; the server
// and the client's connections are closed when the test ends.
func newUpstream(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, n int)) *upstream {
	t.Helper()
	u := &upstream{handle: handle}
	u.srv = httptest.NewServer(http.HandlerFunc(u.serve))
	tr := &http.Transport{}
	u.client = &http.Client{Transport: tr}
	t.Cleanup(func() {
		u.srv.Close()
		tr.CloseIdleConnections()
	})
	return u
}

// baseURL is the API root, as a user would configure it.
func (u *upstream) baseURL() string { return u.srv.URL + "/v1" }

func (u *upstream) serve(w http.ResponseWriter, r *http.Request) {
	rec := received{Method: r.Method, Path: r.URL.Path, Auth: r.Header.Get("Authorization")}
	if b, _ := io.ReadAll(r.Body); len(b) > 0 {
		_ = json.Unmarshal(b, &rec.Body)
	}
	u.mu.Lock()
	u.reqs = append(u.reqs, rec)
	n := len(u.reqs)
	u.mu.Unlock()
	u.handle(w, r, n)
}

// requests returns the requests seen so far.
func (u *upstream) requests() []received {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]received(nil), u.reqs...)
}

// chunk is one chat.completion.chunk as OpenAI sends it.
func chunk(content, finish string) string {
	var reason any
	if finish != "" {
		reason = finish
	}
	delta := map[string]any{"content": content}
	if content == "" && finish == "" {
		delta["role"] = "assistant"
	}
	return mustJSON(map[string]any{
		"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 1700000000,
		"model": "test-model", "system_fingerprint": "fp_test",
		"choices": []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": reason}},
		"usage":   nil,
	})
}

// usageChunk is the chunk with empty choices that include_usage asks for.
func usageChunk(prompt, completion int) string {
	return mustJSON(map[string]any{
		"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 1700000000,
		"model": "test-model", "choices": []any{},
		"usage": map[string]any{"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
	})
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// startStream writes the headers of a streamed answer.
func startStream(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
}

// send writes data lines as SSE events and flushes them.
func send(w http.ResponseWriter, data ...string) {
	for _, d := range data {
		fmt.Fprintf(w, "data: %s\n\n", d)
	}
	w.(http.Flusher).Flush()
}

// answer streams contents as a complete answer: a role chunk, a chunk per
// content, a finish chunk, a usage chunk and [DONE].
func answer(contents ...string) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, _ *http.Request, _ int) {
		startStream(w)
		send(w, chunk("", ""))
		for _, c := range contents {
			send(w, chunk(c, ""))
		}
		send(w, chunk("", "stop"), usageChunk(9, len(contents)), "[DONE]")
	}
}

// fail answers with status and an OpenAI error body, asking retries to
// come after a millisecond.
func fail(status int, message, typ, code string) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After-Ms", "1")
		w.WriteHeader(status)
		var c any
		if code != "" {
			c = code
		}
		fmt.Fprint(w, mustJSON(map[string]any{"error": map[string]any{"message": message, "type": typ, "param": nil, "code": c}}))
	}
}

// waitFor waits for ch to close, failing the test after a few seconds.
func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}
