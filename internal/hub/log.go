package hub

import (
	"context"
	"fmt"
)

// Log is a log of updates shared by several hubs (one per node), kept
// outside the process, such as Redis. It orders and stores what any node
// publishes and hands every update back to every node's hub through
// Deliver, in the same order everywhere: a hub with a Log never fans out
// its own publishes directly.
type Log interface {
	// Add stores the updates, in order, setting the Seq, ID and Time of
	// each; positions and ids are the same on every node.
	Add(ctx context.Context, us []*Update) error
	Reader
}

// publishToLog publishes a validated batch through the shared log; the
// updates reach subscribers when the log delivers them back.
func (h *Hub) publishToLog(ctx context.Context, us []*Update) ([]string, error) {
	if h.isClosed() {
		return nil, &Error{Code: CodeUnavailable, Err: ErrClosed}
	}
	if err := h.cfg.Log.Add(ctx, us); err != nil {
		return nil, &Error{Code: CodeUnavailable, Err: fmt.Errorf("store update: %w", err)}
	}
	ids := make([]string, len(us))
	for i, u := range us {
		ids[i] = u.ID
	}
	h.published.Add(uint64(len(us)))
	return ids, nil
}

func (h *Hub) isClosed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closed
}

// Deliver fans out updates read from the shared log, in log order. Each
// must carry its Seq, ID and wire bytes (Encode). Updates at or before the
// hub's head were already delivered (a log read again after a reconnect)
// and are skipped, so every subscriber gets each update once.
func (h *Hub) Deliver(us []*Update) {
	h.mu.Lock()
	var touched uint32
	for _, u := range us {
		if u.Seq <= h.seq {
			continue
		}
		h.seq, h.assigned, h.lastID = u.Seq, u.Seq, u.ID
		touched |= h.dispatch(u)
	}
	h.wakeWaiters(false)
	h.mu.Unlock()
	h.drain(touched)
}

// Head returns the position and id of the newest update handed to the
// shards; their fan-out may still be under way (a new subscription's
// Last-Event-ID header names what its shard has fanned out).
func (h *Hub) Head() (seq uint64, id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seq, h.lastID
}

// Rebase moves the hub to another history: a shared log that was wiped
// (new epoch) or that dropped updates this node never read. Every
// subscription ends with reason, so clients reconnect and resume from the
// history as it now is (their error is ErrRebased, wrapping reason); new
// subscriptions start at the given head.
func (h *Hub) Rebase(epoch string, seq uint64, lastID string, reason error) {
	h.mu.Lock()
	h.epoch, h.seq, h.assigned, h.lastID = epoch, seq, seq, lastID
	for _, sh := range h.shards {
		sh.rebase(seq, lastID)
	}
	subs := h.detachAll(false)
	h.wakeWaiters(true)
	h.mu.Unlock()
	err := fmt.Errorf("%w: %w", ErrRebased, reason)
	for _, s := range subs {
		s.end(err)
	}
}

// FormatID returns the id the hub generates for a position of an epoch;
// a shared log uses it so its ids resume on every node.
func FormatID(epoch string, seq uint64) string { return generateID(epoch, seq) }

// ParseID decodes an id made by FormatID.
func ParseID(id string) (epoch string, seq uint64, ok bool) { return parseID(id) }
