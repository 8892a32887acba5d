package llm_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ssehub/ssehub/internal/history"
	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/llm"
)

// slowPublisher is a hub whose every publish takes delay longer: a store
// that cannot keep up with the model.
type slowPublisher struct {
	*hub.Hub
	delay atomic.Int64 // nanoseconds
	// lazyTokens and eagerTokens count the token events published lazy
	// (hub.Update.Lazy) and the others; lazyOthers the others lazy.
	lazyTokens, eagerTokens, lazyOthers atomic.Int64
}

func (p *slowPublisher) Publish(ctx context.Context, u *hub.Update) (string, error) {
	switch {
	case u.Type == llm.EventToken && u.Lazy:
		p.lazyTokens.Add(1)
	case u.Type == llm.EventToken:
		p.eagerTokens.Add(1)
	case u.Lazy:
		p.lazyOthers.Add(1)
	}
	time.Sleep(time.Duration(p.delay.Load()))
	return p.Hub.Publish(ctx, u)
}

func slowSetup(t *testing.T, model llm.Model, cfg llm.ManagerConfig, delay time.Duration) (*slowPublisher, *llm.Manager) {
	t.Helper()
	p := &slowPublisher{Hub: hub.New(hub.Config{History: history.NewMemory(history.MemoryConfig{})})}
	p.delay.Store(int64(delay))
	cfg.Model = model
	m := llm.NewManager(cfg, p)
	t.Cleanup(func() { m.Close(); p.Close() })
	return p, m
}

// tokenEvent is a token event's data.
type tokenEvent struct {
	Text   string `json:"text"`
	Tokens int    `json:"tokens"`
}

// allEvents reads a generation's topic from after until its end.
func allEvents(t *testing.T, h *hub.Hub, topic, after string) (toks []tokenEvent, end *hub.Update) {
	t.Helper()
	s, err := h.Subscribe(context.Background(), hub.SubscribeOptions{Topics: []string{topic}, LastEventID: after})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case <-s.Ready():
		case <-deadline:
			t.Fatalf("no end event after %d token events", len(toks))
		}
		for _, u := range s.Drain(nil) {
			if u.Type != llm.EventToken {
				return toks, u
			}
			var ev tokenEvent
			if err := json.Unmarshal([]byte(u.Data), &ev); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(u.Data, `"tokens"`) && ev.Tokens <= 1 {
				t.Errorf("event %s: tokens must be absent for one token and above 1 otherwise", u.Data)
			}
			toks = append(toks, ev)
		}
	}
}

// TestCoalescedDeltas publishes through a slow store: events carry several
// whole tokens, in order, and add up to the model's answer.
func TestCoalescedDeltas(t *testing.T) {
	var model scripted
	runes := []string{"你", "好", "é", "🙂", "a", "ß", " ", "€"}
	for i := range 300 {
		model.tokens = append(model.tokens, runes[i%len(runes)]+runes[(i+3)%len(runes)])
	}
	p, m := slowSetup(t, &model, llm.ManagerConfig{}, 2*time.Millisecond)
	g, err := m.Start(llm.Request{Messages: userMsg})
	if err != nil {
		t.Fatal(err)
	}
	toks, end := allEvents(t, p.Hub, g.Topic(), hub.Earliest)
	if end.Type != llm.EventDone || !strings.Contains(end.Data, `"completion_tokens":300`) {
		t.Fatalf("end %s %s", end.Type, end.Data)
	}
	next, total, coalesced := 0, 0, 0
	var text strings.Builder
	for _, ev := range toks {
		n := max(1, ev.Tokens)
		if n > 1 {
			coalesced++
		}
		if want := strings.Join(model.tokens[next:min(next+n, len(model.tokens))], ""); ev.Text != want || !utf8.ValidString(ev.Text) {
			t.Fatalf("event %d tokens %q, want the model's tokens %d..%d %q", n, ev.Text, next, next+n, want)
		}
		next += n
		total += n
		text.WriteString(ev.Text)
	}
	if total != 300 || text.String() != strings.Join(model.tokens, "") {
		t.Fatalf("%d tokens in %d events, text %q", total, len(toks), text.String())
	}
	if coalesced == 0 || len(toks) >= 300 {
		t.Errorf("%d events, %d coalesced: a slow store should get several tokens per event", len(toks), coalesced)
	}
	if snap := finished(t, g); snap.Text != text.String() || snap.Tokens != 300 || snap.LastEventID != end.ID {
		t.Errorf("snapshot %d tokens, last %s; want the events' text, 300, %s", snap.Tokens, snap.LastEventID, end.ID)
	}
	if st := m.Stats(); st.Tokens != 300 {
		t.Errorf("stats count %d tokens, want 300", st.Tokens)
	}
	// Token events may wait for a durable store's next commit; the start
	// and the end may not.
	if lazy, eager, others := p.lazyTokens.Load(), p.eagerTokens.Load(), p.lazyOthers.Load(); lazy != int64(len(toks)) || eager != 0 || others != 0 {
		t.Errorf("%d token events lazy, %d not, %d other events lazy; want all %d token events and nothing else", lazy, eager, others, len(toks))
	}
}

