package webhook

import (
	"context"
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
	Types     []string // the event types put in the outbox
	MaxOutbox int      // events the outbox keeps; past it the oldest are dropped
	// MaxOutboxBytes bounds the same events by their bytes, as MaxOutbox
	// by their count; 0 or less: no bound.
	MaxOutboxBytes int
	NodeTimeout    time.Duration // a node's lease
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
	applied chan struct{} // closed when the apply loop ended

	redisDown bool // the apply loop's: its last call failed
}

func (d *Dispatcher) startCluster() {
	c := &clusterNode{d: d, shared: d.cfg.Cluster, node: d.ids.node,
		policy: Policy{Types: d.cfg.Types, MaxOutbox: outboxPerQueue * d.cfg.QueueSize,
			MaxOutboxBytes: outboxPerQueue * d.cfg.QueueBytes, NodeTimeout: d.cfg.NodeTimeout},
		changes: newQueue(d.cfg.QueueSize, d.cfg.QueueBytes, opSize), live: map[string]*subscriptions.Subscriber{},
		applied: make(chan struct{})}
	d.c = c
	d.wg.Go(c.runApply)
	d.wg.Go(c.runLease)
	d.wg.Go(c.runRelay)
}

// changed queues ops and keeps the list of live subscribers.
func (c *clusterNode) changed(ops ...op) {
	c.d.mu.Lock()
	for _, o := range ops {
		switch o.typ {
		case SubscriptionStarted:
			c.live[o.sub.ID] = o.sub
		case SubscriptionEnded:
			delete(c.live, o.sub.ID)
		}
	}
	n, _, _ := c.changes.push(ops...)
	c.d.mu.Unlock()
	if n > 0 {
		c.resync.Store(true) // a dropped start or end: make the shared state right again
		c.d.dropped(n, "changes")
	}
}

// ctx is the context of the node's goroutines.
func (c *clusterNode) ctx() context.Context { return c.d.ctx }
