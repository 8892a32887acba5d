package webhook

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/subscriptions"
)

// Cluster is what the nodes of a cluster share for webhooks, each method
// atomic: every node's subscribers, the count of subscribers per topic
// selector over all nodes, the nodes' leases, and the outbox, the one
// ordered list of events that the node holding the outbox's lease sends.
// internal/redis implements it.
type Cluster interface {
	// ApplyPresence records node's changes, in order, and appends the
	// events they cause to the outbox: a subscriber already recorded is
	// not started again, nor one not recorded ended (so that a change
	// applied twice, or after the others ended the node's subscribers,
	// does nothing). It registers node with a lease of p.NodeTimeout if it
	// has none. It returns how many old events the outbox dropped to stay
	// within p.MaxOutbox.
	ApplyPresence(ctx context.Context, node string, changes []Change, p Policy) (trimmed int, err error)
	// Heartbeat renews node's lease for ttl and reports whether the others
	// ended some of its subscribers since the last heartbeat, presuming it
	// dead: the node then records them again (Recorded tells which).
	Heartbeat(ctx context.Context, node string, ttl time.Duration) (reaped bool, err error)
	// Recorded returns the ids of node's recorded subscribers.
	Recorded(ctx context.Context, node string) ([]string, error)
	// Reap ends up to max recorded subscribers of one node whose lease has
	// lapsed (subscription.ended with ReasonNodeLost, then the topics they
	// vacate) and forgets the node once it has none left. It returns that
	// node, "" when every lease is current.
	Reap(ctx context.Context, max int, p Policy) (node string, ended, trimmed int, err error)
	// Leave forgets node, which is shutting down, if it has no recorded
	// subscriber left; else they stay for the others to reap.
	Leave(ctx context.Context, node string) error

	// Lead takes the outbox's lease for node, or renews it, for ttl; it
	// reports false while another node holds it.
	Lead(ctx context.Context, node string, ttl time.Duration) (bool, error)
	// ReadOutbox returns up to max of the oldest events of the outbox,
	// waiting up to wait for one when it is empty (not at all when wait is
	// negative).
	ReadOutbox(ctx context.Context, max int, wait time.Duration) ([]Entry, error)
	// AckOutbox removes the events ids from the outbox if node still holds
	// its lease, and reports whether it did.
	AckOutbox(ctx context.Context, node string, ids []string) (bool, error)
	// Unlead gives up node's lease of the outbox, if it holds it.
	Unlead(ctx context.Context, node string) error
}

// Policy is what the cluster's scripts need to know of the configuration.
type Policy struct {
	Types       []string      // the event types put in the outbox
	MaxOutbox   int           // events the outbox keeps; past it the oldest are dropped
	NodeTimeout time.Duration // a node's lease
}

// Change is something that happened on a node, to apply to the cluster.
type Change struct {
	Type       string    // SubscriptionStarted, SubscriptionEnded or UpdatePublished
	Subscriber string    // subscription.*: the subscriber's id
	Topics     []string  // subscription.started: its topic selectors
	At         time.Time // when it happened
	// Body is, for subscription.started, the JSON of the subscriber's
	// fields of the event and, for update.published, {"update": …}.
	Body []byte
}

// Entry is an event of the outbox.
type Entry struct {
	ID     string    // the outbox's id of the entry: ordered and unique
	Type   string    // the event's type
	At     time.Time // when it happened
	Topic  string    // topic.*: the topic selector
	Reason string    // subscription.ended: why
	Body   []byte    // subscription.*: the subscriber's fields; update.published: {"update": …}
}

// Bounds of the cluster's work.
const (
	maxApply       = 500 // changes applied in one call
	maxReap        = 500 // subscribers of a lost node ended in one call
	outboxPerQueue = 10  // the outbox keeps this many times QueueSize events
)

// op is a change as a node queues it, encoded only when applied, off the
// hot paths.
type op struct {
	typ    string
	sub    *subscriptions.Subscriber // subscription.*
	id     string                    // subscription.ended known by id only (a resync)
	update *hub.Update               // update.published
	at     time.Time
}

