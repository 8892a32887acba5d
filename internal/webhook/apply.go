package webhook

import (
	"encoding/json"
	"log/slog"
	"time"
)

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
		if c.resync.Load() && !c.changes.isClosed() {
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
			c.trimmed.Add(uint64(len(changes))) // counted in Stats.Dropped, with the queues' drops
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
