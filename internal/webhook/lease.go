package webhook

import (
	"context"
	"log/slog"
	"time"
)

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
