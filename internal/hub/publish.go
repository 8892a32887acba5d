package hub

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
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
	ctx = context.WithoutCancel(ctx) // once queued, an append completes even if the publisher leaves
	h.store(ctx, ps)
	h.mu.Lock()
	for _, p := range ps {
		p.done = true
	}
	touched := h.advance()
	h.mu.Unlock()
	h.drain(touched)
	ids := make([]string, len(us))
	for i, p := range ps {
		err := p.err // read-only now: advance may still be reading it
		if err == nil && p.durable != nil {
			err = p.durable()
		}
		if err != nil {
			return nil, &Error{Code: CodeUnavailable, Err: fmt.Errorf("store update: %w", err)}
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

// Stager is a History that can make an update readable (Read, Lookup)
// before it is durable: subscribers then get it without waiting for the
// disk, while its publisher still waits for durable.
type Stager interface {
	// Stage makes u readable and queues it for storing; durable waits
	// until it is stored.
	Stage(ctx context.Context, u *Update) (durable func() error, err error)
}

// store hands the updates to history and returns once subscribers may see
// them: staged, or else stored. A batch's updates are handed over in
// parallel, so that a durable history commits them together. What is left
// to wait for is in each durable.
func (h *Hub) store(ctx context.Context, ps []*inflight) {
	if h.cfg.History == nil {
		return
	}
	put := func(p *inflight) { p.err = h.cfg.History.Append(ctx, p.u) }
	if st, ok := h.cfg.History.(Stager); ok {
		put = func(p *inflight) { p.durable, p.err = st.Stage(ctx, p.u) }
	}
	if len(ps) == 1 {
		if p := ps[0]; p.err == nil && !p.u.Internal {
			put(p)
		}
		return
	}
	var wg sync.WaitGroup
	for _, p := range ps {
		if p.err == nil {
			wg.Go(func() { put(p) })
		}
	}
	wg.Wait()
}

// inflight is a publish between its position being assigned and its update
// being stored.
type inflight struct {
	u       *Update
	done    bool
	err     error
	durable func() error // waits for a staged update to be stored
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

// advance hands to the shards, in position order, every stored update no
// earlier publish is still waiting for, and returns the shards to drain;
// an update whose append failed is skipped. Called with h.mu held.
func (h *Hub) advance() (touched uint32) {
	n := 0
	for _, p := range h.pending {
		if !p.done {
			break
		}
		n++
		h.seq = p.u.Seq
		if p.err == nil {
			h.lastID = p.u.ID
			touched |= h.dispatch(p.u)
		}
	}
	clear(h.pending[:n])
	h.pending = h.pending[n:]
	h.wakeWaiters(false)
	return touched
}
