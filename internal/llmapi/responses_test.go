package llmapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/app/apptest"
	"github.com/ssehub/ssehub/internal/sse"
)

// respEvent is a streamed Responses event as a client reads it.
type respEvent struct {
	ID, Type string         // the SSE id and event fields
	Data     map[string]any // the JSON
	Raw      string
}

func (e respEvent) seq() int { return int(e.Data["sequence_number"].(float64)) }

func (e respEvent) str(key string) string { s, _ := e.Data[key].(string); return s }

// respServer is a hub whose simulated model answers at once.
func respServer(t *testing.T, mutate func(*app.Config)) *apptest.Server {
	return apptest.NewServer(t, func(c *app.Config) {
		c.SimTTFT, c.SimTokensPerSec = time.Millisecond, 1e6
		if mutate != nil {
			mutate(c)
		}
	})
}

// do sends a request with a bearer token (none when "") and returns the
// response, its body unread.
func do(t *testing.T, ctx context.Context, s *apptest.Server, method, path, tok, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// readEvents reads a whole Responses stream.
func readEvents(t *testing.T, resp *http.Response) []respEvent {
	t.Helper()
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("stream: %d %s", resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	var evs []respEvent
	p := sse.NewParser(resp.Body)
	for {
		ev, err := p.Next()
		if errors.Is(err, io.EOF) {
			return evs
		}
		if err != nil {
			t.Fatalf("read the stream: %v", err)
		}
		e := respEvent{ID: ev.ID, Type: ev.Type, Raw: ev.Data}
		if err := json.Unmarshal([]byte(ev.Data), &e.Data); err != nil {
			t.Fatalf("event %q: %v", ev.Data, err)
		}
		evs = append(evs, e)
	}
}

// stream posts a streamed response or GETs a stream, and reads it whole.
func stream(t *testing.T, s *apptest.Server, method, path, tok, body string) []respEvent {
	t.Helper()
	return readEvents(t, do(t, context.Background(), s, method, path, tok, body))
}

// jsonCall sends a request and decodes the JSON answer into a map.
func jsonCall(t *testing.T, s *apptest.Server, method, path, tok, body string) (int, map[string]any) {
	t.Helper()
	status, b := call(t, s, method, path, tok, body)
	var m map[string]any
	if err := json.Unmarshal([]byte(b), &m); err != nil {
		t.Fatalf("%s %s: %d %q: %v", method, path, status, b, err)
	}
	return status, m
}

// outputText concatenates the text parts of a Response object's output.
func outputText(obj map[string]any) string {
	var sb strings.Builder
	for _, o := range obj["output"].([]any) {
		it := o.(map[string]any)
		if it["type"] != "message" {
			continue
		}
		for _, p := range it["content"].([]any) {
			sb.WriteString(p.(map[string]any)["text"].(string))
		}
	}
	return sb.String()
}

// checkSequence checks the invariants of a whole stream: sequence numbers
// 0, 1, 2… equal to the SSE ids and types equal to the event fields;
// deltas concatenated equal output_text.done and the final response's text.
func checkSequence(t *testing.T, evs []respEvent) (text string, final map[string]any) {
	t.Helper()
	var deltas strings.Builder
	done := ""
	for i, e := range evs {
		if e.seq() != i || e.ID != strconv.Itoa(i) || e.Type != e.str("type") {
			t.Fatalf("event %d: id %q type %q, data %s", i, e.ID, e.Type, e.Raw)
		}
		switch e.Type {
		case "response.output_text.delta":
			deltas.WriteString(e.str("delta"))
			if lp, ok := e.Data["logprobs"].([]any); !ok || len(lp) != 0 {
				t.Errorf("delta without logprobs []: %s", e.Raw)
			}
		case "response.output_text.done":
			done = e.str("text")
		}
	}
	final = evs[len(evs)-1].Data["response"].(map[string]any)
	if deltas.String() != done || outputText(final) != done {
		t.Errorf("deltas %q, done %q, final %q", deltas.String(), done, outputText(final))
	}
	return done, final
}

// types are the event types of a stream.
func types(evs []respEvent) []string {
	var ts []string
	for _, e := range evs {
		ts = append(ts, e.Type)
	}
	return ts
}

// TestResponseStreamSequence: a streamed response sends OpenAI's events in
// OpenAI's order, numbered from 0, with the usage and text in the final
// response; GET of the response answers the same object.
func TestResponseStreamSequence(t *testing.T) {
	s := respServer(t, nil)
	evs := stream(t, s, http.MethodPost, "/v1/responses", "", `{"model":"ssehub-sim","input":"Tell me about SSE","max_output_tokens":12,"stream":true,"metadata":{"k":"v"},"instructions":"Be brief"}`)
	text, final := checkSequence(t, evs)
	ts := types(evs)
	head := []string{"response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"}
	tail := []string{"response.output_text.done", "response.content_part.done", "response.output_item.done", "response.incomplete"}
	if len(ts) < 9 || !slices.Equal(ts[:4], head) || !slices.Equal(ts[len(ts)-4:], tail) {
		t.Fatalf("types %v", ts)
	}
	for _, typ := range ts[4 : len(ts)-4] {
		if typ != "response.output_text.delta" {
			t.Fatalf("types %v", ts)
		}
	}
	id := final["id"].(string)
	usage := final["usage"].(map[string]any)
	if final["status"] != "incomplete" || usage["output_tokens"] != 12.0 || usage["total_tokens"] != usage["input_tokens"].(float64)+12 ||
		final["incomplete_details"].(map[string]any)["reason"] != "max_output_tokens" || !strings.HasPrefix(id, "resp_") || text == "" {
		t.Errorf("final response %v", final)
	}
	if final["instructions"] != "Be brief" || final["metadata"].(map[string]any)["k"] != "v" || final["object"] != "response" || final["model"] != "ssehub-sim" {
		t.Errorf("final response fields %v", final)
	}
	created := evs[0].Data["response"].(map[string]any)
	if created["status"] != "in_progress" || len(created["output"].([]any)) != 0 || created["id"] != id {
		t.Errorf("created %v", created)
	}
	status, got := jsonCall(t, s, http.MethodGet, "/v1/responses/"+id, "", "")
	want, _ := json.Marshal(final)
	gotJSON, _ := json.Marshal(got)
	if status != http.StatusOK || string(gotJSON) != string(want) {
		t.Errorf("GET: %d\n%s\nwant\n%s", status, gotJSON, want)
	}
}

// TestResponseResumeFromEveryEvent: a finished response replays whole, and
// from every starting_after exactly the rest; past the end is a 400.
func TestResponseResumeFromEveryEvent(t *testing.T) {
	s := respServer(t, nil)
	all := stream(t, s, http.MethodPost, "/v1/responses", "", `{"input":"Resume me","max_output_tokens":5,"stream":true}`)
	id := all[0].Data["response"].(map[string]any)["id"].(string)
	replay := stream(t, s, http.MethodGet, "/v1/responses/"+id+"?stream=true", "", "")
	if !sameEvents(replay, all) {
		t.Fatalf("replay %v\nwant %v", types(replay), types(all))
	}
	for n := range len(all) - 1 {
		rest := stream(t, s, http.MethodGet, fmt.Sprintf("/v1/responses/%s?stream=true&starting_after=%d", id, n), "", "")
		if !sameEvents(rest, all[n+1:]) {
			t.Errorf("starting_after=%d: %v", n, types(rest))
		}
	}
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/v1/responses/"+id+"?stream=true", nil)
	req.Header.Set("Last-Event-ID", "3") // an EventSource reconnecting
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if rest := readEvents(t, resp); !sameEvents(rest, all[4:]) {
		t.Errorf("Last-Event-ID: 3: %v", types(rest))
	}
	resp = do(t, context.Background(), s, http.MethodGet, fmt.Sprintf("/v1/responses/%s?stream=true&starting_after=%d", id, len(all)-1), "", "")
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusOK || len(b) != 0 {
		t.Errorf("starting_after the last: %d %q, want an empty stream", resp.StatusCode, b)
	}
	resp.Body.Close()
	for _, after := range []string{strconv.Itoa(len(all)), "x", "-2"} {
		status, body := call(t, s, http.MethodGet, "/v1/responses/"+id+"?stream=true&starting_after="+after, "", "")
		if status != http.StatusBadRequest || !strings.Contains(body, "invalid_request_error") || !strings.Contains(body, "starting_after") {
			t.Errorf("starting_after=%s: %d %s", after, status, body)
		}
	}
}

func sameEvents(a, b []respEvent) bool {
	return slices.EqualFunc(a, b, func(x, y respEvent) bool { return x.Raw == y.Raw && x.ID == y.ID && x.Type == y.Type })
}
