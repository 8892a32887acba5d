package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	neturl "net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/subscriptions"
)

// Defaults of Config.
const (
	DefaultRetryFor    = 5 * time.Minute
	DefaultTimeout     = 5 * time.Second
	DefaultQueueSize   = 10000
	DefaultQueueBytes  = 64 << 20
	DefaultNodeTimeout = 10 * time.Second
	DefaultMinBackoff  = 500 * time.Millisecond
	DefaultMaxBackoff  = 30 * time.Second
)

// Config configures a Dispatcher. Zero values take the defaults; URL and
// Secret are required.
type Config struct {
	URL    string // the application's endpoint, http or https
	Secret []byte // signs every request; at least MinSecretBytes
	// Previous, when set, signs every request too, after Secret: the
	// secret being rotated out, which the application may still verify
	// with until it has the new one.
	Previous  []byte
	Types     []string      // the events sent; nil: DefaultTypes
	RetryFor  time.Duration // how long a batch is retried before its events are given up
	Timeout   time.Duration // bounds one request, from connecting to the end of the answer's headers and body
	QueueSize int           // events (on a cluster: changes) waiting on this node; past it the oldest are dropped
	// QueueBytes bounds the same queue by the size of what it holds
	// (eventSize, opSize), so that subscribers with many long topic
	// selectors cannot make it hold gigabytes; 0: DefaultQueueBytes.
	QueueBytes int

	// MinBackoff and MaxBackoff bound the waits between retries.
	MinBackoff, MaxBackoff time.Duration

	// Cluster is the state shared by the nodes of a cluster; nil on one
	// node, which counts in memory and sends its own events.
	Cluster Cluster
	// NodeTimeout is how long a node of the cluster may fail to renew its
	// lease before the others presume it dead and end its subscribers.
	NodeTimeout time.Duration
	// Register, on one node, keeps its queue and its open subscribers
	// across a restart or a crash, for the next start to send the events
	// and end the subscribers; nil: they are lost with the process.
	Register Register

	Client *http.Client     // its Transport is used; nil: a transport of its own
	Logger *slog.Logger     // nil: discard
	Now    func() time.Time // the time of signatures and events; nil: time.Now
}

