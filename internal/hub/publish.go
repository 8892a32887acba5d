package hub

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ssehub/ssehub/internal/topic"
)

// Publish validates u, assigns its position and id, stores it in history and
// queues it for every matching subscriber. It returns the update's id once
// the history has stored it (durably, for a durable history). Appends of
// concurrent publishes run in parallel, so a durable history can commit
// them together; updates reach subscribers in position order all the same.
// The caller must not modify u afterwards.
func (h *Hub) Publish(ctx context.Context, u *Update) (string, error) {
	ids, err := h.PublishBatch(ctx, []*Update{u})
	if err != nil {
		return "", err
	}
	return ids[0], nil
}

// MaxBatch is the most updates PublishBatch takes at once.
const MaxBatch = 1000

// PublishBatch publishes several updates at once: all are validated first
// (an invalid one refuses the whole batch, its index in the error's field),
// they take consecutive positions, and their appends are stored together.
// It returns their ids in order.
func (h *Hub) PublishBatch(ctx context.Context, us []*Update) ([]string, error) {
	if err := validateBatch(us); err != nil {
		return nil, err
	}
	if us[0].Internal {
		if err := h.publishInternal(us[0]); err != nil {
			return nil, err
		}
		return []string{""}, nil
	}
	if h.cfg.Log != nil {
		return h.publishToLog(ctx, us)
	}
	ps, err := h.assign(us)
	if err != nil {
		return nil, err
	}
	h.store(context.WithoutCancel(ctx), ps) // once queued, an append completes even if the publisher leaves
	h.mu.Lock()
	for _, p := range ps {
		p.done = true
	}
	h.advance()
	woken := h.takeWoken()
	h.mu.Unlock()
	signalAll(woken)
	ids := make([]string, len(us))
	for i, p := range ps {
		if p.err != nil {
			return nil, &Error{Code: CodeUnavailable, Err: fmt.Errorf("store update: %w", p.err)}
		}
		ids[i] = p.u.ID
	}
	h.published.Add(uint64(len(us)))
	return ids, nil
}

func validateBatch(us []*Update) error {
	if len(us) == 0 || len(us) > MaxBatch {
		return &Error{Code: CodeInvalid, Field: "body", Err: fmt.Errorf("a batch holds 1 to %d updates, not %d", MaxBatch, len(us))}
	}
	for i, u := range us {
		if u.Internal && len(us) > 1 {
			return &Error{Code: CodeInvalid, Field: fmt.Sprintf("[%d].topic", i), Err: errors.New("internal updates are published one at a time")}
		}
		if err := u.Validate(); err != nil {
			var herr *Error
			if len(us) > 1 && errors.As(err, &herr) {
				return &Error{Code: herr.Code, Field: fmt.Sprintf("[%d].%s", i, herr.Field), Err: herr.Err}
			}
			return err
		}
	}
	return nil
}

// store appends the updates to history, in parallel so that a durable
// history commits them together.
func (h *Hub) store(ctx context.Context, ps []*inflight) {
	if h.cfg.History == nil {
		return
	}
	if len(ps) == 1 {
		if p := ps[0]; p.err == nil && !p.u.Internal {
			p.err = h.cfg.History.Append(ctx, p.u)
		}
		return
	}
	var wg sync.WaitGroup
	for _, p := range ps {
		if p.err == nil {
			wg.Go(func() { p.err = h.cfg.History.Append(ctx, p.u) })
		}
	}
	wg.Wait()
}

// inflight is a publish between its position being assigned and its update
// being stored.
type inflight struct {
	u    *Update
	done bool
	err  error
}

// assign gives the updates the next positions, their ids and wire bytes,
// and queues them behind the publishes in flight.
func (h *Hub) assign(us []*Update) ([]*inflight, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, &Error{Code: CodeUnavailable, Err: ErrClosed}
	}
	ps := make([]*inflight, len(us))
	for i, u := range us {
		ps[i] = h.assignOne(u)
	}
	return ps, nil
}

// assignOne positions one update; called with h.mu held.
func (h *Hub) assignOne(u *Update) *inflight {
	h.assigned++
	u.Seq = h.assigned
	u.Time = time.Now()
	if u.ID == "" {
		u.ID = generateID(h.epoch, u.Seq)
	}
	p := &inflight{u: u}
	if err := u.Encode(); err != nil {
		p.done, p.err = true, err // validated, so unreachable; the position is skipped
	}
	h.pending = append(h.pending, p)
	return p
}

// advance fans out, in position order, every stored update no earlier
// publish is still waiting for; an update whose append failed is skipped.
// Called with h.mu held.
func (h *Hub) advance() {
	n := 0
	for _, p := range h.pending {
		if !p.done {
			break
		}
		n++
		h.seq = p.u.Seq
		if p.err == nil {
			h.lastID = p.u.ID
			h.fanout(p.u)
		}
	}
	clear(h.pending[:n])
	h.pending = h.pending[n:]
}

// fanout queues u for its subscribers; called with h.mu held. Queuing never
// blocks: a subscriber whose queue is full is cut off.
func (h *Hub) fanout(u *Update) {
	for _, t := range u.Topics {
		if l := h.byTopic[t]; l != nil {
			for _, s := range l.subs {
				if !u.Private || topic.MatchAny(s.private, u.Topics) {
					h.deliver(s, u)
				}
			}
		}
	}
	for _, s := range h.wild.subs {
		if s.lastSeq != u.Seq && s.wants(u) {
			h.deliver(s, u)
		}
	}
	h.cutOff()
}

// cutOff ends the subscribers whose queues overflowed during a fan-out;
// called with h.mu held.
func (h *Hub) cutOff() {
	for _, s := range h.cut {
		h.unindex(s)
		if s.end(ErrSlowConsumer) {
			h.slowCut.Add(1)
		}
	}
	clear(h.cut)
	h.cut = h.cut[:0]
}

func (h *Hub) deliver(s *Subscriber, u *Update) {
	if s.lastSeq == u.Seq || u.Seq <= s.minSeq {
		return
	}
	s.lastSeq = u.Seq
	h.queue(s, u)
}

// queue enqueues u for s, noting s to be cut off when its queue is full or
// signalled once the lock is released when its queue was empty; called
// with h.mu held.
func (h *Hub) queue(s *Subscriber, u *Update) {
	switch ok, wake := s.enqueue(u); {
	case !ok:
		h.cut = append(h.cut, s)
	case wake:
		h.woken = append(h.woken, s)
	}
}

// wokenLists recycles the lists of subscribers to signal.
var wokenLists = sync.Pool{New: func() any { return new([]*Subscriber) }}

// takeWoken hands over the subscribers whose queues the fan-out made
// non-empty, to be signalled once the lock is released: their writers
// then find every update of the publishes that advanced together. Called
// with h.mu held.
func (h *Hub) takeWoken() *[]*Subscriber {
	if len(h.woken) == 0 {
		return nil
	}
	w := wokenLists.Get().(*[]*Subscriber)
	*w, h.woken = h.woken, (*w)[:0]
	return w
}

// signalAll signals the subscribers taken by takeWoken.
func signalAll(w *[]*Subscriber) {
	if w == nil {
		return
	}
	for _, s := range *w {
		s.signal()
	}
	clear(*w)
	*w = (*w)[:0]
	wokenLists.Put(w)
}
