// Package hub is the core of ssehub: topics, subscribers, fan-out and replay
// from history. It knows nothing of HTTP or storage: history sits behind the
// History interface declared here.
package hub

import (
	"crypto/rand"
	"encoding/base32"
	"math"
	"strings"
	"sync"
	"sync/atomic"
)

// Defaults of a subscriber's queue: the updates, and their wire bytes, it
// may have waiting before it is cut off as too slow.
const (
	DefaultQueueSize  = 4096
	DefaultQueueBytes = 16 << 20
)

// Config configures a Hub. The zero value is usable: no history, default
// queue bounds and a random epoch.
type Config struct {
	// History keeps past updates for replay; nil keeps none.
	History History
	// QueueSize bounds each subscriber's queue of undelivered updates;
	// DefaultQueueSize when 0. A replay is read from history in pages of
	// at most that many updates.
	QueueSize int
	// QueueBytes bounds the wire bytes of each subscriber's queue, as
	// QueueSize bounds their number (a queue always takes one update);
	// DefaultQueueBytes when 0. A replay's pages hold at most 128 KiB.
	QueueBytes int
	// MaxSlowBytes bounds the wire bytes queued for all subscribers
	// together, counted once for every subscriber holding an update: past
	// it the subscribers holding the most, among those that did not drain
	// for a second, are cut off as too slow (see slowBound).
	// DefaultMaxSlowBytes when 0; negative for no bound.
	MaxSlowBytes int64
	// Log, when set, is a log shared with the hubs of other nodes, replacing
	// History: publishes go through it and reach subscribers through
	// Deliver, and replays read from it.
	Log Log
	// Epoch names this incarnation of the hub's history inside generated
	// ids, so ids from a wiped history are recognised. Random when empty.
	Epoch string
}

// Hub routes published updates to the subscribers of their topics.
type Hub struct {
	cfg   Config
	src   Reader // where replays read: the Log, else the History, else nil
	epoch string

	// mu orders publishes: positions, the head, the hand-over to the
	// shards. The fan-out itself runs under each shard's lock.
	mu       sync.Mutex
	closed   bool        // refuses publishes and subscriptions
	ending   bool        // refuses subscriptions
	assigned uint64      // last position given to a publish
	seq      uint64      // last position handed to the shards: the head
	lastID   string      // id of the update at seq
	pending  []*inflight // publishes in flight, in position order
	waiters  []seqWaiter // Syncs waiting for the head
	shards   [topicShards + 1]*shard

	published atomic.Uint64
	internal  atomic.Uint64
	slowCut   atomic.Uint64

	slow      slowBound
	taggers   sync.Map // *Subscriber → *tagger, of the subscribers that tag
	pagers    pagers
	pageCount int // bounds of a replay's page
	pageBytes int
}

// New returns a hub configured by cfg.
func New(cfg Config) *Hub {
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.QueueBytes <= 0 {
		cfg.QueueBytes = DefaultQueueBytes
	}
	cfg.QueueSize, cfg.QueueBytes = min(cfg.QueueSize, math.MaxInt32), min(cfg.QueueBytes, math.MaxInt32)
	switch {
	case cfg.MaxSlowBytes == 0:
		cfg.MaxSlowBytes = DefaultMaxSlowBytes
	case cfg.MaxSlowBytes < 0:
		cfg.MaxSlowBytes = 0 // none
	}
	h := &Hub{cfg: cfg, epoch: cfg.Epoch,
		pageCount: min(cfg.QueueSize, pageCount), pageBytes: min(cfg.QueueBytes, pageBytes)}
	h.slow.max, h.slow.grace = cfg.MaxSlowBytes, slowGrace
	h.pagers.hub = h
	switch {
	case cfg.Log != nil:
		h.src = cfg.Log
	case cfg.History != nil:
		h.src = cfg.History
	}
	if p, ok := h.src.(Positioner); ok {
		h.epoch, h.seq, h.lastID = p.Position()
		h.assigned = h.seq
	}
	if h.epoch == "" {
		h.epoch = randomEpoch()
	}
	h.shards = newShards(h.seq, h.lastID)
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
func (h *Hub) Epoch() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.epoch
}

// EndSubscriptions ends every subscription with ErrClosed and refuses new
// ones while publishes are still accepted: the first step of a graceful
// shutdown, letting streams end while publishes in flight finish.
func (h *Hub) EndSubscriptions() {
	h.mu.Lock()
	h.ending = true
	subs := h.detachAll(true)
	h.mu.Unlock()
	for _, s := range subs {
		s.end(ErrClosed)
	}
}

// detachAll removes every subscriber from the shards and returns them, to
// be ended once the locks are released; ending refuses new ones too.
// Called with h.mu held (the shards' locks come after it).
func (h *Hub) detachAll(ending bool) []*Subscriber {
	var subs []*Subscriber
	for _, sh := range h.shards {
		subs = append(subs, sh.detach(ending)...)
	}
	return subs
}

// Close ends every subscription and refuses further publishes, and waits
// for the replays' page reads under way.
func (h *Hub) Close() {
	h.EndSubscriptions()
	h.mu.Lock()
	h.closed = true
	h.wakeWaiters(true)
	h.mu.Unlock()
	h.pagers.close()
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
	SlowCut     uint64 // subscribers cut off as too slow (ErrSlowConsumer)
	LastID      string // id of the newest update, internal ones aside
	// QueuedBytes is the wire bytes queued for subscribers, counted once
	// for every subscriber holding an update (Config.MaxSlowBytes).
	QueuedBytes int64
}

// LastID returns the id of the newest update dispatched, internal ones
// aside; "" before any.
func (h *Hub) LastID() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lastID
}

// Stats returns the hub's counters.
func (h *Hub) Stats() Stats {
	last := h.LastID()
	n := 0
	for _, sh := range h.shards {
		sh.mu.Lock()
		n += len(sh.all)
		sh.mu.Unlock()
	}
	return Stats{Subscribers: n, Published: h.published.Load(), Internal: h.internal.Load(),
		SlowCut: h.slowCut.Load(), LastID: last, QueuedBytes: h.slow.held.Load()}
}
