package e2e

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/llm"
	"github.com/ssehub/ssehub/internal/llm/sim"
)

// sdkStream is what responses_sdk.mjs saw of one stream.
type sdkStream struct {
	ID     string
	Deltas []string
	Done   *string
	Types  []string
	Seqs   []int
	Last   int
	Final  *struct {
		Status string
		Usage  map[string]any
	}
}

func (s sdkStream) text() string { return strings.Join(s.Deltas, "") }

// sdkCut is a stream dropped after a few deltas and its resumption.
type sdkCut struct {
	ID          string
	First, Rest sdkStream
}

// TestOpenAINodeSDKResponses points the npm openai package's Responses
// client at ssehub: create (non-streamed, streamed, background), streams
// dropped mid-answer and resumed with retrieve(id, {stream,
// starting_after}) and responses.stream({response_id}), cancel, delete.
func TestOpenAINodeSDKResponses(t *testing.T) {
	srv := startServer(t, serverOptions{configure: func(c *app.Config) {
		c.SimTTFT, c.SimTokensPerSec = 10*time.Millisecond, 200
	}})
	const prompt = "How do I resume a stream of events?"
	raw := nodeScript(t, "responses_sdk.mjs", srv.URL+"/v1", "ssehub-sim", prompt)
	var got struct {
		Full struct {
			ID, Object, Status, Text string
			Usage                    map[string]any
		}
		Stream     sdkStream
		Background struct {
			Status     string
			Background bool
			Stream     sdkStream
		}
		Cut, CutBackground sdkCut
		Helper             struct {
			FirstSeq     int
			Text, Status string
		}
		Cancel  struct{ Status, Text, Retrieved, RetrievedText string }
		Deleted struct {
			Status int
			Type   string
		}
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("node output %q: %v", raw, err)
	}
	want, _, err := sim.New(sim.Config{}).Complete(llm.Request{Messages: []llm.Message{{Role: "user", Content: prompt}}, MaxTokens: 40})
	if err != nil {
		t.Fatal(err)
	}
	if got.Full.Object != "response" || got.Full.Status != "incomplete" || got.Full.Text != want || got.Full.Usage["output_tokens"] != 40.0 {
		t.Errorf("non-streamed: %+v, want text %q", got.Full, want)
	}
	checkSDKStream(t, "streamed", got.Stream, want, "response.created", "response.in_progress")
	if got.Background.Status != "queued" || !got.Background.Background {
		t.Errorf("background create: %+v", got.Background)
	}
	checkSDKStream(t, "background", got.Background.Stream, want, "response.created", "response.queued", "response.in_progress")
	for name, c := range map[string]sdkCut{"cut": got.Cut, "cut background": got.CutBackground} {
		if len(c.First.Deltas) != 3 || len(c.Rest.Seqs) == 0 || c.Rest.Seqs[0] != c.First.Last+1 {
			t.Errorf("%s: first %+v, rest starts %v", name, c.First, c.Rest.Seqs)
			continue
		}
		if c.Rest.Done == nil || c.First.text()+c.Rest.text() != *c.Rest.Done || *c.Rest.Done != want {
			t.Errorf("%s: %q + %q, done %v, want %q", name, c.First.text(), c.Rest.text(), c.Rest.Done, want)
		}
	}
	if got.Helper.FirstSeq != 6 || got.Helper.Text != want || got.Helper.Status != "incomplete" {
		t.Errorf("responses.stream({response_id, starting_after: 5}): %+v", got.Helper)
	}
	if got.Cancel.Status != "cancelled" || got.Cancel.Retrieved != "cancelled" || got.Cancel.Text == "" || got.Cancel.Text != got.Cancel.RetrievedText {
		t.Errorf("cancel: %+v", got.Cancel)
	}
	if got.Deleted.Status != http.StatusNotFound || got.Deleted.Type != "invalid_request_error" {
		t.Errorf("retrieve after delete: %+v", got.Deleted)
	}
}

// checkSDKStream checks a whole stream as the SDK read it: it starts with
// head, is numbered from 0, and its deltas make the expected text.
func checkSDKStream(t *testing.T, name string, s sdkStream, want string, head ...string) {
	t.Helper()
	for i, seq := range s.Seqs {
		if seq != i {
			t.Errorf("%s: sequence numbers %v", name, s.Seqs)
			break
		}
	}
	if len(s.Types) < len(head) || !slices.Equal(s.Types[:len(head)], head) || s.Types[len(s.Types)-1] != "response.incomplete" {
		t.Errorf("%s: types %v", name, s.Types)
	}
	if s.text() != want || s.Done == nil || *s.Done != want || s.Final == nil || s.Final.Status != "incomplete" {
		t.Errorf("%s: text %q done %v final %+v, want %q", name, s.text(), s.Done, s.Final, want)
	}
}
