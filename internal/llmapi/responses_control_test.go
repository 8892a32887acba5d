package llmapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/app/apptest"
	"github.com/ssehub/ssehub/internal/auth/authtest"
	"github.com/ssehub/ssehub/internal/sse"
)

// slowServer is a hub whose simulated model answers 20 tokens a second,
// with JWT keys k: answers stay running through a test.
func slowServer(t *testing.T, k *authtest.Keys) *apptest.Server {
	return apptest.NewServer(t, func(c *app.Config) {
		if k != nil {
			c.JWTKey = k.SecretFile
		}
		c.SimTTFT, c.SimTokensPerSec = 0, 20
	})
}

// readUntilDeltas reads a stream until it has n text deltas, and returns
// the events read; the stream stays open.
func readUntilDeltas(t *testing.T, p *sse.Parser, n int) []respEvent {
	t.Helper()
	var evs []respEvent
	for n > 0 {
		ev, err := p.Next()
		if err != nil {
			t.Fatalf("read the stream: %v", err)
		}
		e := respEvent{ID: ev.ID, Type: ev.Type, Raw: ev.Data}
		if err := json.Unmarshal([]byte(ev.Data), &e.Data); err != nil {
			t.Fatal(err)
		}
		if e.Type == "response.output_text.delta" {
			n--
		}
		evs = append(evs, e)
	}
	return evs
}

