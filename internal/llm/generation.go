package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ssehub/ssehub/internal/histogram"
	"github.com/ssehub/ssehub/internal/hub"
)

// Generation statuses.
const (
	StatusRunning = "running"
	StatusDone    = "done"
	StatusError   = "error"
)

// Cancellation causes telling a user's stop from a timeout or a shutdown.
var (
	errStopped  = errors.New("stopped by the user")
	errTimedOut = errors.New("generation timed out")
	errShutdown = errors.New("server shutting down")
)

// Generation is one answer being streamed to its topic.
type Generation struct {
	id, topic, model string
	owner, client    string // Request.Owner, Request.Client
	started          time.Time
	cancel           context.CancelFunc

	mu       sync.Mutex
	cause    error
	status   string
	text     strings.Builder
	tokens   int
	calls    []ToolCall
	lastID   string
	result   Result
	errMsg   string
	finished time.Time
}

// ID returns the generation's id.
func (g *Generation) ID() string { return g.id }

// Topic returns the topic its events are published to.
func (g *Generation) Topic() string { return g.topic }

// Owner returns who started it (Request.Owner); "" when nobody can be named.
func (g *Generation) Owner() string { return g.owner }

// Snapshot is a consistent view of a generation: the text so far and the
// id of the last event it includes, so a client can show the text and
// subscribe with lastEventID to get exactly the rest.
type Snapshot struct {
	ID           string     `json:"id"`
	Topic        string     `json:"topic"`
	Model        string     `json:"model,omitempty"`
	Status       string     `json:"status"`
	Text         string     `json:"text"`
	Tokens       int        `json:"tokens"`
	ToolCalls    []ToolCall `json:"tool_calls,omitempty"`
	LastEventID  string     `json:"last_event_id,omitempty"`
	FinishReason string     `json:"finish_reason,omitempty"`
	Usage        *Usage     `json:"usage,omitempty"`
	Error        string     `json:"error,omitempty"`
}

// Snapshot returns the generation's state.
func (g *Generation) Snapshot() Snapshot {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := Snapshot{ID: g.id, Topic: g.topic, Model: g.model, Status: g.status, Text: g.text.String(),
		Tokens: g.tokens, ToolCalls: g.calls, LastEventID: g.lastID, Error: g.errMsg}
	if g.status == StatusDone {
		s.FinishReason = g.result.FinishReason
		u := g.result.Usage
		s.Usage = &u
	}
	return s
}

func (g *Generation) stop()     { g.cancelWith(errStopped) }
func (g *Generation) shutdown() { g.cancelWith(errShutdown) }

func (g *Generation) cancelWith(cause error) {
	g.mu.Lock()
	if g.cause == nil && g.status == StatusRunning {
		g.cause = cause
	}
	g.mu.Unlock()
	g.cancel()
}

// Outcomes of a finished generation, as Stats counts them.
const (
	OutcomeDone        = "done"        // the model ended its answer or reached max tokens
	OutcomeStopped     = "stopped"     // a user stopped it
	OutcomeTimeout     = "timeout"     // it ran longer than the timeout
	OutcomeInterrupted = "interrupted" // cut mid-answer, by the upstream or a shutdown
	OutcomeError       = "error"       // the model or the upstream failed
)

// Outcomes returns every outcome, in a fixed order.
func Outcomes() []string {
	return []string{OutcomeDone, OutcomeStopped, OutcomeTimeout, OutcomeInterrupted, OutcomeError}
}

// Places of the outcomes in Outcomes.
const (
	iDone = iota
	iStopped
	iTimeout
	iInterrupted
	iError
	numOutcomes
)

