package llmapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/app/apptest"
	"github.com/ssehub/ssehub/internal/auth/authtest"
)

// postWith sends body to path with the headers of hdr and returns status and body.
func postWith(t *testing.T, s *apptest.Server, path, body string, hdr http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// starting are the endpoints that start answers, with a body naming
// model ("" names none) and the status of a success. Endpoints added
// later belong here.
var starting = []struct {
	path string
	body func(model string) string
	ok   int
}{
	{"/llm/generations", func(m string) string {
		return `{"model":"` + m + `","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`
	}, http.StatusCreated},
	{"/v1/chat/completions", func(m string) string {
		return `{"model":"` + m + `","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`
	}, http.StatusOK},
	{"/v1/responses", func(m string) string {
		return `{"model":"` + m + `","max_output_tokens":5,"input":"hi"}`
	}, http.StatusOK},
	{"/api/chat", func(m string) string {
		chats++ // a chat of its own each time: chats belong to who starts them
		return fmt.Sprintf(`{"id":"upstream-%d","model":"%s","messages":[{"id":"u1","role":"user","parts":[{"type":"text","text":"hi"}]}]}`, chats, m)
	}, http.StatusOK},
}

// chats numbers the chats the /api/chat row starts.
var chats int

// TestUpstreamOnlyForLocalClients: in open development mode, the
// upstream (which costs money) answers only loopback clients reached
// directly; a client relayed by a proxy gets 403 saying how to configure a
// key, while the simulated model still answers it. With a JWT key, a
// verified token, or the application's callback deciding publishes, opens
// the upstream to any client.
func TestUpstreamOnlyForLocalClients(t *testing.T) {
	u := newFakeUpstream(t)
	upstream := func(c *app.Config) {
		c.LLMBaseURL, c.LLMModel = u.srv.URL+"/v1", "up"
		c.SimTTFT, c.SimTokensPerSec = 0, 5000
	}
	open := apptest.NewServer(t, upstream)
	proxied := apptest.NewServer(t, func(c *app.Config) { upstream(c); c.Limits.TrustedProxies = "127.0.0.1" })
	k := authtest.NewKeys(t)
	keyed := apptest.NewServer(t, func(c *app.Config) { upstream(c); c.JWTKey = k.SecretFile })
	tok := token(t, k, "alice", GenerationTopic)
	callback := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"publish":["llm/generations/{id}"],"user":"alice"}`)
	}))
	t.Cleanup(callback.Close)
	appDecides := apptest.NewServer(t, func(c *app.Config) {
		upstream(c)
		c.AppAuth.URL, c.AppAuth.Publish = callback.URL, true
	})

	relayed := apptest.Header("X-Forwarded-For", "203.0.113.9")
	tests := []struct {
		name   string
		s      *apptest.Server
		model  string
		hdr    http.Header
		status int    // 0: the endpoint's success
		want   string // in the body
	}{
		{"local, upstream", open, "up", nil, 0, ""},
		{"local, no model named (the upstream)", open, "", nil, 0, ""},
		{"relayed, simulated model", open, "ssehub-sim", relayed, 0, ""},
		{"relayed, upstream", open, "up", relayed, 403, "-jwt-key"},
		{"relayed, no model named", open, "", relayed, 403, `model \"up\" is served by the upstream`},
		{"remote through a trusted proxy: publishing is loopback only", proxied, "ssehub-sim", relayed, 403, "only from loopback clients"},
		{"the app decides publishes, relayed, upstream", appDecides, "up", relayed, 0, ""},
		{"JWT mode, relayed, upstream", keyed, "up", apptest.Header("X-Forwarded-For", "203.0.113.9", "Authorization", "Bearer "+tok), 0, ""},
	}
	for _, e := range starting {
		for _, tt := range tests {
			status, body := postWith(t, tt.s, e.path, e.body(tt.model), tt.hdr)
			want := tt.status
			if want == 0 {
				want = e.ok
			}
			if status != want || !strings.Contains(body, tt.want) {
				t.Errorf("%s %s: %d %s, want %d with %q", e.path, tt.name, status, body, want, tt.want)
			}
			if want == 403 && strings.HasPrefix(e.path, "/v1/") && !strings.Contains(body, `"type":"permission_error"`) {
				t.Errorf("%s %s: %s, want OpenAI's error shape", e.path, tt.name, body)
			}
		}
	}
}

// GenerationTopic is the topic a token must be allowed to publish to
// start generations (llmapi.GenerationTopic).
const GenerationTopic = "llm/generations/new"

// TestAPIKeyIsTheToken: with a JWT key, the API key an OpenAI SDK sends
// (Authorization: Bearer <key>) is the token: a wrong one gets 401 in
// OpenAI's error shape, a valid one an answer.
func TestAPIKeyIsTheToken(t *testing.T) {
	k := authtest.NewKeys(t)
	s := apptest.NewServer(t, func(c *app.Config) {
		c.JWTKey = k.SecretFile
		c.SimTTFT, c.SimTokensPerSec = 0, 5000
	})
	body := `{"model":"ssehub-sim","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`
	tests := []struct {
		name, key string
		status    int
		want      string
	}{
		{"wrong key", "sk-not-a-token", 401, `"type":"authentication_error"`},
		{"no key", "", 401, `"type":"authentication_error"`},
		{"a token without the right", token(t, k, "bob", "other/topic"), 403, `"type":"permission_error"`},
		{"a valid token", token(t, k, "alice", GenerationTopic), 200, `"object":"chat.completion"`},
	}
	for _, tt := range tests {
		hdr := http.Header{}
		if tt.key != "" {
			hdr.Set("Authorization", "Bearer "+tt.key)
		}
		status, answer := postWith(t, s, "/v1/chat/completions", body, hdr)
		if status != tt.status || !strings.Contains(answer, tt.want) || strings.HasPrefix(answer, `{"error":`) != (tt.status != 200) {
			t.Errorf("%s: %d %s, want %d with %s", tt.name, status, answer, tt.status, tt.want)
		}
	}
}
