package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Earliest is the reserved last event id asking the hub for every update it
// still holds; see [FromEarliest].
const Earliest = "earliest"

// Event is one event received from the hub.
type Event struct {
	// ID is the event's id, the value to resume after.
	ID string
	// Type is the event type; empty means "message".
	Type string
	// Data is the event's data, lines joined with LF.
	Data string
	// Retry is the reconnection time the event carried, zero if none.
	Retry time.Duration
	// Gap reports that the subscription reconnected since the previous
	// event and the hub could not resume right after the last event
	// delivered: events published in between may be lost. It is set on
	// the first event delivered after such a reconnection.
	Gap bool
}

// A SubscribeOption configures a subscription.
type SubscribeOption func(*subscribeConfig)

type subscribeConfig struct {
	from  string
	onGap func(sent string)
}

// FromID starts the subscription right after the event with id
// lastEventID: the hub replays what it holds of the events published since.
// An empty id starts with the next update published, as no option does.
func FromID(lastEventID string) SubscribeOption {
	return func(c *subscribeConfig) { c.from = lastEventID }
}

// FromEarliest starts the subscription with every update the hub still
// holds for the topics.
func FromEarliest() SubscribeOption { return FromID(Earliest) }

// OnGap calls f with the id sent whenever the hub answers a connection
// (the first or a reconnection) resuming somewhere else than right after
// that id: the id is no longer in the hub's history, the hub lost its
// history, or it never knew the id. Events may then be lost; the next event
// delivered has [Event.Gap] set as well. f runs on the goroutine calling
// Subscribe or on the subscription's own; it must return promptly and must
// not call [Subscription.Close].
func OnGap(f func(sent string)) SubscribeOption {
	return func(c *subscribeConfig) { c.onGap = f }
}

// Subscription is an open subscription to topics of a hub. Its one
// goroutine reads the stream, delivers events on [Subscription.Events] and
// reconnects, until the context given to [Client.Subscribe] ends,
// [Subscription.Close] is called, or the hub refuses a reconnection.
type Subscription struct {
	c      *Client
	url    string
	onGap  func(string)
	events chan Event
	cancel context.CancelCauseFunc
	ctx    context.Context
	done   chan struct{}

	mu     sync.Mutex
	lastID string // the id to resume after
	err    error  // why the subscription ended

	// Owned by the goroutine reading the stream.
	retry    time.Duration // the hub's reconnection time, zero if not sent
	failures int           // connection attempts failed since the last good stream
	gap      bool          // the next event is the first after a gap
}

// errClosed is the cause of a subscription's context ended by Close.
var errClosed = errors.New("client: subscription closed")

// Subscribe subscribes to topics (exact topics, "*" or URI templates) and
// returns once the hub has accepted the stream: an update published after
// Subscribe returns is delivered. While the hub cannot be reached or
// answers 408, 429 or 5xx, Subscribe keeps trying with backoff until ctx
// ends; other refusals are returned as an [*Error]. ctx bounds the whole
// subscription, not only this call.
func (c *Client) Subscribe(ctx context.Context, topics []string, opts ...SubscribeOption) (*Subscription, error) {
	var cfg subscribeConfig
	for _, opt := range opts {
		opt(&cfg)
	}
	u := *c.hub
	q := u.Query()
	q["topic"] = append(q["topic"], topics...)
	u.RawQuery = q.Encode()
	sctx, cancel := context.WithCancelCause(ctx)
	s := &Subscription{
		c: c, url: u.String(), onGap: cfg.onGap, lastID: cfg.from,
		events: make(chan Event), cancel: cancel, ctx: sctx, done: make(chan struct{}),
	}
	conn, err := s.dial(sctx, 0)
	if err != nil {
		cancel(errClosed)
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	go s.run(conn)
	return s, nil
}

// Events returns the channel of events, in the order the hub sent them. It
// is closed when the subscription ends; [Subscription.Err] then says why.
// The subscription reads the stream no faster than the channel is drained:
// a consumer that stops reading holds the connection, and the hub
// eventually cuts it off and the subscription resumes from history later.
func (s *Subscription) Events() <-chan Event { return s.events }

// Err returns why the subscription ended: nil while it runs and after
// [Subscription.Close], the context's error (or cause) when it ended, or
// the error that stopped reconnection, such as an [*Error] for a refusal.
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// LastEventID returns the id to resume after: that of the last event
// delivered on Events or, before any, where the subscription started (the
// hub's newest event id when it was opened, or [Earliest]). Once Events is
// closed it is final: pass it to [FromID] to continue later without gap or
// duplicate. While events flow it may lag the event just received; use
// [Event.ID] there.
func (s *Subscription) LastEventID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastID
}

// Close ends the subscription and waits for its goroutine to return. It is
// safe to call more than once and from several goroutines.
func (s *Subscription) Close() {
	s.cancel(errClosed)
	<-s.done
}

func (s *Subscription) setLastID(id string) {
	s.mu.Lock()
	s.lastID = id
	s.mu.Unlock()
}

// finish records why the subscription ended and closes Events.
func (s *Subscription) finish(err error) {
	if s.ctx.Err() != nil {
		err = context.Cause(s.ctx)
		if errors.Is(err, errClosed) {
			err = nil
		}
	}
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
	close(s.events)
}
