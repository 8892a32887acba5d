// Package hub is the core of ssehub: topics, subscribers, fan-out and replay
// from history. It knows nothing of HTTP or storage: history sits behind the
// History interface declared here.
package hub

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ssehub/ssehub/internal/topic"
)

// DefaultQueueSize is the number of updates a subscriber may have waiting
// before it is cut off as too slow.
const DefaultQueueSize = 4096

// Config configures a Hub. The zero value is usable: no history, default
// queue size and a random epoch.
type Config struct {
	// History keeps past updates for replay; nil keeps none.
	History History
	// QueueSize bounds each subscriber's queue of undelivered updates.
	QueueSize int
	// Epoch names this incarnation of the hub's history inside generated
	// ids, so ids from a wiped history are recognised. Random when empty.
	Epoch string
}

// Hub routes published updates to the subscribers of their topics.
type Hub struct {
	cfg   Config
	epoch string

	mu       sync.Mutex
	closed   bool        // refuses publishes and subscriptions
	ending   bool        // refuses subscriptions
	assigned uint64      // last position given to a publish
	seq      uint64      // last position fanned out: the head subscribers see
	lastID   string      // id of the update at seq
	pending  []*inflight // publishes in flight, in position order
	byTopic  map[string]*subList
	wild     subList
	all      map[*Subscriber]struct{}
	cut      []*Subscriber // scratch list of subscribers to cut off

	published atomic.Uint64
	internal  atomic.Uint64
	slowCut   atomic.Uint64
}

// New returns a hub configured by cfg.
func New(cfg Config) *Hub {
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	h := &Hub{cfg: cfg, epoch: cfg.Epoch, byTopic: map[string]*subList{}, all: map[*Subscriber]struct{}{}}
	if p, ok := cfg.History.(Positioner); ok {
		h.epoch, h.seq, h.lastID = p.Position()
		h.assigned = h.seq
	}
	if h.epoch == "" {
		h.epoch = randomEpoch()
	}
	return h
}

// Positioner is implemented by histories that outlive the process: the hub
// continues from their epoch and last position, so ids keep increasing and
// ids published before a restart still resume.
type Positioner interface {
	Position() (epoch string, lastSeq uint64, lastID string)
}

func randomEpoch() string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.EncodeToString(b[:]))
}

// Epoch returns the epoch written into generated ids.
func (h *Hub) Epoch() string { return h.epoch }

// Publish validates u, assigns its position and id, stores it in history and
// queues it for every matching subscriber. It returns the update's id once
// the history has stored it (durably, for a durable history). Appends of
// concurrent publishes run in parallel, so a durable history can commit
// them together; updates reach subscribers in position order all the same.
// The caller must not modify u afterwards.
func (h *Hub) Publish(ctx context.Context, u *Update) (string, error) {
	ids, err := h.PublishBatch(ctx, []*Update{u})
	if err != nil {
		return "", err
	}
	return ids[0], nil
}

// MaxBatch is the most updates PublishBatch takes at once.
const MaxBatch = 1000

// PublishBatch publishes several updates at once: all are validated first
// (an invalid one refuses the whole batch, its index in the error's field),
// they take consecutive positions, and their appends are stored together.
// It returns their ids in order.
func (h *Hub) PublishBatch(ctx context.Context, us []*Update) ([]string, error) {
	if err := validateBatch(us); err != nil {
		return nil, err
	}
	ps, err := h.assign(us)
	if err != nil {
		return nil, err
	}
	h.store(context.WithoutCancel(ctx), ps) // once queued, an append completes even if the publisher leaves
	h.mu.Lock()
	for _, p := range ps {
		p.done = true
	}
	h.advance()
	h.mu.Unlock()
	ids := make([]string, len(us))
	for i, p := range ps {
		if p.err != nil {
			return nil, &Error{Code: CodeUnavailable, Err: fmt.Errorf("store update: %w", p.err)}
		}
		ids[i] = p.u.ID
		if p.u.Internal {
			h.internal.Add(1)
		} else {
			h.published.Add(1)
		}
	}
	return ids, nil
}

func validateBatch(us []*Update) error {
	if len(us) == 0 || len(us) > MaxBatch {
		return &Error{Code: CodeInvalid, Field: "body", Err: fmt.Errorf("a batch holds 1 to %d updates, not %d", MaxBatch, len(us))}
	}
	for i, u := range us {
		if err := u.Validate(); err != nil {
			var herr *Error
			if len(us) > 1 && errors.As(err, &herr) {
				return &Error{Code: herr.Code, Field: fmt.Sprintf("[%d].%s", i, herr.Field), Err: herr.Err}
			}
			return err
		}
	}
	return nil
}

