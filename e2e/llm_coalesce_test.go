package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/sse"
)

// TestGenerationCoalescedResume runs a fast model over a durable
// store, so that token events may carry several tokens, and resumes mid-answer
// with Last-Event-ID: the rest is exact and the counts add up.
func TestGenerationCoalescedResume(t *testing.T) {
	dir := t.TempDir()
	base := llmServer(t, 2000, func(c *app.Config) { c.DataDir = dir })
	_, topic := startGeneration(t, base, 1500)
	first, last, n1, end := countedStream(t, base, topic, "earliest", 3)
	if end != nil {
		t.Fatal("generation ended before the reconnect")
	}
	rest, _, n2, end := countedStream(t, base, topic, last, 0)
	if end == nil || end.Type != "done" {
		t.Fatalf("end %+v", end)
	}
	var done struct {
		Usage struct {
			CompletionTokens int `json:"completion_tokens"`
		}
	}
	if err := json.Unmarshal([]byte(end.Data), &done); err != nil || done.Usage.CompletionTokens != n1+n2 {
		t.Fatalf("events count %d+%d tokens, done says %s", n1, n2, end.Data)
	}
	if want := directAnswer(t, base, 1500); first+rest != want {
		t.Fatalf("resumed text differs:\n got %q\nwant %q", first+rest, want)
	}
}

// countedStream reads a generation's events after lastID until its end, or
// until stopAfter token events: the text, the last id, the tokens counted
// by the events and the end event, if reached.
func countedStream(t *testing.T, base, topic, lastID string, stopAfter int) (text, last string, tokens int, end *sse.Event) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/events?topic="+url.QueryEscape(topic), nil)
	req.Header.Set("Last-Event-ID", lastID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := sse.NewParser(resp.Body)
	var sb strings.Builder
	for events := 0; stopAfter == 0 || events < stopAfter; events++ {
		ev, err := p.Next()
		if err != nil {
			t.Fatalf("after %d events: %v", events, err)
		}
		last = ev.ID
		if ev.Type != "token" {
			return sb.String(), last, tokens, &ev
		}
		var tok struct {
			Text   string
			Tokens int
		}
		if err := json.Unmarshal([]byte(ev.Data), &tok); err != nil {
			t.Fatal(err)
		}
		sb.WriteString(tok.Text)
		tokens += max(1, tok.Tokens)
	}
	return sb.String(), last, tokens, nil
}
