package e2e

import (
	"encoding/json"
	"testing"

	"github.com/ssehub/ssehub/internal/app"
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
