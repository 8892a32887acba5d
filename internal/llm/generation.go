package llm

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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
	owner            string // Request.Owner
	started          time.Time
	cancel           context.CancelFunc

	mu       sync.Mutex
	cause    error
	status   string
	text     strings.Builder
	tokens   int
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
	ID           string `json:"id"`
	Topic        string `json:"topic"`
	Model        string `json:"model,omitempty"`
	Status       string `json:"status"`
	Text         string `json:"text"`
	Tokens       int    `json:"tokens"`
	LastEventID  string `json:"last_event_id,omitempty"`
	FinishReason string `json:"finish_reason,omitempty"`
	Usage        *Usage `json:"usage,omitempty"`
	Error        string `json:"error,omitempty"`
}

// Snapshot returns the generation's state.
func (g *Generation) Snapshot() Snapshot {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := Snapshot{ID: g.id, Topic: g.topic, Model: g.model, Status: g.status, Text: g.text.String(),
		Tokens: g.tokens, LastEventID: g.lastID, Error: g.errMsg}
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

func (g *Generation) finishedAt() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.finished
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
	Tokens   uint64            // token events published
}

// counters are a Manager's Stats, kept with atomics so that counting a
// token costs no lock.
type counters struct {
	started, tokens atomic.Uint64
	finished        [numOutcomes]atomic.Uint64 // in the order of Outcomes
}

// Stats returns the generations' counters.
func (m *Manager) Stats() Stats {
	st := Stats{Started: m.stats.started.Load(), Tokens: m.stats.tokens.Load(), Finished: map[string]uint64{}}
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
// or error event.
func (m *Manager) run(ctx context.Context, g *Generation, req Request) {
	defer m.wg.Done()
	defer g.cancel()
	m.stats.started.Add(1)
	res, err := m.cfg.Model.Stream(ctx, req, func(delta string) error {
		return m.publishToken(ctx, g, delta)
	})
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
	m.finish(g, res, err)
}

func (m *Manager) publishToken(ctx context.Context, g *Generation, delta string) error {
	id, err := m.pub.Publish(ctx, &hub.Update{Topics: []string{g.topic}, Type: EventToken, Data: tokenData(delta)})
	if err != nil {
		return err
	}
	m.stats.tokens.Add(1)
	g.mu.Lock()
	g.text.WriteString(delta)
	g.tokens++
	g.lastID = id
	g.mu.Unlock()
	return nil
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
	m.stats.finished[outcomeIndex(res, err)].Add(1)
	m.mu.Lock()
	m.running--
	m.mu.Unlock()
}

func tokenData(delta string) string { return mustJSON(map[string]string{"text": delta}) }

func mustJSON(v any) string {
	b, _ := json.Marshal(v) // maps of strings and numbers always encode
	return string(b)
}
