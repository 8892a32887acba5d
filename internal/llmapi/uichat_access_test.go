package llmapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app"
)

// TestUIChatBelongsToItsStarter: a chat belongs to the token sub that
// started it: another sub gets 403 naming why on every endpoint (and
// cannot take the chat's id over), a token without sub starts no chat, a
// grant of the chat's very topic is let in, and an unknown chat is 404
// to read and 204 to resume.
func TestUIChatBelongsToItsStarter(t *testing.T) {
	e := newChatEnv(t, 2000, nil)
	st := e.stream(t, within(t, 10*time.Second), http.MethodPost, "/api/chat", e.alice, chatBody("mine", "hello", `,"maxTokens":10`))
	st.rest(t)
	st.close()
	const grant = "llm/generations/{id}"
	bob, nobody := token(t, e.k, "bob", grant), token(t, e.k, "", grant)
	exact := token(t, e.k, "carol", grant, "llm/chats/mine")
	tests := []struct {
		name, method, path, tok, body string
		status                        int
		want                          string
	}{
		{"another sub reads", http.MethodGet, "/api/chat/mine", bob, "", 403, "belongs to the token sub that started it"},
		{"another sub resumes", http.MethodGet, "/api/chat/mine/stream", bob, "", 403, `"field":"id"`},
		{"another sub stops", http.MethodPost, "/api/chat/mine/stop", bob, "", 403, "same sub"},
		{"another sub posts to it", http.MethodPost, "/api/chat", bob, chatBody("mine", "hi", ""), 403, "mine"},
		{"no sub starts a chat", http.MethodPost, "/api/chat", nobody, chatBody("anon", "hi", ""), 403, "without sub"},
		{"no right to start", http.MethodGet, "/api/chat/mine", token(t, e.k, "alice", "other"), "", 403, `"field":"topic"`},
		{"the chat's topic reads", http.MethodGet, "/api/chat/mine", exact, "", 200, `"role":"assistant"`},
		{"the owner reads", http.MethodGet, "/api/chat/mine", e.alice, "", 200, `"id":"mine"`},
		{"an unknown chat", http.MethodGet, "/api/chat/nothing", e.alice, "", 404, "no such chat"},
		{"an unknown chat resumes", http.MethodGet, "/api/chat/nothing/stream", e.alice, "", 204, ""},
		{"an unknown chat stops", http.MethodPost, "/api/chat/nothing/stop", e.alice, "", 404, "no such chat"},
	}
	for _, tt := range tests {
		status, body := e.call(t, tt.method, tt.path, tt.tok, tt.body)
		if status != tt.status || !strings.Contains(body, tt.want) {
			t.Errorf("%s: %d %s, want %d with %q", tt.name, status, body, tt.status, tt.want)
		}
	}
	// A forged turn would hand the chat over: nobody publishes there.
	forged := `{"topic":"llm/chats/mine","type":"turn","data":"{\"owner\":\"bob\"}"}`
	if status, body := e.call(t, http.MethodPost, "/.well-known/mercure", token(t, e.k, "", "*"), forged); status != http.StatusBadRequest || !strings.Contains(body, "the hub's own") {
		t.Errorf("publish a turn: %d %s, want 400 naming the reserved prefix", status, body)
	}
}

