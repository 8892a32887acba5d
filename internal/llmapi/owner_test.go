package llmapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/app/apptest"
	"github.com/ssehub/ssehub/internal/auth/authtest"
)

// TestMain fails the package if any test leaves a goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// token signs an HS256 token with subject sub (none when "") and the
// publish selectors.
func token(t *testing.T, k *authtest.Keys, sub string, publish ...string) string {
	claims := authtest.Claims(publish, nil, time.Now().Add(time.Hour))
	if sub != "" {
		claims["sub"] = sub
	}
	return k.HS256(t, claims)
}

// call sends a request with a bearer token and returns status and body.
func call(t *testing.T, s *apptest.Server, method, path, tok, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestGenerationsBelongToTheirStarter: with the documented grant
// llm/generations/{id}, another user can neither read nor stop a
// generation (403 naming why); its owner (same sub) and a holder of its
// exact topic can; a token without sub owns nothing; and no client can
// publish into a generation's topic. Before ownership, B's stop answered
// 200 and the publish was delivered to the answer's viewers.
func TestGenerationsBelongToTheirStarter(t *testing.T) {
	k := authtest.NewKeys(t)
	s := apptest.NewServer(t, func(c *app.Config) {
		c.JWTKey = k.SecretFile
		c.SimTokensPerSec = 5 // keeps the generations running through the test
		c.LLMMaxTokens = 500
	})
	const grant = "llm/generations/{id}"
	alice, bob, nobody := token(t, k, "alice", grant), token(t, k, "bob", grant), token(t, k, "", grant)

	start := func(tok string) (id, topic string) {
		t.Helper()
		status, body := call(t, s, http.MethodPost, "/llm/generations", tok, `{"messages":[{"role":"user","content":"hi"}],"max_tokens":400}`)
		if status != http.StatusCreated {
			t.Fatalf("start: %d %s", status, body)
		}
		var g struct{ ID, Topic string }
		if err := json.Unmarshal([]byte(body), &g); err != nil {
			t.Fatal(err)
		}
		return g.ID, g.Topic
	}
	id, topic := start(alice)
	path := "/llm/generations/" + id
	exact := token(t, k, "carol", topic)
	admin := token(t, k, "", "*")

	tests := []struct {
		name, method, path, tok string
		status                  int
		want                    string // in the body
	}{
		{"another user reads", http.MethodGet, path, bob, 403, "belongs to whoever started it"},
		{"another user stops", http.MethodPost, path + "/stop", bob, 403, "same sub"},
		{"a token without sub stops", http.MethodPost, path + "/stop", nobody, 403, `"field":"id"`},
		{"no right at all", http.MethodGet, path, token(t, k, "alice", "gbi/sse"), 403, `"field":"topic"`},
		{"the owner reads", http.MethodGet, path, alice, 200, `"status":"running"`},
		{"the exact topic reads", http.MethodGet, path, exact, 200, `"status":"running"`},
		{"every topic reads", http.MethodGet, path, admin, 200, id},
		{"the exact topic stops", http.MethodPost, path + "/stop", exact, 200, id},
	}
	for _, tt := range tests {
		status, body := call(t, s, tt.method, tt.path, tt.tok, "")
		if status != tt.status || !strings.Contains(body, tt.want) {
			t.Errorf("%s: %d %s, want %d with %q", tt.name, status, body, tt.status, tt.want)
		}
	}

	id2, _ := start(alice)
	if status, body := call(t, s, http.MethodPost, "/llm/generations/"+id2+"/stop", alice, ""); status != 200 {
		t.Errorf("the owner stops: %d %s", status, body)
	}

	// The generations' topics are the hub's own: nobody publishes there.
	for _, body := range []string{`{"topic":"` + topic + `","type":"token","data":"forged"}`, `[{"topic":"a"},{"topic":"` + topic + `"}]`} {
		status, answer := call(t, s, http.MethodPost, "/.well-known/mercure", admin, body)
		if status != http.StatusBadRequest || !strings.Contains(answer, "llm/generations/") {
			t.Errorf("publish %s: %d %s, want 400 naming the reserved prefix", body, status, answer)
		}
	}
}