// Stats counts a Manager's generations and the tokens they published.
type Stats struct {
	Started  uint64            // generations started
	Running  int               // started and not yet finished
	Finished map[string]uint64 // finished generations by outcome
	Tokens   uint64            // tokens published (an event may carry several)
	// Lateness is how late token events were published after their oldest
	// token was emitted: the time it waited in the pending text plus the
	// publish, since the start.
	Lateness histogram.Histogram
	// LatenessP99 is the p99 of the lateness over the last LatenessWindow;
	// 0 when no token was published then.
	LatenessP99 time.Duration
	// Limit is how many generations admission lets run at once now (see
	// capacity); 0 with admission off.
	Limit int
}

// counters are a Manager's Stats, kept with atomics so that counting a
// token costs no lock.
type counters struct {
	started, tokens atomic.Uint64
	finished        [numOutcomes]atomic.Uint64 // in the order of Outcomes
}

// Stats returns the generations' counters.
func (m *Manager) Stats() Stats {
	st := Stats{Started: m.stats.started.Load(), Tokens: m.stats.tokens.Load(), Finished: map[string]uint64{},
		Lateness: m.late.all.Snapshot()}
	st.LatenessP99, _ = m.late.recent(0.99)
	if m.cfg.MaxLateness > 0 {
		st.Limit = m.capacity.current()
	}
	var done uint64
	for i, o := range Outcomes() {
		n := m.stats.finished[i].Load()
		st.Finished[o] = n
		done += n
	}
	st.Running = int(st.Started - min(done, st.Started))
	return st
}

// outcomeIndex is the place of a generation's outcome in Outcomes.
func outcomeIndex(res Result, err error) int {
	if err == nil {
		if res.FinishReason == FinishStopped {
			return iStopped
		}
		return iDone
	}
	switch KindOf(err) {
	case KindTimeout:
		return iTimeout
	case KindInterrupted:
		return iInterrupted
	}
	return iError
}

// run streams the answer and publishes it; it ends with exactly one done
// or error event. The model never waits on the store: its tokens go to
// the pending text, which a publisher loop of this generation publishes
// (see publish), and run waits for the loop before the closing event.
func (m *Manager) run(ctx context.Context, g *Generation, req Request) {
	defer m.wg.Done()
	defer g.cancel()
	m.stats.started.Add(1)
	p := newPending(m.cfg.MaxPending)
	published := make(chan struct{})
	// Tokens emitted before a stop or a timeout are still published.
	go m.publish(context.WithoutCancel(ctx), g, p, published)
	res, err := m.cfg.Model.Stream(ctx, req, func(delta string) error { return p.add(ctx, delta) })
	p.close()
	<-published
	if perr := p.failure(); err == nil && perr != nil {
		err = perr
	}
	g.mu.Lock()
	cause := g.cause
	g.mu.Unlock()
	switch {
	case err == nil:
	case errors.Is(cause, errStopped):
		err = nil
		res.FinishReason = FinishStopped // keep the usage so far
	case errors.Is(context.Cause(ctx), errTimedOut):
		err = &Error{Kind: KindTimeout, Message: "the generation ran longer than " + m.cfg.Timeout.String()}
	case errors.Is(cause, errShutdown):
		err = &Error{Kind: KindInterrupted, Message: "the server is shutting down"}
	}
	if err == nil {
		err = m.publishCalls(g, res.ToolCalls)
	}
	m.finish(g, res, err)
}

// publishEvent publishes one event of g that is not a token, whatever
// happened to the generation's context.
func (m *Manager) publishEvent(g *Generation, typ, data string) error {
	id, err := m.pub.Publish(context.Background(), &hub.Update{Topics: []string{g.topic}, Type: typ, Data: data})
	if err != nil {
		return fmt.Errorf("publish the %s event: %w", typ, err)
	}
	g.mu.Lock()
	g.lastID = id
	g.mu.Unlock()
	return nil
}

// publishCalls publishes the tool calls an answer ends with, one event
// each, in order.
func (m *Manager) publishCalls(g *Generation, calls []ToolCall) error {
	for _, c := range calls {
		if err := m.publishEvent(g, EventToolCall, mustJSON(c)); err != nil {
			return err
		}
		g.mu.Lock()
		g.calls = append(g.calls, c)
		g.mu.Unlock()
	}
	return nil
}

