package webhook

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"
)

// runRelay sends the cluster's outbox to the application while this node
// holds the outbox's lease, in order and in batches, removing what was
// delivered (or given up). After close it sends what remains, this node's
// last changes included, if it leads; then it gives the lease up.
func (c *clusterNode) runRelay() {
	ttl := c.policy.NodeTimeout
	leading := false
	defer func() {
		if leading {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_ = c.shared.Unlead(ctx, c.node)
		}
	}()
	for attempt := 0; c.ctx().Err() == nil; {
		final := c.isApplied()
		ok, err := c.shared.Lead(c.ctx(), c.node, ttl)
		if err != nil || !ok {
			if leading {
				c.d.log.Info("webhooks: another node of the cluster sends them now", slog.String("node", c.node))
			}
			leading = false
			if final || !c.wait(ttl/3) {
				return
			}
			continue
		}
		if !leading {
			c.d.log.Info("webhooks: this node sends the cluster's events", slog.String("node", c.node))
			leading = true
		}
		wait := time.Second
		if final {
			wait = -1
		}
		entries, err := c.shared.ReadOutbox(c.ctx(), MaxBatchEvents, wait)
		if err != nil {
			attempt++
			sleep(c.ctx(), redisBackoff(attempt))
			continue
		}
		attempt = 0
		if len(entries) == 0 {
			if final {
				return
			}
			continue
		}
		c.relay(entries)
	}
}

// relay sends the first entries, as many as a request holds, and removes
// them from the outbox once delivered or given up.
func (c *clusterNode) relay(entries []Entry) {
	events := make([]Event, len(entries))
	for i, e := range entries {
		events[i] = c.event(e)
	}
	body, n := encode(events)
	keep := func() bool {
		ok, err := c.shared.Lead(c.ctx(), c.node, c.policy.NodeTimeout)
		return err == nil && ok
	}
	if c.d.out.send(c.ctx(), body, n, keep, c.policy.NodeTimeout/3) == abandoned {
		return // the next holder of the lease sends them again
	}
	ids := make([]string, n)
	for i := range n {
		ids[i] = entries[i].ID
	}
	for attempt := 1; attempt <= 3; attempt++ {
		if _, err := c.shared.AckOutbox(c.ctx(), c.node, ids); err == nil || c.ctx().Err() != nil {
			return
		} else if attempt == 3 {
			c.d.log.Warn("webhooks: delivered events could not be removed from the outbox; they will be sent again",
				slog.Int("events", n), slog.Any("err", err))
		}
		sleep(c.ctx(), redisBackoff(attempt))
	}
}

// event is the event of an outbox entry: its id derives from the entry's.
func (c *clusterNode) event(e Entry) Event {
	var ev Event
	if len(e.Body) > 0 {
		if err := json.Unmarshal(e.Body, &ev); err != nil {
			c.d.log.Warn("webhooks: an unreadable outbox entry sent without its details", slog.String("entry", e.ID), slog.Any("err", err))
		}
	}
	ev.ID, ev.Type, ev.Time, ev.Topic, ev.Reason = "evt_"+e.ID, e.Type, e.At.UTC(), e.Topic, e.Reason
	return ev
}

// isApplied reports whether the node is closing and its last changes are
// in the outbox.
func (c *clusterNode) isApplied() bool {
	select {
	case <-c.applied:
		return true
	default:
		return false
	}
}

// wait waits d, or until the apply loop ended or the dispatcher was
// cancelled; it reports false on the latter.
func (c *clusterNode) wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.ctx().Done():
		return false
	case <-c.applied:
	case <-t.C:
	}
	return true
}
