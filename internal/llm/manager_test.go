package llm_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/history"
	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/llm"
)

// scripted is a Model that emits its tokens, pausing before index pauseAt
// until release is closed, then fails with err if set.
type scripted struct {
	tokens  []string
	pauseAt int
	release chan struct{}
	err     error
}

func (s *scripted) Stream(ctx context.Context, _ llm.Request, emit func(string) error) (llm.Result, error) {
	for i, t := range s.tokens {
		if i == s.pauseAt && s.release != nil {
			select {
			case <-s.release:
			case <-ctx.Done():
				return llm.Result{}, ctx.Err()
			}
		}
		if err := emit(t); err != nil {
			return llm.Result{}, err
		}
	}
	if s.err != nil {
		return llm.Result{}, s.err
	}
	return llm.Result{FinishReason: llm.FinishStop, Usage: llm.Usage{PromptTokens: 3, CompletionTokens: len(s.tokens), TotalTokens: 3 + len(s.tokens)}}, nil
}

func setup(t *testing.T, model llm.Model, cfg llm.ManagerConfig) (*hub.Hub, *llm.Manager) {
	t.Helper()
	h := hub.New(hub.Config{History: history.NewMemory(history.MemoryConfig{})})
	cfg.Model = model
	m := llm.NewManager(cfg, h)
	t.Cleanup(func() { m.Close(); h.Close() })
	return h, m
}

var userMsg = []llm.Message{{Role: "user", Content: "hi"}}

// events reads a generation's topic from the start until done or error.
func events(t *testing.T, h *hub.Hub, topic, after string) (text string, last *hub.Update) {
	t.Helper()
	s, err := h.Subscribe(context.Background(), hub.SubscribeOptions{Topics: []string{topic}, LastEventID: after})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var sb strings.Builder
	var buf []*hub.Update
	deadline := time.After(5 * time.Second)
	for {
		select {
		case <-s.Ready():
		case <-deadline:
			t.Fatalf("no end event; text so far %q", sb.String())
		}
		buf = s.Drain(buf)
		for _, u := range buf {
			if u.Type != llm.EventToken {
				return sb.String(), u
			}
			var tok struct{ Text string }
			if err := json.Unmarshal([]byte(u.Data), &tok); err != nil {
				t.Fatal(err)
			}
			sb.WriteString(tok.Text)
		}
	}
}

func TestGenerationPublishesTokensThenDone(t *testing.T) {
	h, m := setup(t, &scripted{tokens: []string{"Hel", "lo", " world"}}, llm.ManagerConfig{})
	g, err := m.Start(llm.Request{Messages: userMsg})
	if err != nil {
		t.Fatal(err)
	}
	text, end := events(t, h, g.Topic(), hub.Earliest)
	if text != "Hello world" || end.Type != llm.EventDone || !strings.Contains(end.Data, `"reason":"stop"`) {
		t.Fatalf("text %q, end %s %s", text, end.Type, end.Data)
	}
	snap := finished(t, g)
	if snap.Status != llm.StatusDone || snap.Text != "Hello world" || snap.Usage.CompletionTokens != 3 || snap.LastEventID != end.ID {
		t.Fatalf("snapshot %+v", snap)
	}
}