// store appends the updates to history, in parallel so that a durable
// history commits them together.
func (h *Hub) store(ctx context.Context, ps []*inflight) {
	if h.cfg.History == nil {
		return
	}
	if len(ps) == 1 {
		if p := ps[0]; p.err == nil && !p.u.Internal {
			p.err = h.cfg.History.Append(ctx, p.u)
		}
		return
	}
	var wg sync.WaitGroup
	for _, p := range ps {
		if p.err == nil && !p.u.Internal {
			wg.Go(func() { p.err = h.cfg.History.Append(ctx, p.u) })
		}
	}
	wg.Wait()
}

// inflight is a publish between its position being assigned and its update
// being stored.
type inflight struct {
	u    *Update
	done bool
	err  error
}

// assign gives the updates the next positions, their ids and wire bytes,
// and queues them behind the publishes in flight.
func (h *Hub) assign(us []*Update) ([]*inflight, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, &Error{Code: CodeUnavailable, Err: ErrClosed}
	}
	ps := make([]*inflight, len(us))
	for i, u := range us {
		ps[i] = h.assignOne(u)
	}
	return ps, nil
}

// assignOne positions one update; called with h.mu held.
func (h *Hub) assignOne(u *Update) *inflight {
	h.assigned++
	u.Seq = h.assigned
	u.Time = time.Now()
	if u.ID == "" {
		u.ID = generateID(h.epoch, u.Seq)
	}
	p := &inflight{u: u}
	if err := u.Encode(); err != nil {
		p.done, p.err = true, err // validated, so unreachable; the position is skipped
	}
	h.pending = append(h.pending, p)
	return p
}

// advance fans out, in position order, every stored update no earlier
// publish is still waiting for; an update whose append failed is skipped.
// Called with h.mu held.
func (h *Hub) advance() {
	n := 0
	for _, p := range h.pending {
		if !p.done {
			break
		}
		n++
		h.seq = p.u.Seq
		if p.err == nil {
			if !p.u.Internal {
				h.lastID = p.u.ID
			}
			h.fanout(p.u)
		}
	}
	clear(h.pending[:n])
	h.pending = h.pending[n:]
}

// fanout queues u for its subscribers; called with h.mu held. Queuing never
// blocks: a subscriber whose queue is full is cut off. Wildcard
// subscribers never get internal updates: reserved topics match only
// exact selectors.
func (h *Hub) fanout(u *Update) {
	for _, t := range u.Topics {
		if l := h.byTopic[t]; l != nil {
			for _, s := range l.subs {
				if !u.Private || topic.MatchAny(s.private, u.Topics) {
					h.deliver(s, u)
				}
			}
		}
	}
	if !u.Internal {
		for _, s := range h.wild.subs {
			if s.lastSeq != u.Seq && s.wants(u) {
				h.deliver(s, u)
			}
		}
	}
	for _, s := range h.cut {
		h.unindex(s)
		if s.end(ErrSlowConsumer) {
			h.slowCut.Add(1)
		}
	}
	clear(h.cut)
	h.cut = h.cut[:0]
}

func (h *Hub) deliver(s *Subscriber, u *Update) {
	if s.lastSeq == u.Seq || u.Seq <= s.minSeq {
		return
	}
	s.lastSeq = u.Seq
	if !s.enqueue(u) {
		h.cut = append(h.cut, s)
	}
}

// EndSubscriptions ends every subscription with ErrClosed and refuses new
// ones while publishes are still accepted: the first step of a graceful
// shutdown, letting streams end while publishes in flight finish.
func (h *Hub) EndSubscriptions() {
	h.mu.Lock()
	h.ending = true
	subs := make([]*Subscriber, 0, len(h.all))
	for s := range h.all {
		subs = append(subs, s)
		h.unindex(s)
	}
	h.mu.Unlock()
	for _, s := range subs {
		s.end(ErrClosed)
	}
}

// Close ends every subscription and refuses further publishes.
func (h *Hub) Close() {
	h.EndSubscriptions()
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
}

// Closing reports whether the hub has begun shutting down: it refuses new
// subscriptions (EndSubscriptions) or everything (Close).
func (h *Hub) Closing() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ending || h.closed
}

// Stats is a snapshot of the hub's counters.
type Stats struct {
	Subscribers int    // active subscriptions
	Published   uint64 // updates published since start, internal ones aside
	Internal    uint64 // internal updates (the stats feed) published since start
	SlowCut     uint64 // subscribers cut off for overflowing their queue
	LastID      string // id of the newest update, internal ones aside
}

// Stats returns the hub's counters.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return Stats{Subscribers: len(h.all), Published: h.published.Load(), Internal: h.internal.Load(),
		SlowCut: h.slowCut.Load(), LastID: h.lastID}
}
