package llm

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ssehub/ssehub/internal/hub"
)

// Publisher is the part of the hub a generation publishes through.
type Publisher interface {
	Publish(ctx context.Context, u *hub.Update) (string, error)
}

// Defaults for ManagerConfig.
const (
	DefaultMaxConcurrent = 32
	DefaultMaxPerClient  = 8
	DefaultMaxTokens     = 4096
	DefaultTimeout       = 5 * time.Minute
	DefaultRetain        = 30 * time.Minute
	DefaultTopicPrefix   = "llm/generations/"
)

// Event types published on a generation's topic.
const (
	EventToken = "token" // data {"text": "...", "tokens": n}: the next pieces of the answer; tokens only when n > 1
	EventDone  = "done"  // data {"reason": "...", "usage": {...}}: the answer is complete
	EventError = "error" // data {"error": "...", "kind": "..."}: the generation failed
	// EventStart is the first event when the starter gave a Request.Record:
	// its data is that record.
	EventStart = "start"
	// EventToolCall is a call of a tool the answer ends with, before done:
	// data {"id": "...", "name": "...", "arguments": "..."}.
	EventToolCall = "tool_call"
)

// ManagerConfig configures a Manager. Zero values take the defaults.
type ManagerConfig struct {
	Model         Model         // answers the requests
	MaxConcurrent int           // generations running at once; more get ErrTooMany
	MaxPerClient  int           // generations running at once for one Request.Client; 0: no limit
	MaxTokens     int           // upper bound of Request.MaxTokens, and its default
	Timeout       time.Duration // longest a generation may run
	Retain        time.Duration // how long a finished generation stays queryable
	TopicPrefix   string        // a generation publishes to TopicPrefix + id
	MaxPending    int           // bytes of text waiting to be published; default DefaultMaxPending
	// MaxLateness refuses new generations (ErrBehind) while the recent p99
	// of the token events' lateness is over it; 0 admits them whatever it is.
	MaxLateness time.Duration
	// LatenessWindow is how far back the recent lateness looks; default
	// DefaultLatenessWindow.
	LatenessWindow time.Duration
	Logger         *slog.Logger
}

// Sentinel errors of the Manager.
var (
	ErrTooMany  = errors.New("too many generations running")
	ErrNotFound = errors.New("no such generation")
	ErrClosed   = errors.New("generations are shutting down")
	ErrBehind   = errors.New("the node is behind")
)

// Manager runs generations: each streams a model's answer and publishes
// its tokens to a topic of its own, with history, so that a page that
// reloads mid-answer resumes from Last-Event-ID. The Manager owns every
// generation goroutine and waits for them in Close.
type Manager struct {
	cfg ManagerConfig
	pub Publisher
	log *slog.Logger

	stats      counters // read by Stats
	late       *lateness
	delivery   *windows // the streams' delivery latency (LatencyObserver)
	capacity   *capacity
	firstToken *window // how long generations take to publish their first token

	mu       sync.Mutex
	gens     map[string]*Generation
	running  int
	byClient map[string]int // running generations of each Request.Client
	ended    []endedGen     // finished generations, oldest first, for sweep
	closed   bool
	wg       sync.WaitGroup
}