// finished waits for the generation's snapshot to leave "running": the
// closing event is visible to subscribers an instant before the snapshot
// records it.
func finished(t *testing.T, g *llm.Generation) llm.Snapshot {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		snap := g.Snapshot()
		if snap.Status != llm.StatusRunning {
			return snap
		}
		if time.Now().After(deadline) {
			t.Fatalf("snapshot still running: %+v", snap)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestGenerationResumesMidAnswerAndStops(t *testing.T) {
	model := &scripted{tokens: []string{"a", "b", "c", "d"}, pauseAt: 2, release: make(chan struct{})}
	h, m := setup(t, model, llm.ManagerConfig{})
	g, err := m.Start(llm.Request{Messages: userMsg})
	if err != nil {
		t.Fatal(err)
	}
	s, err := h.Subscribe(context.Background(), hub.SubscribeOptions{Topics: []string{g.Topic()}, LastEventID: hub.Earliest})
	if err != nil {
		t.Fatal(err)
	}
	var first []*hub.Update
	var seen strings.Builder
	for seen.Len() < 2 { // one event or two: "ab" may be coalesced
		<-s.Ready()
		for _, u := range s.Drain(nil) {
			var tok struct{ Text string }
			if err := json.Unmarshal([]byte(u.Data), &tok); err != nil {
				t.Fatal(err)
			}
			seen.WriteString(tok.Text)
			first = append(first, u)
		}
	}
	s.Close() // the page reloads after two tokens
	if _, err := m.Stop(g.ID()); err != nil {
		t.Fatal(err)
	}
	text, end := events(t, h, g.Topic(), first[len(first)-1].ID)
	if text != "" || end.Type != llm.EventDone || !strings.Contains(end.Data, `"reason":"stopped"`) {
		t.Fatalf("after resume: text %q, end %s %s", text, end.Type, end.Data)
	}
	if snap := finished(t, g); snap.Text != "ab" || snap.FinishReason != llm.FinishStopped {
		t.Fatalf("snapshot %+v", snap)
	}
}

func TestGenerationErrorsAndLimits(t *testing.T) {
	failing := &scripted{tokens: []string{"x"}, err: &llm.Error{Kind: llm.KindInterrupted, Message: "cut"}}
	h, m := setup(t, failing, llm.ManagerConfig{MaxTokens: 10})
	g, err := m.Start(llm.Request{Messages: userMsg})
	if err != nil {
		t.Fatal(err)
	}
	if _, end := events(t, h, g.Topic(), hub.Earliest); end.Type != llm.EventError || !strings.Contains(end.Data, "interrupted") {
		t.Fatalf("end %s %s", end.Type, end.Data)
	}
	bad := []llm.Request{
		{},
		{Messages: []llm.Message{{Role: "robot", Content: "x"}}},
		{Messages: userMsg, MaxTokens: 11},
		{Messages: userMsg, MaxTokens: -1},
	}
	for _, req := range bad {
		if _, err := m.Start(req); llm.KindOf(err) != llm.KindInvalid {
			t.Errorf("start %+v: %v, want invalid", req, err)
		}
	}
}

func TestGenerationConcurrencyLimitAndTimeout(t *testing.T) {
	blocked := &scripted{tokens: []string{"x"}, pauseAt: 0, release: make(chan struct{})}
	h, m := setup(t, blocked, llm.ManagerConfig{MaxConcurrent: 2, Timeout: 300 * time.Millisecond})
	var gens []*llm.Generation
	for range 2 {
		g, err := m.Start(llm.Request{Messages: userMsg})
		if err != nil {
			t.Fatal(err)
		}
		gens = append(gens, g)
	}
	if _, err := m.Start(llm.Request{Messages: userMsg}); !errors.Is(err, llm.ErrTooMany) {
		t.Fatalf("third start: %v", err)
	}
	for _, g := range gens {
		if _, end := events(t, h, g.Topic(), hub.Earliest); end.Type != llm.EventError || !strings.Contains(end.Data, "timeout") {
			t.Fatalf("end %s %s", end.Type, end.Data)
		}
	}
	if _, err := m.Stop("missing"); !errors.Is(err, llm.ErrNotFound) {
		t.Fatalf("stop missing: %v", err)
	}
}

// caller is a Model that answers with tool calls and no text.
type caller struct{ calls []llm.ToolCall }

func (c caller) Stream(context.Context, llm.Request, func(string) error) (llm.Result, error) {
	return llm.Result{FinishReason: llm.FinishToolCalls, ToolCalls: c.calls}, nil
}

func TestRecordAndToolCallEvents(t *testing.T) {
	calls := []llm.ToolCall{{ID: "call_1", Name: "a", Arguments: `{"x":1}`}, {ID: "call_2", Name: "b", Arguments: `{}`}}
	h, m := setup(t, caller{calls}, llm.ManagerConfig{})
	g, err := m.Start(llm.Request{Messages: userMsg, ID: "resp_1", Record: `{"r":1}`, Tools: []llm.Tool{{Name: "a"}, {Name: "b"}}})
	if err != nil {
		t.Fatal(err)
	}
	if g.ID() != "resp_1" {
		t.Fatalf("id %q", g.ID())
	}
	s, err := h.Subscribe(context.Background(), hub.SubscribeOptions{Topics: []string{g.Topic()}, LastEventID: hub.Earliest})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var got []string
	var buf []*hub.Update
	for len(got) == 0 || got[len(got)-1] != llm.EventDone+" "+`{"reason":"tool_calls","usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}}` {
		select {
		case <-s.Ready():
		case <-time.After(5 * time.Second):
			t.Fatalf("events so far: %q", got)
		}
		buf = s.Drain(buf)
		for _, u := range buf {
			got = append(got, u.Type+" "+u.Data)
		}
	}
	want := []string{`start {"r":1}`, `tool_call {"id":"call_1","name":"a","arguments":"{\"x\":1}"}`, `tool_call {"id":"call_2","name":"b","arguments":"{}"}`}
	if len(got) != 4 || strings.Join(got[:3], "\n") != strings.Join(want, "\n") {
		t.Fatalf("events\n%s\nwant\n%s\nthen done", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if snap := g.Snapshot(); len(snap.ToolCalls) != 2 || snap.ToolCalls[1] != calls[1] {
		t.Fatalf("snapshot calls %+v", snap.ToolCalls)
	}
	if _, err := m.Start(llm.Request{Messages: userMsg, ID: "resp_1"}); llm.KindOf(err) != llm.KindInvalid {
		t.Fatalf("a second generation with the same id: %v", err)
	}
}

func TestValidateTools(t *testing.T) {
	_, m := setup(t, caller{}, llm.ManagerConfig{})
	for _, tc := range []struct {
		req  llm.Request
		want string
	}{
		{llm.Request{ID: "a/b"}, "id"},
		{llm.Request{Tools: []llm.Tool{{Name: ""}}}, "tools[0].name"},
		{llm.Request{Tools: []llm.Tool{{Name: "a"}, {Name: "a"}}}, "two tools"},
		{llm.Request{ToolChoice: "sometimes"}, "tool_choice"},
		{llm.Request{ToolChoice: llm.ToolChoiceRequired}, "none is given"},
		{llm.Request{Tools: []llm.Tool{{Name: "a"}}, ToolChoice: llm.ToolChoiceRequired, ForceTool: "b"}, "no tool is named"},
		{llm.Request{Tools: []llm.Tool{{Name: "a"}}, ForceTool: "a"}, "needs the required choice"},
		{llm.Request{Messages: []llm.Message{{Role: "user", Content: "x"}, {Role: "tool", Content: "out"}}}, "needs the id of its call"},
	} {
		if tc.req.Messages == nil {
			tc.req.Messages = userMsg
		}
		err := m.Validate(&tc.req)
		if err == nil || !strings.Contains(err.Error(), tc.want) || llm.KindOf(err) != llm.KindInvalid {
			t.Errorf("%+v: %v, want an invalid request naming %q", tc.req, err, tc.want)
		}
	}
}

func TestPerClientLimit(t *testing.T) {
	blocked := &scripted{tokens: []string{"x"}, pauseAt: 0, release: make(chan struct{})}
	h, m := setup(t, blocked, llm.ManagerConfig{MaxPerClient: 2})
	var first *llm.Generation
	for i := range 2 {
		g, err := m.Start(llm.Request{Messages: userMsg, Client: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = g
		}
	}
	if _, err := m.Start(llm.Request{Messages: userMsg, Client: "alice"}); !errors.Is(err, llm.ErrTooMany) || !strings.Contains(err.Error(), "this client") {
		t.Fatalf("alice's third: %v", err)
	}
	if _, err := m.Start(llm.Request{Messages: userMsg, Client: "bob"}); err != nil {
		t.Fatalf("bob is another client: %v", err)
	}
	if _, err := m.Start(llm.Request{Messages: userMsg}); err != nil {
		t.Fatalf("no client is not limited: %v", err)
	}
	if _, err := m.Stop(first.ID()); err != nil {
		t.Fatal(err)
	}
	events(t, h, first.Topic(), hub.Earliest)
	// The count drops just after the closing event is published.
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := m.Start(llm.Request{Messages: userMsg, Client: "alice"})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("once one ended alice may start again: %v", err)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestRecover plays a crash: a second Manager on the same history, as a
// restarted node, finds the first one's running generation in the
// register and ends it with an interrupted error event, unless another
// node says it runs it; finished generations are left alone.
func TestRecover(t *testing.T) {
	hist := history.NewMemory(history.MemoryConfig{})
	h := hub.New(hub.Config{History: hist})
	defer h.Close()
	quiet := slog.New(slog.DiscardHandler)
	finisher := llm.NewManager(llm.ManagerConfig{Model: &scripted{tokens: []string{"x"}}, Logger: quiet}, h)
	defer finisher.Close()
	done, err := finisher.Start(llm.Request{Messages: userMsg})
	if err != nil {
		t.Fatal(err)
	}
	if _, end := events(t, h, done.Topic(), hub.Earliest); end.Type != llm.EventDone {
		t.Fatalf("the finished one ended with %s", end.Type)
	}
	blocked := &scripted{tokens: []string{"a", "b"}, pauseAt: 1, release: make(chan struct{})}
	crashed := llm.NewManager(llm.ManagerConfig{Model: blocked, Logger: quiet}, h)
	defer crashed.Close()
	cut, err := crashed.Start(llm.Request{Messages: userMsg})
	if err != nil {
		t.Fatal(err)
	}
	for cut.Snapshot().Tokens < 1 { // "a" is published, "b" never
		time.Sleep(time.Millisecond)
	}
	restarted := llm.NewManager(llm.ManagerConfig{Model: blocked, Logger: quiet}, h)
	defer restarted.Close()
	alive := func(context.Context, string) (bool, error) { return true, nil }
	if n, err := restarted.Recover(context.Background(), hist, alive); n != 0 || err != nil {
		t.Fatalf("with the generation alive elsewhere: ended %d, %v", n, err)
	}
	// The finished generation is written down as ended just after its
	// closing event: wait for that.
	for finisher.Stats().Running > 0 {
		time.Sleep(time.Millisecond)
	}
	n, err := restarted.Recover(context.Background(), hist, nil)
	if err != nil || n != 1 {
		t.Fatalf("ended %d, %v", n, err)
	}
	text, end := events(t, h, cut.Topic(), hub.Earliest)
	if end.Type != llm.EventError || !strings.Contains(end.Data, `"kind":"interrupted"`) || text != "a" {
		t.Fatalf("the cut generation: text %q then %s %s", text, end.Type, end.Data)
	}
	if n, err := restarted.Recover(context.Background(), hist, nil); n != 0 || err != nil {
		t.Fatalf("a second recovery ended %d more, %v", n, err)
	}
}

// TestFinishedGenerationsAreForgotten: a finished generation stays
// readable for Retain, then a later start forgets it; one finished just
// now stays.
func TestFinishedGenerationsAreForgotten(t *testing.T) {
	const retain = 100 * time.Millisecond
	_, m := setup(t, &scripted{tokens: []string{"x"}}, llm.ManagerConfig{Retain: retain})
	start := func() *llm.Generation {
		t.Helper()
		g, err := m.Start(llm.Request{Messages: userMsg})
		if err != nil {
			t.Fatal(err)
		}
		finished(t, g)
		return g
	}
	old := start()
	if _, ok := m.Get(old.ID()); !ok {
		t.Fatal("a generation that just finished is forgotten")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		time.Sleep(retain)
		recent := start()
		if _, ok := m.Get(recent.ID()); !ok {
			t.Fatal("a generation that just finished is forgotten")
		}
		if _, ok := m.Get(old.ID()); !ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("generation %s is still kept %v after it finished (Retain %v)", old.ID(), time.Since(deadline.Add(-5*time.Second)), retain)
		}
	}
}