// publish is a generation's publisher loop: it publishes the pending
// tokens as one token event whenever the previous publish has completed,
// until the model has returned and nothing is pending, then closes done.
// A failed publish ends it; the model gets the error from its next token.
func (m *Manager) publish(ctx context.Context, g *Generation, p *pending, done chan<- struct{}) {
	defer close(done)
	for {
		text, n, since, ok := p.take()
		if !ok {
			return
		}
		id, err := m.pub.Publish(ctx, &hub.Update{Topics: []string{g.topic}, Type: EventToken, Data: tokenData(text, n), Lazy: true})
		if err != nil {
			p.fail(err)
			return
		}
		m.published(time.Since(since), n)
		g.mu.Lock()
		if g.tokens == 0 {
			m.firstToken.observe(time.Since(g.started)) // its load shows from now on
		}
		g.text.WriteString(text)
		g.tokens += n
		g.lastID = id
		g.mu.Unlock()
	}
}

// published counts a token event of n tokens, published late after its
// oldest token was emitted.
func (m *Manager) published(late time.Duration, n int) {
	m.late.observe(late)
	m.stats.tokens.Add(uint64(n))
}

// finish publishes the closing event and records the outcome.
func (m *Manager) finish(g *Generation, res Result, err error) {
	g.mu.Lock()
	if res.Usage.CompletionTokens == 0 {
		res.Usage.CompletionTokens = g.tokens
		res.Usage.TotalTokens = res.Usage.PromptTokens + g.tokens
	}
	g.mu.Unlock()
	u := &hub.Update{Topics: []string{g.topic}}
	if err != nil {
		u.Type, u.Data = EventError, mustJSON(map[string]string{"error": err.Error(), "kind": string(KindOf(err))})
		m.log.Warn("generation failed", slog.String("id", g.id), slog.String("kind", string(KindOf(err))), slog.Any("err", err))
	} else {
		u.Type, u.Data = EventDone, mustJSON(map[string]any{"reason": res.FinishReason, "usage": res.Usage})
	}
	// The lock is held across the publish: a subscriber may get the
	// closing event before Publish returns, and a snapshot it asks for
	// then waits for the outcome and the event's id, recorded together.
	g.mu.Lock()
	// The closing event must be published even when ctx was cancelled.
	id, perr := m.pub.Publish(context.Background(), u)
	if perr != nil {
		m.log.Warn("publish the end of a generation", slog.String("id", g.id), slog.Any("err", perr))
	}
	g.result, g.finished = res, time.Now()
	if id != "" {
		g.lastID = id
	}
	if err != nil {
		g.status, g.errMsg = StatusError, err.Error()
	} else {
		g.status = StatusDone
	}
	g.mu.Unlock()
	if rerr := m.register(context.Background(), eventEnded, g.id); rerr != nil {
		m.log.Warn("write the end of a generation down", slog.String("id", g.id), slog.Any("err", rerr))
	}
	m.stats.finished[outcomeIndex(res, err)].Add(1)
	m.mu.Lock()
	m.running--
	m.ended = append(m.ended, endedGen{g, time.Now()})
	if g.client != "" {
		if m.byClient[g.client]--; m.byClient[g.client] <= 0 {
			delete(m.byClient, g.client)
		}
	}
	m.mu.Unlock()
}

// tokenEvent is the data of a token event.
type tokenEvent struct {
	Text   string `json:"text"`
	Tokens int    `json:"tokens,omitempty"` // how many tokens Text holds, when more than one
}

// tokenData is the data of a token event of n tokens: {"text": "..."},
// with "tokens": n when n > 1.
func tokenData(text string, n int) string {
	if n <= 1 {
		n = 0
	}
	return mustJSON(tokenEvent{Text: text, Tokens: n})
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v) // maps and structs of strings and numbers always encode
	return string(b)
}
