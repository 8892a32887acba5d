package openai_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ssehub/ssehub/internal/llm"
	"github.com/ssehub/ssehub/internal/openai"
)

// newModel is a Model talking to u with cfg's other settings.
func newModel(u *upstream, cfg openai.Config) *openai.Model {
	cfg.BaseURL = u.baseURL()
	cfg.HTTPClient = u.client
	if cfg.Model == "" {
		cfg.Model = "test-model"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return openai.New(cfg)
}

func conversation() llm.Request {
	return llm.Request{Messages: []llm.Message{
		{Role: "system", Content: "Be brief."},
		{Role: "user", Content: "Say hello"},
	}}
}

// stream runs m.Stream and returns the deltas it emitted.
func stream(ctx context.Context, m *openai.Model, req llm.Request) ([]string, llm.Result, error) {
	var deltas []string
	res, err := m.Stream(ctx, req, func(d string) error {
		deltas = append(deltas, d)
		return nil
	})
	return deltas, res, err
}

func TestStreamAnswer(t *testing.T) {
	u := newUpstream(t, answer("Hello", ", world", "!"))
	m := newModel(u, openai.Config{APIKey: "sk-test"})
	req := conversation()
	temp := 0.5
	req.MaxTokens, req.Temperature, req.Seed = 64, &temp, 42

	deltas, res, err := stream(context.Background(), m, req)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"Hello", ", world", "!"}; !slices.Equal(deltas, want) {
		t.Errorf("deltas %q, want %q", deltas, want)
	}
	want := llm.Result{FinishReason: llm.FinishStop, Usage: llm.Usage{PromptTokens: 9, CompletionTokens: 3, TotalTokens: 12}}
	if !reflect.DeepEqual(res, want) {
		t.Errorf("result %+v, want %+v", res, want)
	}
	reqs := u.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	got := reqs[0]
	if got.Method != http.MethodPost || got.Path != "/v1/chat/completions" || got.Auth != "Bearer sk-test" {
		t.Errorf("request %s %s with Authorization %q", got.Method, got.Path, got.Auth)
	}
	wantBody := map[string]any{
		"model": "test-model",
		"messages": []any{
			map[string]any{"role": "system", "content": "Be brief."},
			map[string]any{"role": "user", "content": "Say hello"},
		},
		"stream":         true,
		"stream_options": map[string]any{"include_usage": true},
		"max_tokens":     64.0,
		"temperature":    0.5,
		"seed":           42.0,
	}
	if !reflect.DeepEqual(got.Body, wantBody) {
		t.Errorf("request body\n%v\nwant\n%v", got.Body, wantBody)
	}
}

func TestRequestDefaults(t *testing.T) {
	u := newUpstream(t, answer("ok"))
	m := newModel(u, openai.Config{}) // no key, as for Ollama or vLLM
	req := conversation()
	req.Model = "other-model"
	if _, _, err := stream(context.Background(), m, req); err != nil {
		t.Fatal(err)
	}
	got := u.requests()[0]
	if got.Auth != "" {
		t.Errorf("Authorization %q sent without a key", got.Auth)
	}
	if got.Body["model"] != "other-model" {
		t.Errorf("model %v, want the request's other-model", got.Body["model"])
	}
	for _, key := range []string{"max_tokens", "max_completion_tokens", "temperature", "seed"} {
		if v, ok := got.Body[key]; ok {
			t.Errorf("body has %s = %v, want none", key, v)
		}
	}
}

