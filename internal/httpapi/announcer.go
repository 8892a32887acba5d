package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/subscriptions"
)

// announcer keeps the active subscriptions and publishes the updates that
// announce them starting and ending, in the order they happened. The
// updates are published from a goroutine of its own, started when there
// is something to publish and ended when there is nothing left: a stream's
// end is noticed by a pool writer, which must never wait for the history,
// and a burst of streams (the reconnections after a restart) becomes a few
// batches, each one commit.
type announcer struct {
	hub *hub.Hub
	log *slog.Logger
	reg subscriptions.Registry

	ctx    context.Context // the publishes'; cancelled by a close that times out
	cancel context.CancelFunc

	mu      sync.Mutex
	pending []*hub.Update
	running bool      // a goroutine is publishing pending
	closed  bool      // no more updates are taken
	failed  int       // updates that could not be made since warned
	warned  time.Time // when unannounced last logged
	wg      sync.WaitGroup
}

func newAnnouncer(h *hub.Hub, log *slog.Logger) *announcer {
	ctx, cancel := context.WithCancel(context.Background())
	return &announcer{hub: h, log: log, ctx: ctx, cancel: cancel}
}

// announce queues the updates of subs becoming active, or ending.
func (an *announcer) announce(subs []subscriptions.Subscription, active bool) {
	us := make([]*hub.Update, 0, len(subs))
	for _, s := range subs {
		if u, err := subscriptionUpdate(s, active); err != nil {
			an.unannounced(s, err)
		} else {
			us = append(us, u)
		}
	}
	an.mu.Lock()
	defer an.mu.Unlock()
	if an.closed || len(us) == 0 {
		return
	}
	an.pending = append(an.pending, us...)
	if !an.running {
		an.running = true
		an.wg.Go(an.run)
	}
}

// warnEvery is how often at most the announcer logs the subscriptions it
// could not announce: a client repeating one bad subscription must not
// fill the logs.
const warnEvery = time.Minute

// unannounced logs, once per warnEvery, that a subscription's update could
// not be made, with the count of those since the last line.
func (an *announcer) unannounced(s subscriptions.Subscription, err error) {
	an.mu.Lock()
	an.failed++
	n, now := an.failed, time.Now()
	if now.Sub(an.warned) < warnEvery {
		an.mu.Unlock()
		return
	}
	an.warned, an.failed = now, 0
	an.mu.Unlock()
	an.log.Warn("subscription updates not published", slog.Int("since_last_warning", n),
		slog.Int("topic_bytes", len(s.Topic)), slog.Any("err", err))
}

// subscriptionUpdate is the private update announcing s.
func subscriptionUpdate(s subscriptions.Subscription, active bool) (*hub.Update, error) {
	data, err := s.Update(active)
	if err != nil {
		return nil, err
	}
	u := &hub.Update{Topics: []string{s.ID()}, Data: data, Private: true}
	if s.Modern() {
		u.Type = "mercure" // draft-08: the reserved event type of subscription events
	}
	return u, u.Validate()
}

// run publishes the pending updates, in batches, until none is left.
func (an *announcer) run() {
	for {
		an.mu.Lock()
		n := min(len(an.pending), hub.MaxBatch)
		if n == 0 {
			an.pending, an.running = nil, false
			an.mu.Unlock()
			return
		}
		batch := an.pending[:n:n]
		an.pending = an.pending[n:]
		an.mu.Unlock()
		if _, err := an.hub.PublishBatch(an.ctx, batch); err != nil && !an.hub.Closing() {
			an.log.Warn("subscription updates lost", slog.Int("updates", n), slog.Any("err", err))
		}
	}
}

// close stops taking updates and waits, until ctx is done, for the
// pending ones to be published; then it gives up on them.
func (an *announcer) close(ctx context.Context) error {
	an.mu.Lock()
	an.closed = true
	an.mu.Unlock()
	done := make(chan struct{})
	go func() {
		an.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	an.cancel()
	an.mu.Lock()
	lost := len(an.pending)
	an.pending = nil
	an.mu.Unlock()
	<-done
	return fmt.Errorf("subscription updates: %d not published: %w", lost, ctx.Err())
}

// CloseStreams ends the event streams, as a graceful shutdown does, and
// waits until their connections are closed (see stream.Engine.Close); then
// it waits, until ctx is done too, for the updates announcing the
// subscriptions' end.
func (a *API) CloseStreams(ctx context.Context) error {
	err := a.cfg.Streams.Close(ctx)
	if a.subs != nil {
		err = errors.Join(err, a.subs.close(ctx))
	}
	return err
}
