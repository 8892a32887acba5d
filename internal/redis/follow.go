package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/ssehub/ssehub/internal/hub"
)

// Sink receives what a node reads from the log: the hub.
type Sink interface {
	// Deliver fans out updates in log order.
	Deliver(us []*hub.Update)
	// Rebase ends every subscription with reason and moves the head: the
	// log was wiped or dropped entries this node had not read.
	Rebase(epoch string, seq uint64, lastID string, reason error)
}

// Reasons a node ends its subscriptions so that clients resume from history.
var (
	ErrEpochChanged = errors.New("the Redis history was wiped (new epoch); reconnect to resume")
	ErrFellBehind   = errors.New("this node fell behind the Redis log and missed updates; reconnect to resume")
)

// Follow tails the log from where the store was opened and hands every
// entry to sink, in order, until ctx ends. When Redis fails it retries
// with backoff, keeping its place, so subscribers miss nothing published
// once Redis is back. Entries of a new epoch, or a jump in the entries'
// numbers (trimmed before this node read them), rebase the sink.
func (s *Store) Follow(ctx context.Context, sink Sink) {
	f := follower{s: s, sink: sink, at: s.start, epoch: s.Epoch()}
	f.run(ctx)
}

// followBatch is the most entries one XREAD returns.
const followBatch = 1024

type follower struct {
	s       *Store
	sink    Sink
	at      position // last entry handed to the sink
	epoch   string   // epoch of the entries handed to the sink
	backoff time.Duration
	down    bool     // last read failed
	guess   []string // topics the last read named: read ahead
}

func (f *follower) run(ctx context.Context) {
	for ctx.Err() == nil {
		es, err := f.read(ctx)
		if err != nil {
			f.fail(ctx, err)
			continue
		}
		f.recovered()
		if len(es) > 1 && len(es) < followBatch/2 {
			es = f.gather(ctx, es)
		}
		if len(es) > 0 {
			f.hand(es)
		} else {
			f.checkEpoch(ctx)
		}
	}
}

// checkEpoch, run when the log is idle, notices a wiped Redis whose new
// entries sort at or before this node's place (the same millisecond, or a
// clock set back), which reading alone would never return.
func (f *follower) checkEpoch(ctx context.Context) {
	epoch, err := f.s.rdb.Get(ctx, f.s.keys.epoch).Result()
	if errors.Is(err, goredis.Nil) || ctx.Err() != nil || f.s.note(err) != nil || epoch == f.epoch {
		return // no epoch yet: the next publish creates it and its entries tell
	}
	head, err := f.s.head(ctx)
	if err != nil {
		return
	}
	f.rebase(epoch, head, ErrEpochChanged)
	f.at = head
}

// followGather is how long a follower that read several entries at once
// (the log is busy) waits for more before handing them over: the hub then
// fans out larger batches, and each subscriber's write carries more
// updates (a node of a cluster otherwise got 3 updates a read, against 4
// for a lone node, and spent more writes per delivery). A read of one
// entry, a quiet log, is handed over at once.
const followGather = time.Millisecond

// gather adds to es what the log holds after them once followGather has
// passed, without waiting for more. A failed read adds nothing: the next
// read starts after es all the same.
func (f *follower) gather(ctx context.Context, es []entry) []entry {
	t := time.NewTimer(followGather)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return es
	case <-t.C:
	}
	more, topics, err := f.s.readLog(ctx, logRead{start: "(" + es[len(es)-1].id, end: "+", count: followBatch - len(es), guess: f.guess})
	if err != nil {
		return es
	}
	f.remember(topics)
	return append(es, more...)
}

// read waits up to a second for entries after the current place, and
// reads them with their payloads in the same round trip.
func (f *follower) read(ctx context.Context) ([]entry, error) {
	after := entryID(f.at.seq)
	es, topics, err := f.s.readLog(ctx, logRead{start: "(" + after, end: "+", count: followBatch, guess: f.guess, wake: after})
	if ctx.Err() != nil {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	f.remember(topics)
	return es, nil
}

// remember keeps the topics a read named as the next read's guess.
func (f *follower) remember(topics []string) {
	if len(topics) > 0 {
		f.guess = append(f.guess[:0], topics[:min(len(topics), maxGuess)]...)
	}
}

// fail logs a failed read once per outage and waits before the next try.
func (f *follower) fail(ctx context.Context, err error) {
	if !f.down {
		f.s.log.Error("redis unreachable: following the log paused, publishes refused until it is back",
			slog.Any("err", err))
		f.down = true
	}
	f.backoff = min(max(2*f.backoff, 50*time.Millisecond), 2*time.Second)
	t := time.NewTimer(f.backoff)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func (f *follower) recovered() {
	if f.down {
		f.s.log.Info("redis reachable again: following the log from where it paused", slog.String("after", entryID(f.at.seq)))
	}
	f.down, f.backoff = false, 0
}

// hand decodes entries and passes them on, rebasing the sink first when
// they do not continue the log it knows. An entry whose payload is gone
// (expired by age before this node read it) is a gap like a trimmed one.
func (f *follower) hand(es []entry) {
	us := make([]*hub.Update, 0, len(es))
	for _, e := range es {
		at, err := e.position()
		if err != nil {
			f.s.log.Error("skipping an unreadable log entry", slog.String("entry", e.id), slog.Any("err", err))
			continue
		}
		u, err := e.decode()
		switch {
		case err != nil && !e.gone:
			f.s.log.Error("skipping an unreadable log entry", slog.String("entry", e.id), slog.Any("err", err))
			f.at = position{seq: at.seq, id: f.at.id, count: at.count}
			continue
		case u != nil:
			at.id = u.ID
		}
		reason := f.check(e.epoch, at.count)
		if reason == nil && e.gone {
			reason = fmt.Errorf("%w (entry %d expired before it was read)", ErrFellBehind, at.count)
		}
		if reason != nil {
			f.sink.Deliver(us)
			us = us[:0]
			f.rebase(e.epoch, at, reason)
		} else {
			us = append(us, u)
		}
		f.at = at
	}
	f.sink.Deliver(us)
}

// check says why an entry does not follow the last one: another epoch, or
// entries skipped.
func (f *follower) check(epoch string, count uint64) error {
	switch {
	case epoch != f.epoch:
		return ErrEpochChanged
	case count != f.at.count+1:
		return fmt.Errorf("%w (entry %d after %d)", ErrFellBehind, count, f.at.count)
	}
	return nil
}

// rebase moves the sink to at, in epoch: its subscribers resume from
// history, which holds what they missed, as far as retention allows.
func (f *follower) rebase(epoch string, at position, reason error) {
	f.s.log.Warn("rebasing: ending every subscription so clients resume from the Redis history",
		slog.Any("reason", reason), slog.String("epoch", epoch), slog.Uint64("entry", at.count))
	f.epoch = epoch
	f.s.epoch.Store(&epoch)
	f.s.rebases.Add(1)
	f.sink.Rebase(epoch, at.seq, at.id, reason)
}