// TestUIChatRefusesBadInput: what cannot be a turn gets a 4xx whose JSON
// names the problem, before any generation starts.
func TestUIChatRefusesBadInput(t *testing.T) {
	e := newChatEnv(t, 2000, func(c *app.Config) { c.MaxBodyBytes = 4096 })
	part := func(p string) string {
		return `{"id":"c","messages":[{"id":"m","role":"user","parts":[` + p + `]}]}`
	}
	tests := []struct {
		name, body string
		status     int
		want       string
	}{
		{"not JSON", `{"id":`, 400, "malformed JSON"},
		{"no messages", `{"id":"c","messages":[]}`, 400, "messages must not be empty"},
		{"no parts", `{"id":"c","messages":[{"id":"m","role":"user","parts":[]}]}`, 400, "messages[0] has no parts"},
		{"a file part", part(`{"type":"file","url":"data:,x","mediaType":"text/plain"}`), 400, `part of type \"file\" cannot be given`},
		{"an unknown part", part(`{"type":"hologram"}`), 400, "hologram"},
		{"a part without type", part(`{"text":"hi"}`), 400, "a part is an object with a type"},
		{"a tool call without output", `{"id":"c","messages":[{"id":"u","role":"user","parts":[{"type":"text","text":"x"}]},{"id":"a","role":"assistant","parts":[{"type":"tool-t","toolCallId":"call1","state":"input-available","input":{}}]}]}`, 400, "has no output"},
		{"a bad role", `{"id":"c","messages":[{"id":"m","role":"robot","parts":[{"type":"text","text":"x"}]}]}`, 400, "robot"},
		{"a bad chat id", chatBody("a/b", "hi", ""), 400, "chat id"},
		{"a bad trigger", chatBody("c", "hi", `,"trigger":"explode"`), 400, "explode"},
		{"no user message", `{"id":"c","messages":[{"id":"m","role":"system","parts":[{"type":"text","text":"x"}]}]}`, 400, "no user message"},
		{"too long", chatBody("c", strings.Repeat("long ", 2000), ""), 413, "error"},
		{"an unknown model", chatBody("c", "hi", `,"model":"gpt-17"`), 404, "gpt-17"},
	}
	for _, tt := range tests {
		status, body := e.call(t, http.MethodPost, "/api/chat", e.alice, tt.body)
		if status != tt.status || !strings.Contains(body, tt.want) || !strings.HasPrefix(body, `{"error":`) {
			t.Errorf("%s: %d %s, want %d with %q", tt.name, status, body, tt.status, tt.want)
		}
	}
}

// TestUIChatLimitsAndPath: the engine's per-client limit holds for chat
// turns (429 while the client's answer runs), and -llm-chat-path moves
// the endpoints.
func TestUIChatLimitsAndPath(t *testing.T) {
	e := newChatEnv(t, 5, func(c *app.Config) { c.LLMMaxPerClient, c.LLMChatPath = 1, "/ai/chat" })
	st := e.stream(t, within(t, 10*time.Second), http.MethodPost, "/ai/chat", e.alice, chatBody("one", "hello", ""))
	defer st.close()
	if c, ok := st.next(t); !ok || c.Type != "start" {
		t.Fatalf("first chunk %+v, want start", c)
	}
	status, body := e.call(t, http.MethodPost, "/ai/chat", e.alice, chatBody("two", "hello", ""))
	if status != http.StatusTooManyRequests || !strings.Contains(body, "this client has 1 running") {
		t.Errorf("a second answer of the same client: %d %s, want 429", status, body)
	}
	if status, _ := e.call(t, http.MethodGet, "/api/chat/one", e.alice, ""); status != http.StatusNotFound {
		t.Errorf("the default path with -llm-chat-path set: %d, want 404", status)
	}
	if v := e.getChat(t, http.MethodPost, "/ai/chat/one/stop"); v.Finish != "stopped" {
		t.Errorf("stop under the set path: %+v", v)
	}
}

// TestUIChatPathIsChecked: -llm-chat-path must be a path with a leading
// and no trailing slash.
func TestUIChatPathIsChecked(t *testing.T) {
	for path, ok := range map[string]bool{"/api/chat": true, "/v2/ai-chat": true, "api/chat": false, "/api/chat/": false, "/": false, "/a/{x}": false} {
		cfg := app.DefaultConfig()
		cfg.LLMChatPath = path
		if err := cfg.Validate(); (err == nil) != ok || err != nil && !strings.Contains(err.Error(), "-llm-chat-path") {
			t.Errorf("-llm-chat-path %q: %v, want ok %v", path, err, ok)
		}
	}
}