// clusterNode is a dispatcher's part on a node of a cluster: it applies
// its changes to the shared state, keeps its lease, ends the subscribers
// of lost nodes and, while it holds the outbox's lease, sends the events.
type clusterNode struct {
	d       *Dispatcher
	shared  Cluster
	node    string // this node's id in the cluster, new at every start
	policy  Policy
	changes *queue[op]
	live    map[string]*subscriptions.Subscriber // this node's subscribers, under d.mu

	resync  atomic.Bool   // the shared state may have lost some of this node's changes
	trimmed atomic.Uint64 // events dropped: the outbox's, and changes given up
	closing chan struct{} // closed by close
	applied chan struct{} // closed when the apply loop ended, after closing
	once    sync.Once

	redisDown bool // the apply loop's: its last call failed
}

func (d *Dispatcher) startCluster() {
	c := &clusterNode{d: d, shared: d.cfg.Cluster, node: d.ids.prefix[len("evt_") : len(d.ids.prefix)-1],
		policy:  Policy{Types: d.cfg.Types, MaxOutbox: outboxPerQueue * d.cfg.QueueSize, NodeTimeout: d.cfg.NodeTimeout},
		changes: newQueue[op](d.cfg.QueueSize), live: map[string]*subscriptions.Subscriber{},
		closing: make(chan struct{}), applied: make(chan struct{})}
	d.c = c
	d.wg.Go(c.runApply)
	d.wg.Go(c.runLease)
	d.wg.Go(c.runRelay)
}

// changed queues ops and keeps the list of live subscribers.
func (c *clusterNode) changed(ops ...op) {
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	for _, o := range ops {
		switch o.typ {
		case SubscriptionStarted:
			c.live[o.sub.ID] = o.sub
		case SubscriptionEnded:
			delete(c.live, o.sub.ID)
		}
	}
	if n, _ := c.changes.push(ops...); n > 0 {
		c.resync.Store(true) // a dropped start or end: make the shared state right again
		c.d.dropped(n, "changes")
	}
}

func (c *clusterNode) close() {
	c.once.Do(func() {
		close(c.closing)
		c.changes.close()
	})
}

// ctx is the context of the node's goroutines.
func (c *clusterNode) ctx() context.Context { return c.d.ctx }

// runApply applies the queued changes in order, and resyncs the shared
// state when some were lost, until the queue is closed and empty.
func (c *clusterNode) runApply() {
	defer close(c.applied)
	for {
		if ops := c.changes.pop(maxApply); len(ops) > 0 {
			if !c.apply(c.encode(ops)) {
				c.d.lost.Add(int64(len(ops)))
				return
			}
			continue
		}
		if c.resync.Load() && !c.isClosing() {
			if !c.resyncNow() {
				sleep(c.ctx(), time.Second)
			}
			continue
		}
		if c.changes.done() {
			return
		}
		select {
		case <-c.changes.ready:
		case <-c.ctx().Done():
			return
		}
	}
}

func (c *clusterNode) isClosing() bool {
	select {
	case <-c.closing:
		return true
	default:
		return false
	}
}

// apply applies changes, retrying while Redis fails, for RetryFor at
// most; then they are given up and a resync will repair the counts. It
// reports false when the dispatcher was cancelled first.
func (c *clusterNode) apply(changes []Change) bool {
	start := time.Now()
	for attempt := 1; ; attempt++ {
		trimmed, err := c.shared.ApplyPresence(c.ctx(), c.node, changes, c.policy)
		if err == nil {
			c.noteTrimmed(trimmed)
			if c.redisDown {
				c.d.log.Info("webhook changes stored in Redis again")
				c.redisDown = false
			}
			return true
		}
		if c.ctx().Err() != nil {
			return false
		}
		if !c.redisDown {
			c.d.log.Warn("webhook changes cannot be stored in Redis; retrying", slog.Int("changes", len(changes)), slog.Any("err", err))
			c.redisDown = true
		}
		if time.Since(start) > c.d.cfg.RetryFor {
			c.d.log.Error("webhook changes given up: Redis failed for too long", slog.Int("changes", len(changes)),
				slog.Duration("retry_for", c.d.cfg.RetryFor), slog.Any("err", err))
			c.trimmed.Add(uint64(len(changes)))
			c.resync.Store(true)
			return true
		}
		if !sleep(c.ctx(), redisBackoff(attempt)) {
			return false
		}
	}
}

// redisBackoff is the wait before the attempt-th retry of a Redis call.
func redisBackoff(attempt int) time.Duration {
	return backoff{min: 50 * time.Millisecond, max: 2 * time.Second}.delay(attempt)
}