func (c *Config) defaults() {
	if c.Types == nil {
		c.Types = DefaultTypes
	}
	if c.RetryFor <= 0 {
		c.RetryFor = DefaultRetryFor
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.QueueSize <= 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.QueueBytes <= 0 {
		c.QueueBytes = DefaultQueueBytes
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff < c.MinBackoff {
		c.MaxBackoff = max(DefaultMaxBackoff, c.MinBackoff)
	}
	if c.NodeTimeout <= 0 {
		c.NodeTimeout = DefaultNodeTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Dispatcher turns what happens on the hub into events and sends them to
// the application. It is told of subscribers (Started, Ended) and
// publishes (Published) by the HTTP API; none of these calls blocks. New
// starts its goroutines, Close ends them.
type Dispatcher struct {
	cfg   Config
	log   *slog.Logger
	types map[string]bool
	out   *sender
	ids   *ids

	presence bool // some subscription or topic event is wanted
	topics   bool // topic events are wanted

	mu      sync.Mutex // orders the presence changes, and so their events
	counts  map[string]int
	events  *queue[queued] // one node: the events to send
	lastKey uint64         // one node: the key of the last event queued

	c *clusterNode // a cluster node; nil on one node

	reg     *registerWriter // one node with a Register; else nil
	regStop chan struct{}   // closed once the sender has ended: the register's last write

	ctx    context.Context // the goroutines'; cancelled when Close gives up
	cancel context.CancelFunc
	wg     sync.WaitGroup
	lost   atomic.Int64 // events abandoned when Close gave up

	dropMu     sync.Mutex
	dropWarned time.Time
	dropSince  int
}

// New returns a dispatcher for cfg, which must pass Check, and starts its
// goroutines.
func New(cfg Config) *Dispatcher {
	cfg.defaults()
	d := &Dispatcher{cfg: cfg, log: cfg.Logger, types: map[string]bool{}, ids: newIDs()}
	for _, t := range cfg.Types {
		d.types[t] = true
	}
	d.topics = d.types[TopicOccupied] || d.types[TopicVacated]
	d.presence = d.topics || d.types[SubscriptionStarted] || d.types[SubscriptionEnded]
	d.out = &sender{post: newPoster(cfg), log: cfg.Logger, retryFor: cfg.RetryFor,
		backoff: backoff{min: cfg.MinBackoff, max: cfg.MaxBackoff}}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	if cfg.Cluster != nil {
		d.startCluster()
	} else {
		d.counts = map[string]int{}
		d.events = newQueue(cfg.QueueSize, cfg.QueueBytes, queuedSize)
		if cfg.Register != nil {
			d.reg, d.regStop = newRegisterWriter(cfg.Register), make(chan struct{})
			unsent, last := d.restore(d.reg)
			d.events.push(unsent...)
			d.lastKey = last
			d.mu.Lock()
			d.enqueue(d.endLeftOpen(d.reg))
			d.mu.Unlock()
			d.wg.Go(func() { d.runRegister(d.reg, d.regStop) })
		}
		d.wg.Go(func() {
			d.runLocal()
			if d.regStop != nil {
				close(d.regStop) // the register's last write, with what was sent
			}
		})
	}
	return d
}

// Started is told that s's stream started. s must not change afterwards.
func (d *Dispatcher) Started(s *subscriptions.Subscriber) {
	if !d.presence {
		return
	}
	if d.c != nil {
		d.c.changed(op{typ: SubscriptionStarted, sub: s, at: d.cfg.Now()})
		return
	}
	d.local(s, true)
}

// Ended is told that s's stream, whose start Started was told, ended.
func (d *Dispatcher) Ended(s *subscriptions.Subscriber) {
	if !d.presence {
		return
	}
	if d.c != nil {
		d.c.changed(op{typ: SubscriptionEnded, sub: s, at: d.cfg.Now()})
		return
	}
	d.local(s, false)
}

// Published is told of updates published through the publish endpoint,
// once the hub has given them their ids.
func (d *Dispatcher) Published(us []*hub.Update) {
	if !d.types[UpdatePublished] {
		return
	}
	now := d.cfg.Now()
	if d.c != nil {
		ops := make([]op, len(us))
		for i, u := range us {
			ops[i] = op{typ: UpdatePublished, update: u, at: now}
		}
		d.c.changed(ops...)
		return
	}
	evs := make([]Event, len(us))
	for i, u := range us {
		evs[i] = Event{ID: d.ids.next(), Type: UpdatePublished, Time: now.UTC(), Update: updateOf(u)}
	}
	d.mu.Lock()
	n := d.enqueue(evs)
	d.mu.Unlock()
	d.dropped(n, "events")
}

// Stats are a dispatcher's counts since it started.
type Stats struct {
	Queued      int    // events (on a cluster: changes) waiting on this node
	QueuedBytes int    // their size, as Config.QueueBytes counts it
	Sent        uint64 // events the application acknowledged (on a cluster: that this node sent)
	// Dropped are the events dropped because a queue was full: this
	// node's, or the cluster's outbox on this node's writes; on a cluster,
	// also the changes given up after Redis failed for longer than
	// RetryFor (reported with them as reason="queue_full").
	Dropped  uint64
	Expired  uint64 // events given up after RetryFor
	Failures uint64 // requests that failed: an error, a timeout or an answer other than 2xx
	Failing  bool   // the last request failed
}

// Stats returns the dispatcher's counts.
func (d *Dispatcher) Stats() Stats {
	st := Stats{Sent: d.out.sent.Load(), Expired: d.out.expired.Load(), Failures: d.out.failures.Load(), Failing: d.out.failing.Load()}
	if d.c != nil {
		st.Queued, st.QueuedBytes, st.Dropped = d.c.changes.len(), d.c.changes.sizeNow(), d.c.changes.drops()+d.c.trimmed.Load()
	} else {
		st.Queued, st.QueuedBytes, st.Dropped = d.events.len(), d.events.sizeNow(), d.events.drops()
	}
	return st
}

// Close stops taking events and waits, until ctx is done, for those queued
// to be delivered (on a cluster: stored in Redis, and sent if this node
// is the one sending). Then it gives up on the rest and says how many; a
// single node with a Register keeps them for its next start instead, and
// logs how many.
func (d *Dispatcher) Close(ctx context.Context) error {
	if d.c != nil {
		d.c.changes.close()
	} else {
		d.events.close()
	}
	done := make(chan struct{})
	go func() {
		d.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		d.cancel()
		return nil
	case <-ctx.Done():
	}
	d.cancel()
	<-done
	lost := d.lost.Load()
	if d.c != nil {
		lost += int64(d.c.changes.len())
	} else {
		lost += int64(d.events.len())
	}
	if d.reg != nil {
		d.log.Warn("webhooks: events not delivered before the shutdown's end, kept in the data directory for the next start",
			slog.Int64("events", lost))
		return nil
	}
	return fmt.Errorf("webhooks: %d events or changes not delivered: %w", lost, ctx.Err())
}

// CheckURL reports whether url is an endpoint the hub can post to.
func CheckURL(url string) error {
	u, err := neturl.Parse(url)
	if err != nil {
		return fmt.Errorf("webhook URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return errors.New("want an http:// or https:// URL such as https://app.example.com/ssehub/webhook")
	}
	return nil
}