// TestResponseOutlivesItsClient: a client that drops a (non-background)
// stream does not stop the response: it is resumed after the last event
// the client read, and the events read and the rest make the whole
// answer, which ends on its own (max_output_tokens), not cancelled.
func TestResponseOutlivesItsClient(t *testing.T) {
	s := slowServer(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	resp := do(t, ctx, s, http.MethodPost, "/v1/responses", "", `{"input":"Keep going","max_output_tokens":8,"stream":true}`)
	first := readUntilDeltas(t, sse.NewParser(resp.Body), 2)
	cancel()
	resp.Body.Close()
	id := first[0].Data["response"].(map[string]any)["id"].(string)
	last := first[len(first)-1].seq()
	rest := stream(t, s, http.MethodGet, fmt.Sprintf("/v1/responses/%s?stream=true&starting_after=%d", id, last), "", "")
	_, final := checkSequence(t, append(first, rest...))
	if final["status"] != "incomplete" || final["usage"].(map[string]any)["output_tokens"] != 8.0 {
		t.Errorf("final %v", final)
	}
}

// TestResponseCancel: cancelling a running background response stops its
// generation; the response ends cancelled with the text so far, its
// stream with response.incomplete. Cancelling it again answers it;
// cancelling a completed response is refused.
func TestResponseCancel(t *testing.T) {
	s := slowServer(t, nil)
	status, queued := jsonCall(t, s, http.MethodPost, "/v1/responses", "", `{"input":"A long answer","background":true}`)
	if status != http.StatusOK || queued["status"] != "queued" || queued["background"] != true {
		t.Fatalf("background create: %d %v", status, queued)
	}
	id := queued["id"].(string)
	resp := do(t, context.Background(), s, http.MethodGet, "/v1/responses/"+id+"?stream=true", "", "")
	p := sse.NewParser(resp.Body)
	first := readUntilDeltas(t, p, 2)
	if types(first)[1] != "response.queued" {
		t.Errorf("background stream %v", types(first))
	}
	status, running := jsonCall(t, s, http.MethodGet, "/v1/responses/"+id, "", "")
	if status != http.StatusOK || running["status"] != "in_progress" || running["usage"] != nil || outputText(running) == "" {
		t.Errorf("GET while running: %d %v", status, running)
	}
	status, cancelled := jsonCall(t, s, http.MethodPost, "/v1/responses/"+id+"/cancel", "", "")
	if status != http.StatusOK || cancelled["status"] != "cancelled" || outputText(cancelled) == "" {
		t.Fatalf("cancel: %d %v", status, cancelled)
	}
	rest := readEvents(t, resp)
	_, final := checkSequence(t, append(first, rest...))
	if !strings.HasPrefix(outputText(final), outputText(running)) {
		t.Errorf("the text while running %q is no prefix of the final %q", outputText(running), outputText(final))
	}
	if last := rest[len(rest)-1]; last.Type != "response.incomplete" || final["status"] != "cancelled" || outputText(final) != outputText(cancelled) {
		t.Errorf("stream ended with %s %v", last.Type, final)
	}
	if _, gen := jsonCall(t, s, http.MethodGet, "/llm/generations/"+id, "", ""); gen["finish_reason"] != "stopped" {
		t.Errorf("the generation was not stopped: %v", gen)
	}
	if status, again := jsonCall(t, s, http.MethodPost, "/v1/responses/"+id+"/cancel", "", ""); status != http.StatusOK || again["status"] != "cancelled" {
		t.Errorf("cancel again: %d %v", status, again)
	}
	_, done := jsonCall(t, s, http.MethodPost, "/v1/responses", "", `{"input":"short","max_output_tokens":1}`)
	if status, body := call(t, s, http.MethodPost, "/v1/responses/"+done["id"].(string)+"/cancel", "", ""); status != http.StatusBadRequest || !strings.Contains(body, "status 'incomplete'") {
		t.Errorf("cancel a finished response: %d %s", status, body)
	}
}

// TestResponseDelete: a deleted response is unknown from then on, to GET,
// streams, cancel and delete; a running one is stopped first.
func TestResponseDelete(t *testing.T) {
	s := slowServer(t, nil)
	_, obj := jsonCall(t, s, http.MethodPost, "/v1/responses", "", `{"input":"delete me","background":true}`)
	id := obj["id"].(string)
	status, del := jsonCall(t, s, http.MethodDelete, "/v1/responses/"+id, "", "")
	if status != http.StatusOK || del["id"] != id || del["object"] != "response.deleted" || del["deleted"] != true || len(del) != 3 {
		t.Fatalf("delete: %d %v", status, del)
	}
	for _, c := range []struct{ method, path string }{
		{http.MethodGet, "/v1/responses/" + id},
		{http.MethodGet, "/v1/responses/" + id + "?stream=true"},
		{http.MethodPost, "/v1/responses/" + id + "/cancel"},
		{http.MethodDelete, "/v1/responses/" + id},
	} {
		status, body := call(t, s, c.method, c.path, "", "")
		if status != http.StatusNotFound || !strings.Contains(body, "Response with id '"+id+"' not found.") || !strings.Contains(body, "invalid_request_error") {
			t.Errorf("%s %s after delete: %d %s", c.method, c.path, status, body)
		}
	}
	if _, gen := jsonCall(t, s, http.MethodGet, "/llm/generations/"+id, "", ""); gen["status"] == "running" {
		t.Errorf("a deleted response still runs: %v", gen)
	}
}

// TestResponsesBelongToTheirOwner: another user's token gets 404 for a
// response, as for an unknown one, whatever it asks; its owner gets it.
func TestResponsesBelongToTheirOwner(t *testing.T) {
	k := authtest.NewKeys(t)
	s := slowServer(t, k)
	const grant = "llm/generations/{id}"
	alice, bob := token(t, k, "alice", grant), token(t, k, "bob", grant)
	_, obj := jsonCall(t, s, http.MethodPost, "/v1/responses", alice, `{"input":"mine","background":true}`)
	id := obj["id"].(string)
	for _, c := range []struct{ method, path, body string }{
		{http.MethodGet, "/v1/responses/" + id, ""},
		{http.MethodGet, "/v1/responses/" + id + "?stream=true", ""},
		{http.MethodPost, "/v1/responses/" + id + "/cancel", ""},
		{http.MethodDelete, "/v1/responses/" + id, ""},
	} {
		status, body := call(t, s, c.method, c.path, bob, c.body)
		if status != http.StatusNotFound || !strings.Contains(body, "not found") {
			t.Errorf("bob %s %s: %d %s", c.method, c.path, status, body)
		}
	}
	status, body := call(t, s, http.MethodPost, "/v1/responses", bob, `{"input":"go on","previous_response_id":"`+id+`"}`)
	if status != http.StatusBadRequest || !strings.Contains(body, "Previous response with id") {
		t.Errorf("bob continues alice's response: %d %s", status, body)
	}
	if status, got := jsonCall(t, s, http.MethodGet, "/v1/responses/"+id, alice, ""); status != http.StatusOK || got["id"] != id {
		t.Errorf("alice reads: %d %v", status, got)
	}
	if status, got := jsonCall(t, s, http.MethodPost, "/v1/responses/"+id+"/cancel", alice, ""); status != http.StatusOK || got["status"] != "cancelled" {
		t.Errorf("alice cancels: %d %v", status, got)
	}
	// A token without sub gets the answers it creates, streamed or not,
	// but owns nothing to read later: only exact grants reach them.
	nobody := token(t, k, "", grant)
	evs := stream(t, s, http.MethodPost, "/v1/responses", nobody, `{"input":"whose?","max_output_tokens":2,"stream":true}`)
	status, whole := jsonCall(t, s, http.MethodPost, "/v1/responses", nobody, `{"input":"whose?","max_output_tokens":2}`)
	if _, final := checkSequence(t, evs); status != http.StatusOK || outputText(whole) == "" || outputText(whole) != outputText(final) {
		t.Errorf("created without sub: %d %v", status, whole)
	}
	if status, _ := call(t, s, http.MethodGet, "/v1/responses/"+whole["id"].(string), nobody, ""); status != http.StatusNotFound {
		t.Errorf("read back without sub: %d", status)
	}
	resp := do(t, context.Background(), s, http.MethodGet, "/v1/responses/"+id, "", "")
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: %d", resp.StatusCode)
	}
}