func TestFinishAndUsage(t *testing.T) {
	tests := []struct {
		name   string
		handle func(http.ResponseWriter, *http.Request, int)
		want   llm.Result
		deltas []string
	}{
		{"length", func(w http.ResponseWriter, _ *http.Request, _ int) {
			startStream(w)
			send(w, chunk("a", ""), chunk(" b", "length"), usageChunk(5, 2), "[DONE]")
		}, llm.Result{FinishReason: llm.FinishLength, Usage: llm.Usage{PromptTokens: 5, CompletionTokens: 2, TotalTokens: 7}}, []string{"a", " b"}},
		{"no usage chunk", func(w http.ResponseWriter, _ *http.Request, _ int) {
			startStream(w)
			send(w, chunk("x", ""), chunk("", ""), chunk("y", ""), chunk("", "stop"), "[DONE]")
		}, llm.Result{FinishReason: llm.FinishStop, Usage: llm.Usage{CompletionTokens: 2, TotalTokens: 2}}, []string{"x", "y"}},
		{"other finish reason passed through", func(w http.ResponseWriter, _ *http.Request, _ int) {
			startStream(w)
			send(w, chunk("no", "content_filter"), usageChunk(1, 1), "[DONE]")
		}, llm.Result{FinishReason: "content_filter", Usage: llm.Usage{PromptTokens: 1, CompletionTokens: 1, TotalTokens: 2}}, []string{"no"}},
		{"finish without [DONE]", func(w http.ResponseWriter, _ *http.Request, _ int) {
			startStream(w)
			send(w, chunk("done", "stop"))
		}, llm.Result{FinishReason: llm.FinishStop, Usage: llm.Usage{CompletionTokens: 1, TotalTokens: 1}}, []string{"done"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newModel(newUpstream(t, tt.handle), openai.Config{})
			deltas, res, err := stream(context.Background(), m, conversation())
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(res, tt.want) || !slices.Equal(deltas, tt.deltas) {
				t.Errorf("result %+v with deltas %q, want %+v with %q", res, deltas, tt.want, tt.deltas)
			}
		})
	}
}

func TestEmitError(t *testing.T) {
	m := newModel(newUpstream(t, answer("a", "b", "c")), openai.Config{})
	boom := errors.New("subscriber gone")
	calls := 0
	_, err := m.Stream(context.Background(), conversation(), func(string) error {
		calls++
		return boom
	})
	if !errors.Is(err, boom) || calls != 1 {
		t.Fatalf("err %v after %d calls, want %v after 1", err, calls, boom)
	}
}

func TestInvalidRequest(t *testing.T) {
	u := newUpstream(t, answer("never"))
	tests := []struct {
		name string
		cfg  openai.Config
		req  llm.Request
	}{
		{"unknown role", openai.Config{Model: "m"}, llm.Request{Messages: []llm.Message{{Role: "narrator", Content: "x"}}}},
		{"tool without call id", openai.Config{Model: "m"}, llm.Request{Messages: []llm.Message{{Role: "tool", Content: "x"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := stream(context.Background(), newModel(u, tt.cfg), tt.req)
			if llm.KindOf(err) != llm.KindInvalid {
				t.Fatalf("err %v, want kind %s", err, llm.KindInvalid)
			}
		})
	}
	noModel := openai.New(openai.Config{BaseURL: u.baseURL(), HTTPClient: u.client})
	if _, _, err := stream(context.Background(), noModel, conversation()); llm.KindOf(err) != llm.KindInvalid {
		t.Errorf("no model: err %v, want kind %s", err, llm.KindInvalid)
	}
	if n := len(u.requests()); n != 0 {
		t.Errorf("%d requests sent for invalid requests", n)
	}
}

func TestBaseURLPrefix(t *testing.T) {
	// Another ssehub, or a proxy, may serve the API under any prefix.
	u := newUpstream(t, answer("ok"))
	m := openai.New(openai.Config{BaseURL: u.srv.URL + "/proxy/openai/v1/", Model: "m", HTTPClient: u.client})
	if _, _, err := stream(context.Background(), m, conversation()); err != nil {
		t.Fatal(err)
	}
	if p := u.requests()[0].Path; p != "/proxy/openai/v1/chat/completions" {
		t.Fatalf("path %q", p)
	}
}

func TestEnvironmentIgnored(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "sk-from-env")
	t.Setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")
	u := newUpstream(t, answer("ok"))
	if _, _, err := stream(context.Background(), newModel(u, openai.Config{}), conversation()); err != nil {
		t.Fatal(err)
	}
	if auth := u.requests()[0].Auth; auth != "" {
		t.Fatalf("Authorization %q taken from the environment", auth)
	}
}

func TestWarnLog(t *testing.T) {
	var buf bytes.Buffer
	u := newUpstream(t, fail(401, "Incorrect API key provided: sk-bad.", "invalid_request_error", "invalid_api_key"))
	m := newModel(u, openai.Config{APIKey: "sk-bad", Logger: slog.New(slog.NewJSONHandler(&buf, nil))})
	if _, _, err := stream(context.Background(), m, conversation()); err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d log lines, want 1:\n%s", len(lines), buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["level"] != "WARN" || rec["status"] != 401.0 || rec["kind"] != string(llm.KindAuth) {
		t.Fatalf("log line %v", rec)
	}
}
