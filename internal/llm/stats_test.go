package llm_test

import (
	"context"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/llm"
)

// TestStats counts generations by outcome and their tokens.
func TestStats(t *testing.T) {
	tests := []struct {
		name    string
		model   *scripted
		stop    bool
		outcome string
		tokens  uint64
	}{
		{"done", &scripted{tokens: []string{"a", "b", "c"}}, false, llm.OutcomeDone, 3},
		{"stopped", &scripted{tokens: []string{"a", "b"}, pauseAt: 1, release: make(chan struct{})}, true, llm.OutcomeStopped, 1},
		{"interrupted", &scripted{tokens: []string{"a"}, err: &llm.Error{Kind: llm.KindInterrupted, Message: "cut"}}, false, llm.OutcomeInterrupted, 1},
		{"error", &scripted{err: &llm.Error{Kind: llm.KindUpstream, Message: "502"}}, false, llm.OutcomeError, 0},
		{"timeout", &scripted{tokens: []string{"a"}, pauseAt: 0, release: make(chan struct{})}, false, llm.OutcomeTimeout, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, m := setup(t, tt.model, llm.ManagerConfig{Timeout: 200 * time.Millisecond})
			g, err := m.Start(llm.Request{Messages: userMsg})
			if err != nil {
				t.Fatal(err)
			}
			if tt.stop {
				waitToken(t, h, g.Topic())
			}
			if st := m.Stats(); st.Started > 1 || st.Running+int(sum(st.Finished)) != int(st.Started) {
				t.Errorf("mid-run stats %+v do not add up", st)
			}
			if tt.stop {
				if _, err := m.Stop(g.ID()); err != nil {
					t.Fatal(err)
				}
			}
			events(t, h, g.Topic(), hub.Earliest)
			m.Close() // waits for the generation to finish counting
			st := m.Stats()
			if st.Started != 1 || st.Running != 0 || st.Tokens != tt.tokens || st.Finished[tt.outcome] != 1 || sum(st.Finished) != 1 {
				t.Fatalf("stats %+v, want 1 started, 0 running, %d tokens, finished %s", st, tt.tokens, tt.outcome)
			}
			if len(st.Finished) != len(llm.Outcomes()) {
				t.Errorf("finished has %d outcomes, want every one of %v", len(st.Finished), llm.Outcomes())
			}
		})
	}
}

// waitToken waits for the first event on a generation's topic.
func waitToken(t *testing.T, h *hub.Hub, topic string) {
	t.Helper()
	s, err := h.Subscribe(context.Background(), hub.SubscribeOptions{Topics: []string{topic}, LastEventID: hub.Earliest})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	select {
	case <-s.Ready():
	case <-time.After(5 * time.Second):
		t.Fatal("no token")
	}
}

func sum(m map[string]uint64) uint64 {
	var n uint64
	for _, v := range m {
		n += v
	}
	return n
}
