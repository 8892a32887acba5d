package openai_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/llm"
	"github.com/ssehub/ssehub/internal/openai"
)

// plain answers with status and a body that is not OpenAI's error JSON.
func plain(status int, contentType, body string) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Retry-After-Ms", "1")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}
}

// cut streams two content chunks, then drops the connection.
func cut(w http.ResponseWriter, _ *http.Request, _ int) {
	startStream(w)
	send(w, chunk("", ""), chunk("Hel", ""), chunk("lo", ""))
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	conn.Close()
}

func TestUpstreamErrors(t *testing.T) {
	tests := []struct {
		name       string
		handle     func(http.ResponseWriter, *http.Request, int)
		maxRetries int
		wantKind   llm.ErrorKind
		wantStatus int
		wantReqs   int
		wantMsg    string
		wantDeltas []string
	}{
		{name: "401 bad key", handle: fail(401, "Incorrect API key provided: sk-bad.", "invalid_request_error", "invalid_api_key"),
			wantKind: llm.KindAuth, wantStatus: 401, wantReqs: 1, wantMsg: "Incorrect API key provided"},
		{name: "403 forbidden", handle: fail(403, "Project does not have access", "invalid_request_error", ""),
			wantKind: llm.KindAuth, wantStatus: 403, wantReqs: 1, wantMsg: "does not have access"},
		{name: "429 retried", handle: fail(429, "Rate limit reached for requests", "requests", "rate_limit_exceeded"),
			wantKind: llm.KindRateLimit, wantStatus: 429, wantReqs: 3, wantMsg: "Rate limit reached"},
		{name: "429 asking for a long wait not retried", handle: func(w http.ResponseWriter, _ *http.Request, _ int) {
			w.Header().Set("Retry-After", "60")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}`)
		}, wantKind: llm.KindRateLimit, wantStatus: 429, wantReqs: 1, wantMsg: "Rate limit reached"},
		{name: "500 retried", handle: fail(500, "The server had an error while processing your request.", "server_error", ""),
			wantKind: llm.KindUpstream, wantStatus: 500, wantReqs: 3, wantMsg: "server had an error"},
		{name: "500 without retries", handle: fail(500, "boom", "server_error", ""), maxRetries: -1,
			wantKind: llm.KindUpstream, wantStatus: 500, wantReqs: 1, wantMsg: "boom"},
		{name: "503 plain text", handle: plain(503, "text/plain", "upstream connect error"),
			wantKind: llm.KindUpstream, wantStatus: 503, wantReqs: 3, wantMsg: "upstream connect error"},
		{name: "404 model_not_found", handle: fail(404, "The model `nope` does not exist or you do not have access to it.", "invalid_request_error", "model_not_found"),
			wantKind: llm.KindNotFound, wantStatus: 404, wantReqs: 1, wantMsg: "`nope` does not exist"},
		{name: "400 unknown model in words", handle: fail(400, "Model Not Exist", "invalid_request_error", ""),
			wantKind: llm.KindNotFound, wantStatus: 400, wantReqs: 1, wantMsg: "Model Not Exist"},
		{name: "404 vLLM error body", handle: plain(404, "application/json", `{"object":"error","message":"The model `+"`nope`"+` does not exist.","type":"NotFoundError","param":null,"code":404}`),
			wantKind: llm.KindNotFound, wantStatus: 404, wantReqs: 1, wantMsg: "does not exist"},
		{name: "400 bad parameter", handle: fail(400, "Invalid value for 'temperature'", "invalid_request_error", "invalid_value"),
			wantKind: llm.KindInvalid, wantStatus: 400, wantReqs: 1, wantMsg: "temperature"},
		{name: "422 unprocessable", handle: plain(422, "application/json", `{"detail":"field required"}`),
			wantKind: llm.KindInvalid, wantStatus: 422, wantReqs: 1, wantMsg: "field required"},
		{name: "cut mid-answer", handle: cut,
			wantKind: llm.KindInterrupted, wantReqs: 1, wantDeltas: []string{"Hel", "lo"}},
		{name: "ends without finish", handle: func(w http.ResponseWriter, _ *http.Request, _ int) {
			startStream(w)
			send(w, chunk("Hel", ""), chunk("lo", ""))
		}, wantKind: llm.KindInterrupted, wantReqs: 1, wantDeltas: []string{"Hel", "lo"}},
		{name: "malformed chunk", handle: func(w http.ResponseWriter, _ *http.Request, _ int) {
			startStream(w)
			send(w, chunk("Hi", ""), `{"id":"x","choices":[{"delta":{"content":`)
		}, wantKind: llm.KindUpstream, wantReqs: 1, wantMsg: "malformed", wantDeltas: []string{"Hi"}},
		{name: "error event mid-stream", handle: func(w http.ResponseWriter, _ *http.Request, _ int) {
			startStream(w)
			send(w, chunk("Hi", ""), `{"error":{"message":"The engine is overloaded","type":"server_error"}}`)
		}, wantKind: llm.KindUpstream, wantReqs: 1, wantMsg: "The engine is overloaded", wantDeltas: []string{"Hi"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newUpstream(t, tt.handle)
			m := newModel(u, openai.Config{APIKey: "sk-test", MaxRetries: tt.maxRetries})
			deltas, _, err := stream(context.Background(), m, conversation())
			var lerr *llm.Error
			if !errors.As(err, &lerr) {
				t.Fatalf("err %v (%T), want *llm.Error", err, err)
			}
			if lerr.Kind != tt.wantKind || lerr.Status != tt.wantStatus || !strings.Contains(lerr.Message, tt.wantMsg) {
				t.Errorf("error %q (kind %s, status %d), want kind %s, status %d, message with %q",
					lerr, lerr.Kind, lerr.Status, tt.wantKind, tt.wantStatus, tt.wantMsg)
			}
			if n := len(u.requests()); n != tt.wantReqs {
				t.Errorf("%d requests, want %d", n, tt.wantReqs)
			}
			if !slices.Equal(deltas, tt.wantDeltas) {
				t.Errorf("deltas %q, want %q", deltas, tt.wantDeltas)
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now
	m := openai.New(openai.Config{BaseURL: url + "/v1", Model: "m", MaxRetries: -1,
		HTTPClient: &http.Client{Transport: &http.Transport{}}, Logger: slog.New(slog.DiscardHandler)})
	_, _, err := stream(context.Background(), m, conversation())
	var lerr *llm.Error
	if !errors.As(err, &lerr) || lerr.Kind != llm.KindUpstream || lerr.Status != 0 {
		t.Fatalf("err %v, want a %s error without status", err, llm.KindUpstream)
	}
}

// stall streams one chunk, then waits until the client gives up, which it
// reports by closing gone.
func stall(gone chan<- struct{}) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, r *http.Request, _ int) {
		startStream(w)
		send(w, chunk("Hi", ""))
		<-r.Context().Done()
		close(gone)
	}
}

func TestIdleTimeout(t *testing.T) {
	gone := make(chan struct{})
	m := newModel(newUpstream(t, stall(gone)), openai.Config{IdleTimeout: 100 * time.Millisecond})
	start := time.Now()
	deltas, _, err := stream(context.Background(), m, conversation())
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("a stalled stream took %v to end", d)
	}
	if llm.KindOf(err) != llm.KindTimeout || !slices.Equal(deltas, []string{"Hi"}) {
		t.Fatalf("err %v after %q, want kind %s after [Hi]", err, deltas, llm.KindTimeout)
	}
	waitFor(t, gone, "the upstream to see its request end")
}

func TestTimeout(t *testing.T) {
	// The upstream never answers; only Timeout can end the request.
	gone := make(chan struct{})
	u := newUpstream(t, func(_ http.ResponseWriter, r *http.Request, _ int) {
		<-r.Context().Done()
		close(gone)
	})
	m := newModel(u, openai.Config{Timeout: 100 * time.Millisecond})
	start := time.Now()
	_, _, err := stream(context.Background(), m, conversation())
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("request took %v with a 100ms timeout", d)
	}
	var lerr *llm.Error
	if !errors.As(err, &lerr) || lerr.Kind != llm.KindTimeout {
		t.Fatalf("err %v, want kind %s", err, llm.KindTimeout)
	}
	waitFor(t, gone, "the upstream to see its request end")
}

func TestCallerCancels(t *testing.T) {
	gone := make(chan struct{})
	m := newModel(newUpstream(t, stall(gone)), openai.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := m.Stream(ctx, conversation(), func(string) error {
		cancel() // the user stops the generation after the first delta
		return nil
	})
	var lerr *llm.Error
	if !errors.Is(err, context.Canceled) || errors.As(err, &lerr) {
		t.Fatalf("err %v, want context.Canceled itself", err)
	}
	waitFor(t, gone, "the upstream to see its request cancelled")
}