func (c *clusterNode) noteTrimmed(n int) {
	if n > 0 {
		c.trimmed.Add(uint64(n))
		c.d.dropped(n, "events of the cluster's outbox in Redis")
	}
}

// encode turns ops into the changes to apply.
func (c *clusterNode) encode(ops []op) []Change {
	out := make([]Change, 0, len(ops))
	for _, o := range ops {
		ch := Change{Type: o.typ, At: o.at}
		switch o.typ {
		case SubscriptionStarted:
			ch.Subscriber, ch.Topics = o.sub.ID, o.sub.Topics
			ch.Body, _ = json.Marshal(fieldsOf(o.sub)) // cannot fail: a verified token's payload is JSON
		case SubscriptionEnded:
			ch.Subscriber = o.id
			if o.sub != nil {
				ch.Subscriber = o.sub.ID
			}
		case UpdatePublished:
			ch.Body, _ = json.Marshal(struct {
				Update *Update `json:"update"`
			}{updateOf(o.update)})
		}
		out = append(out, ch)
	}
	return out
}

// resyncNow makes the shared state hold exactly this node's live
// subscribers: it starts those missing (lost changes, or ended by the
// others while this node was presumed dead) and ends those recorded that
// are gone. It reports false when Redis could not be read.
func (c *clusterNode) resyncNow() bool {
	ids, err := c.shared.Recorded(c.ctx(), c.node)
	if err != nil {
		return false
	}
	c.resync.Store(false)
	recorded := make(map[string]bool, len(ids))
	for _, id := range ids {
		recorded[id] = true
	}
	now := c.d.cfg.Now()
	var ops []op
	c.d.mu.Lock()
	for id, s := range c.live {
		if !recorded[id] {
			ops = append(ops, op{typ: SubscriptionStarted, sub: s, at: now})
		}
	}
	started := len(ops)
	for id := range recorded {
		if c.live[id] == nil {
			ops = append(ops, op{typ: SubscriptionEnded, id: id, at: now})
		}
	}
	c.d.mu.Unlock()
	for len(ops) > 0 {
		n := min(len(ops), maxApply)
		if !c.apply(c.encode(ops[:n])) {
			return true
		}
		ops = ops[n:]
	}
	if started > 0 || len(recorded) > 0 {
		c.d.log.Info("webhooks: this node's subscribers recorded again in the cluster", slog.Int("started", started))
	}
	return true
}

// runLease renews the node's lease and ends the subscribers of nodes
// whose lease lapsed, until the apply loop has ended after close; then
// the node leaves the cluster.
func (c *clusterNode) runLease() {
	ttl := c.policy.NodeTimeout
	for {
		reaped, err := c.shared.Heartbeat(c.ctx(), c.node, ttl)
		if err == nil && reaped {
			c.d.log.Warn("webhooks: the cluster presumed this node dead (its lease lapsed, Redis unreachable?) and ended its subscribers; announcing them again",
				slog.String("node", c.node))
			c.resync.Store(true)
			c.changes.wake()
		}
		if err == nil {
			c.reap()
		}
		t := time.NewTimer(ttl / 3)
		select {
		case <-c.applied:
			t.Stop()
			c.leave()
			return
		case <-c.ctx().Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// reap ends the subscribers of the nodes whose lease lapsed.
func (c *clusterNode) reap() {
	last := ""
	for range 1000 {
		node, _, trimmed, err := c.shared.Reap(c.ctx(), maxReap, c.policy)
		if err != nil || node == "" {
			return
		}
		c.noteTrimmed(trimmed)
		if node != last {
			c.d.log.Warn("webhooks: a cluster node stopped renewing its lease; ending its subscribers",
				slog.String("lost_node", node), slog.Duration("node_timeout", c.policy.NodeTimeout))
			last = node
		}
	}
}

// leave forgets the node in the cluster once its subscribers are ended.
func (c *clusterNode) leave() {
	ctx, cancel := context.WithTimeout(c.ctx(), 2*time.Second)
	defer cancel()
	if err := c.shared.Leave(ctx, c.node); err != nil && c.ctx().Err() == nil {
		c.d.log.Warn("webhooks: leaving the cluster", slog.Any("err", err))
	}
}