// NewManager returns a Manager publishing through pub.
func NewManager(cfg ManagerConfig, pub Publisher) *Manager {
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = DefaultMaxConcurrent
	}
	if cfg.MaxTokens <= 0 {
		cfg.MaxTokens = DefaultMaxTokens
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Retain <= 0 {
		cfg.Retain = DefaultRetain
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = DefaultMaxPending
	}
	if cfg.LatenessWindow <= 0 {
		cfg.LatenessWindow = DefaultLatenessWindow
	}
	if cfg.TopicPrefix == "" {
		cfg.TopicPrefix = DefaultTopicPrefix
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Manager{cfg: cfg, pub: pub, log: cfg.Logger, gens: map[string]*Generation{}, byClient: map[string]int{}, late: newLateness(cfg.LatenessWindow), delivery: &windows{width: cfg.LatenessWindow}, capacity: newCapacity(), firstToken: newWindow(cfg.LatenessWindow)}
}

// MaxTokens is the largest MaxTokens a request may ask for.
func (m *Manager) MaxTokens() int { return m.cfg.MaxTokens }

// Start validates req and starts generating its answer in the background.
func (m *Manager) Start(req Request) (*Generation, error) {
	if err := m.Validate(&req); err != nil {
		return nil, err
	}
	limit, err := m.admit()
	if err != nil {
		return nil, err
	}
	id := req.ID
	if id == "" {
		id = newID()
	}
	ctx, cancel := context.WithTimeoutCause(context.Background(), m.cfg.Timeout, errTimedOut)
	g := &Generation{id: id, topic: m.cfg.TopicPrefix + id, model: req.Model, owner: req.Owner, client: req.Client, started: time.Now(), cancel: cancel, status: StatusRunning}
	m.mu.Lock()
	if err := m.refusal(req, id, limit); err != nil {
		m.mu.Unlock()
		cancel()
		return nil, err
	}
	m.running++
	if req.Client != "" {
		m.byClient[req.Client]++
	}
	m.gens[id] = g
	m.sweep()
	m.wg.Add(1)
	m.mu.Unlock()
	// Written down before it emits anything, so a crash never leaves an
	// answer that nobody ends (see Recover).
	err = m.register(context.Background(), eventRunning, id)
	if err == nil && req.Record != "" {
		// Published before Start returns: once a protocol has the id, the
		// record is in history for any node to find.
		err = m.publishEvent(g, EventStart, req.Record)
	}
	if err != nil {
		m.stats.started.Add(1)
		m.finish(g, Result{}, err)
		m.wg.Done()
		cancel()
		return nil, err
	}
	go m.run(ctx, g, req)
	return g, nil
}

// refusal returns why a start of req as generation id cannot run now,
// with limit (0: none) on running generations, or nil. The caller holds
// m.mu.
func (m *Manager) refusal(req Request, id string, limit int) error {
	switch {
	case m.closed:
		return ErrClosed
	case m.running >= m.cfg.MaxConcurrent:
		return fmt.Errorf("%w: the limit is %d", ErrTooMany, m.cfg.MaxConcurrent)
	case req.Client != "" && m.cfg.MaxPerClient > 0 && m.byClient[req.Client] >= m.cfg.MaxPerClient:
		return fmt.Errorf("%w: this client has %d running, the most one client may", ErrTooMany, m.cfg.MaxPerClient)
	case m.gens[id] != nil:
		return &Error{Kind: KindInvalid, Message: fmt.Sprintf("generation %s exists", id)}
	}
	return m.overLimit(limit)
}

// Admit returns ErrBehind, with the figures, while tokens reach their
// readers later than MaxLateness: the recent p99 of how late token events
// are published, plus the recent p99 of how long the streams take to
// write what is published (LatencyObserver); and while as many
// generations run as the node has shown it serves on time (capacity).
// Past what the node can serve, new generations are refused rather than
// every running one falling behind. Running generations are never cut.
func (m *Manager) Admit() error {
	limit, err := m.admit()
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.overLimit(limit)
}

// admit checks the recent lateness against MaxLateness and returns the
// limit on running generations, adjusted to it; 0 with admission off.
func (m *Manager) admit() (limit int, err error) {
	if m.cfg.MaxLateness <= 0 {
		return 0, nil
	}
	published, _ := m.late.recent(0.99)
	written, _ := m.delivery.recent(0.99)
	late := published + written
	m.mu.Lock()
	running := m.running
	m.mu.Unlock()
	settle, _ := m.firstToken.recent(0.9)
	limit = m.capacity.adjust(late, m.cfg.MaxLateness, running, settle, time.Now())
	if late > m.cfg.MaxLateness {
		return limit, fmt.Errorf("%w: token lateness p99 %dms (published %dms late, written %dms after) over -llm-max-lateness (%dms)",
			ErrBehind, late.Milliseconds(), published.Milliseconds(), written.Milliseconds(), m.cfg.MaxLateness.Milliseconds())
	}
	return limit, nil
}

// overLimit returns ErrBehind when limit (0: none) generations or more
// run. The caller holds m.mu.
func (m *Manager) overLimit(limit int) error {
	if limit > 0 && m.running >= limit {
		return fmt.Errorf("%w: %d generations running, as many as this node has served on time so far (the limit grows while the token lateness p99 stays under -llm-max-lateness, %dms)",
			ErrBehind, m.running, m.cfg.MaxLateness.Milliseconds())
	}
	return nil
}

// LatencyObserver returns a function recording that a stream wrote
// updates d after the oldest was published (stream.Observer: the stream
// engine gives each pool writer one), for admission: a token published on
// time but written late is late for its reader. With admission off it
// returns nil, and the writers observe nothing for it.
func (m *Manager) LatencyObserver() func(time.Duration) {
	if m.cfg.MaxLateness <= 0 {
		return nil
	}
	return m.delivery.observer()
}

// Validate checks a request against the limits and fills in defaults.
func (m *Manager) Validate(req *Request) error {
	if len(req.Messages) == 0 {
		return &Error{Kind: KindInvalid, Message: "messages must not be empty"}
	}
	if req.ID != "" && !validID(req.ID) {
		return &Error{Kind: KindInvalid, Message: fmt.Sprintf("id %q: use 1 to 64 letters, digits, '-' or '_'", req.ID)}
	}
	users := 0
	for i, msg := range req.Messages {
		switch msg.Role {
		case "user":
			users++
		case "tool":
			if msg.ToolCallID == "" {
				return &Error{Kind: KindInvalid, Message: fmt.Sprintf("messages[%d]: a tool message needs the id of its call", i)}
			}
		case "system", "assistant", "developer":
		default:
			return &Error{Kind: KindInvalid, Message: fmt.Sprintf("messages[%d].role %q: use system, developer, user, assistant or tool", i, msg.Role)}
		}
	}
	if users == 0 {
		return &Error{Kind: KindInvalid, Message: "the conversation has no user message"}
	}
	if err := validateTools(req); err != nil {
		return err
	}
	switch {
	case req.MaxTokens < 0:
		return &Error{Kind: KindInvalid, Message: "max_tokens must not be negative"}
	case req.MaxTokens > m.cfg.MaxTokens:
		return &Error{Kind: KindInvalid, Message: fmt.Sprintf("max_tokens %d is over this hub's limit of %d", req.MaxTokens, m.cfg.MaxTokens)}
	case req.MaxTokens == 0:
		req.MaxTokens = m.cfg.MaxTokens
	}
	return nil
}

// Stop asks a running generation to stop; it then ends with a done event
// whose reason is "stopped". Stopping a finished generation does nothing.
func (m *Manager) Stop(id string) (Snapshot, error) {
	m.mu.Lock()
	g := m.gens[id]
	m.mu.Unlock()
	if g == nil {
		return Snapshot{}, ErrNotFound
	}
	g.stop()
	return g.Snapshot(), nil
}

// Get returns a generation by id.
func (m *Manager) Get(id string) (*Generation, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	g, ok := m.gens[id]
	return g, ok
}

// Close stops every generation and waits for them to end.
func (m *Manager) Close() {
	m.mu.Lock()
	m.closed = true
	gens := make([]*Generation, 0, len(m.gens))
	for _, g := range m.gens {
		gens = append(gens, g)
	}
	m.mu.Unlock()
	for _, g := range gens {
		g.shutdown()
	}
	m.wg.Wait()
}

// endedGen is a generation that finished at at.
type endedGen struct {
	g  *Generation
	at time.Time
}

// sweep forgets generations finished longer than Retain ago; m.mu is held.
// It reads only the oldest of them, in the order they finished: a start
// never waits for every generation (nor for one publishing its end).
func (m *Manager) sweep() {
	cutoff := time.Now().Add(-m.cfg.Retain)
	n := 0
	for _, e := range m.ended {
		if !e.at.Before(cutoff) {
			break
		}
		if m.gens[e.g.id] == e.g {
			delete(m.gens, e.g.id)
		}
		n++
	}
	clear(m.ended[:n])
	m.ended = m.ended[n:]
}

// validID reports whether id may name a generation: it is part of a topic
// and of URLs.
func validID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for _, c := range []byte(id) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
		if !ok {
			return false
		}
	}
	return true
}

