package llmapi_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app"
)

// TestUIChatStreamsTheAnswer: POST /api/chat answers a UI message stream
// (v1 headers) whose parts are start (with the message id), start-step,
// the text, finish-step, finish "stop" and [DONE]; its text is the
// simulated model's answer to the same conversation; GET /api/chat/{id}
// then lists the question and the answer, and a reconnect gets 204.
func TestUIChatStreamsTheAnswer(t *testing.T) {
	e := newChatEnv(t, 2000, nil)
	const q = "Tell me about the sea"
	st := e.stream(t, within(t, 10*time.Second), http.MethodPost, "/api/chat", e.alice, chatBody("c1", q, `,"maxTokens":40`))
	defer st.close()
	for h, want := range map[string]string{"Content-Type": "text/event-stream", "X-Vercel-Ai-Ui-Message-Stream": "v1", "X-Accel-Buffering": "no", "Cache-Control": "no-cache"} {
		if got := st.resp.Header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	cs := st.rest(t)
	want := []string{"start", "start-step", "text-start", "text-delta", "text-end", "finish-step", "finish"}
	if got := chunkTypes(cs); !slices.Equal(got, want) {
		t.Fatalf("parts %v, want %v", got, want)
	}
	if cs[0].MessageID == "" || cs[len(cs)-1].FinishReason == "" {
		t.Errorf("start %+v, finish %+v: want a message id and a finish reason", cs[0], cs[len(cs)-1])
	}
	text := deltas(cs)
	if ref := e.completion(t, q, 40); text != ref {
		t.Errorf("answer %q, want the model's %q", text, ref)
	}

	v := e.getChat(t, http.MethodGet, "/api/chat/c1")
	if len(v.Messages) != 2 || v.Messages[0].Role != "user" || v.Messages[1].ID != cs[0].MessageID || v.text() != text || v.Running || v.Finish != cs[len(cs)-1].FinishReason {
		t.Errorf("GET /api/chat/c1: %+v, want the question and the answer %q", v, text)
	}
	if status, body := e.call(t, http.MethodGet, "/api/chat/c1/stream", e.alice, ""); status != http.StatusNoContent {
		t.Errorf("reconnect after the end: %d %s, want 204", status, body)
	}
}

// TestUIChatResumesMidAnswer: a client that drops the POST stream does not
// stop the answer; GET /api/chat/{id}/stream then replays it once from its
// start (same message id, every part once), then live to its end.
func TestUIChatResumesMidAnswer(t *testing.T) {
	e := newChatEnv(t, 40, nil)
	const q = "Explain how tides work"
	ctx, drop := context.WithCancel(context.Background())
	st := e.stream(t, ctx, http.MethodPost, "/api/chat", e.alice, chatBody("c2", q, `,"maxTokens":60`))
	first, _ := st.next(t)
	for c, ok := st.next(t); ok && c.Type != "text-delta"; c, ok = st.next(t) {
	}
	drop()
	st.close()

	if v := e.getChat(t, http.MethodGet, "/api/chat/c2"); !v.Running || len(v.Messages) != 2 {
		t.Errorf("GET mid-answer: %+v, want the partial answer, running", v)
	}
	re := e.stream(t, within(t, 20*time.Second), http.MethodGet, "/api/chat/c2/stream", e.alice, "")
	defer re.close()
	cs := re.rest(t)
	want := []string{"start", "start-step", "text-start", "text-delta", "text-end", "finish-step", "finish"}
	if got := chunkTypes(cs); !slices.Equal(got, want) {
		t.Fatalf("resumed parts %v, want %v", got, want)
	}
	if cs[0].MessageID != first.MessageID {
		t.Errorf("resumed message id %q, want the POST's %q", cs[0].MessageID, first.MessageID)
	}
	if text, ref := deltas(cs), e.completion(t, q, 60); text != ref {
		t.Errorf("resumed answer %q, want the whole answer once: %q", text, ref)
	}
	if status, _ := e.call(t, http.MethodGet, "/api/chat/c2/stream", e.alice, ""); status != http.StatusNoContent {
		t.Errorf("reconnect after the end: %d, want 204", status)
	}
}

// TestUIChatStop: POST /api/chat/{id}/stop ends the running answer on the
// server: the streams end with abort and [DONE], the partial answer is
// kept (GET lists it), and a reconnect gets 204. A turn posted while the
// answer runs is refused (409); one after the stop starts.
func TestUIChatStop(t *testing.T) {
	e := newChatEnv(t, 30, nil)
	const q = "Describe a long journey"
	st := e.stream(t, within(t, 20*time.Second), http.MethodPost, "/api/chat", e.alice, chatBody("c3", q, `,"maxTokens":200`))
	defer st.close()
	re := e.stream(t, within(t, 20*time.Second), http.MethodGet, "/api/chat/c3/stream", e.alice, "")
	defer re.close()
	var seen []chunk
	for len(seen) < 6 {
		c, ok := st.next(t)
		if !ok {
			t.Fatalf("the stream ended before the stop: %v", chunkTypes(seen))
		}
		seen = append(seen, c)
	}
	// Another turn while the answer runs (another tab): refused, not interleaved.
	if status, body := e.call(t, http.MethodPost, "/api/chat", e.alice, chatBody("c3", "Meanwhile", "")); status != http.StatusConflict || !strings.Contains(body, "still running") {
		t.Errorf("a turn while the answer runs: %d %s, want 409", status, body)
	}
	stopped := e.getChat(t, http.MethodPost, "/api/chat/c3/stop")
	cs := append(seen, st.rest(t)...)
	if got, want := chunkTypes(cs)[len(chunkTypes(cs))-3:], []string{"text-end", "finish-step", "abort"}; !slices.Equal(got, want) {
		t.Errorf("stopped stream ends %v, want %v", got, want)
	}
	text, full := deltas(cs), e.completion(t, q, 200)
	if text == "" || len(text) >= len(full) || !strings.HasPrefix(full, text) {
		t.Errorf("stopped answer %q: want a beginning of %q", text, full)
	}
	if stopped.Running || stopped.text() != text || stopped.Finish != "stopped" {
		t.Errorf("stop answered %+v, want the partial answer %q, not running", stopped, text)
	}
	if got := deltas(re.rest(t)); got != text {
		t.Errorf("the resumed stream got %q, want %q", got, text)
	}
	if v := e.getChat(t, http.MethodGet, "/api/chat/c3"); v.text() != text || v.Running {
		t.Errorf("GET after the stop: %+v, want %q", v, text)
	}
	if status, _ := e.call(t, http.MethodGet, "/api/chat/c3/stream", e.alice, ""); status != http.StatusNoContent {
		t.Errorf("reconnect after the stop: %d, want 204", status)
	}
	if status, body := e.call(t, http.MethodPost, "/api/chat", e.alice, chatBody("c3", "And now?", `,"maxTokens":3`)); status != http.StatusOK {
		t.Errorf("a turn after the stop: %d %s", status, body)
	}
}

// TestUIChatFailure: an answer that fails (here it outlives -llm-timeout)
// ends its stream with an error chunk naming why, and the chat says so.
func TestUIChatFailure(t *testing.T) {
	e := newChatEnv(t, 10, func(c *app.Config) { c.LLMTimeout = 500 * time.Millisecond })
	st := e.stream(t, within(t, 10*time.Second), http.MethodPost, "/api/chat", e.alice, chatBody("fails", "Write a long essay", ""))
	defer st.close()
	cs := st.rest(t)
	got := chunkTypes(cs)
	if end := got[len(got)-3:]; !slices.Equal(end, []string{"text-end", "finish-step", "error"}) || !strings.Contains(cs[len(cs)-1].ErrorText, "timeout") {
		t.Errorf("failed stream %v (%+v), want it to end with text-end, finish-step and an error naming the timeout", got, cs[len(cs)-1])
	}
	if v := e.getChat(t, http.MethodGet, "/api/chat/fails"); v.Finish != "error" || v.Running || v.text() != deltas(cs) {
		t.Errorf("GET after the failure: %+v", v)
	}
}