// TestOneTokenPerEventWhenFast keeps today's events when the store keeps
// up: a model that waits between tokens gets one event per token, without
// a count.
func TestOneTokenPerEventWhenFast(t *testing.T) {
	model := &paced{tokens: []string{"a", "b", "c", "d"}, every: 5 * time.Millisecond}
	p, m := slowSetup(t, model, llm.ManagerConfig{}, 0)
	g, err := m.Start(llm.Request{Messages: userMsg})
	if err != nil {
		t.Fatal(err)
	}
	toks, end := allEvents(t, p.Hub, g.Topic(), hub.Earliest)
	if len(toks) != 4 || end.Type != llm.EventDone {
		t.Fatalf("events %+v, end %s", toks, end.Type)
	}
	for _, ev := range toks {
		if ev.Tokens != 0 {
			t.Errorf("event %+v carries a count", ev)
		}
	}
}

// TestStopFlushesPending stops a generation whose tokens wait on a slow
// store: every emitted token is published, then done "stopped".
func TestStopFlushesPending(t *testing.T) {
	model := &scripted{tokens: []string{"a", "b", "c", "d", "e"}, pauseAt: 4, release: make(chan struct{})}
	p, m := slowSetup(t, model, llm.ManagerConfig{}, 20*time.Millisecond)
	g, err := m.Start(llm.Request{Messages: userMsg})
	if err != nil {
		t.Fatal(err)
	}
	waitToken(t, p.Hub, g.Topic())
	if _, err := m.Stop(g.ID()); err != nil {
		t.Fatal(err)
	}
	toks, end := allEvents(t, p.Hub, g.Topic(), hub.Earliest)
	var text strings.Builder
	for _, ev := range toks {
		text.WriteString(ev.Text)
	}
	if text.String() != "abcd" || end.Type != llm.EventDone || !strings.Contains(end.Data, `"stopped"`) {
		t.Fatalf("text %q, end %s %s", text.String(), end.Type, end.Data)
	}
}

// paced is a Model that emits its tokens every so often.
type paced struct {
	tokens []string
	every  time.Duration
}

func (p *paced) Stream(ctx context.Context, _ llm.Request, emit func(string) error) (llm.Result, error) {
	for _, tok := range p.tokens {
		select {
		case <-time.After(p.every):
		case <-ctx.Done():
			return llm.Result{}, ctx.Err()
		}
		if err := emit(tok); err != nil {
			return llm.Result{}, err
		}
	}
	return llm.Result{FinishReason: llm.FinishStop, Usage: llm.Usage{CompletionTokens: len(p.tokens)}}, nil
}

// TestPendingIsBounded: past MaxPending bytes the model waits for the
// publisher, so no event carries more, and nothing is lost.
func TestPendingIsBounded(t *testing.T) {
	model := &scripted{tokens: strings.Split(strings.Repeat("ab ", 100), " ")[:100]}
	p, m := slowSetup(t, model, llm.ManagerConfig{MaxPending: 5}, 2*time.Millisecond)
	g, err := m.Start(llm.Request{Messages: userMsg})
	if err != nil {
		t.Fatal(err)
	}
	toks, end := allEvents(t, p.Hub, g.Topic(), hub.Earliest)
	var text strings.Builder
	for _, ev := range toks {
		if len(ev.Text) > 5 || ev.Tokens > 2 {
			t.Fatalf("event %+v holds more than MaxPending, 5 bytes", ev)
		}
		text.WriteString(ev.Text)
	}
	if text.String() != strings.Repeat("ab", 100) || end.Type != llm.EventDone {
		t.Fatalf("text %q, end %s", text.String(), end.Type)
	}
}