// MaxTools bounds Request.Tools.
const MaxTools = 128

// validateTools checks the tools and the tool choice of req.
func validateTools(req *Request) error {
	if len(req.Tools) > MaxTools {
		return &Error{Kind: KindInvalid, Message: fmt.Sprintf("tools: %d is over the limit of %d", len(req.Tools), MaxTools)}
	}
	names := make(map[string]bool, len(req.Tools))
	for i, t := range req.Tools {
		if !validID(t.Name) {
			return &Error{Kind: KindInvalid, Message: fmt.Sprintf("tools[%d].name %q: use 1 to 64 letters, digits, '-' or '_'", i, t.Name)}
		}
		if names[t.Name] {
			return &Error{Kind: KindInvalid, Message: fmt.Sprintf("tools[%d].name %q: two tools have that name", i, t.Name)}
		}
		names[t.Name] = true
	}
	switch req.ToolChoice {
	case "", ToolChoiceAuto, ToolChoiceNone:
		if req.ForceTool != "" {
			return &Error{Kind: KindInvalid, Message: "tool_choice: a named tool needs the required choice"}
		}
	case ToolChoiceRequired:
		if len(req.Tools) == 0 {
			return &Error{Kind: KindInvalid, Message: "tool_choice: a tool is required but none is given"}
		}
		if req.ForceTool != "" && !names[req.ForceTool] {
			return &Error{Kind: KindInvalid, Message: fmt.Sprintf("tool_choice: no tool is named %q", req.ForceTool)}
		}
	default:
		return &Error{Kind: KindInvalid, Message: fmt.Sprintf("tool_choice %q: use auto, none, required or a tool", req.ToolChoice)}
	}
	return nil
}

func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
