package hub

import (
	"context"
	"fmt"
)

// LogHead is a Log that can tell the position of its newest update, so
// that a node can wait until it has read everything any node published
// (Sync).
type LogHead interface {
	Head(ctx context.Context) (seq uint64, err error)
}

// seqWaiter is a Sync waiting for the head to reach target.
type seqWaiter struct {
	target uint64
	ready  chan struct{}
}

// Sync returns once every update published before the call, through this
// hub or, with a Log that is a LogHead, through any node, has been fanned
// out here: a subscription begun after Sync replays all of them from
// history. (Publish returns once its update is stored, possibly before an
// earlier publish still storing lets it reach the shards, and a Log hands
// updates back to every node a little later.) It gives up with ctx.
func (h *Hub) Sync(ctx context.Context) error {
	h.mu.Lock()
	target := h.assigned
	h.mu.Unlock()
	if lh, ok := h.cfg.Log.(LogHead); ok {
		seq, err := lh.Head(ctx)
		if err != nil {
			return &Error{Code: CodeUnavailable, Err: fmt.Errorf("read the log's head: %w", err)}
		}
		target = seq
	}
	if err := h.awaitSeq(ctx, target); err != nil {
		return err
	}
	h.drain(1<<(topicShards+1) - 1) // every shard: what was handed over is fanned out on return
	return nil
}

// awaitSeq waits until the head reaches target, or the hub closes or is
// rebased (its positions then start again).
func (h *Hub) awaitSeq(ctx context.Context, target uint64) error {
	h.mu.Lock()
	if h.seq >= target || h.closed {
		h.mu.Unlock()
		return nil
	}
	w := seqWaiter{target: target, ready: make(chan struct{})}
	h.waiters = append(h.waiters, w)
	h.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		h.mu.Lock()
		h.dropWaiter(w.ready)
		h.mu.Unlock()
		return fmt.Errorf("wait for the hub's head: %w", ctx.Err())
	}
}

// wakeWaiters releases the Syncs whose target the head reached, all of
// them when all is set; called with h.mu held, whenever the head moves.
func (h *Hub) wakeWaiters(all bool) {
	if len(h.waiters) == 0 {
		return // the usual case, on every publish
	}
	kept := h.waiters[:0]
	for _, w := range h.waiters {
		if all || h.seq >= w.target {
			close(w.ready)
		} else {
			kept = append(kept, w)
		}
	}
	clear(h.waiters[len(kept):])
	h.waiters = kept
}

// dropWaiter forgets a Sync that gave up; called with h.mu held.
func (h *Hub) dropWaiter(ready chan struct{}) {
	for i, w := range h.waiters {
		if w.ready == ready {
			h.waiters = append(h.waiters[:i], h.waiters[i+1:]...)
			return
		}
	}
}
