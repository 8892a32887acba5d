package stream

import (
	"context"
	"fmt"
	"time"
)

// Renewing a stream's rights: a stream whose Options.Renew is set does not
// end when its Expiry passes; Renew is asked (on a goroutine of its own,
// never on a pool writer nor in the served stream's select) and its answer
// decides: a later expiry continues the stream until then, the zero time
// for good, an error or a time already past ends it as an expired token
// does, cleanly, so that the client reconnects and is asked again.

// untilRenewed checks what Renew answered: how long the stream may go on
// (0: for good), or why it ends.
func untilRenewed(at time.Time, err error) (time.Duration, error) {
	if err != nil {
		return 0, fmt.Errorf("%w: renewing its rights: %w", errTokenExpired, err)
	}
	if at.IsZero() {
		return 0, nil
	}
	d := time.Until(at)
	if d <= 0 {
		return 0, fmt.Errorf("%w: its renewed rights expired at %s", errTokenExpired, at.UTC().Format(time.RFC3339))
	}
	return d, nil
}

// renewal is what Renew answered.
type renewal struct {
	at  time.Time
	err error
}

// expiry is the end of a served stream's rights (see stream.serve): its
// timer, and the renewal under way once the timer has fired. A nil expiry
// never fires.
type expiry struct {
	timer   *time.Timer
	renew   func(context.Context) (time.Time, error)
	pending chan renewal // the renewal under way; nil when none
	cancel  context.CancelFunc
}

// newExpiry returns the expiry at at, renewed by renew when it is not nil;
// nil when at is zero.
func newExpiry(at time.Time, renew func(context.Context) (time.Time, error)) *expiry {
	if at.IsZero() {
		return nil
	}
	return &expiry{timer: time.NewTimer(time.Until(at)), renew: renew}
}

// fired fires when the rights run out; nil while a renewal is under way.
func (x *expiry) fired() <-chan time.Time {
	if x == nil || x.pending != nil {
		return nil
	}
	return x.timer.C
}

// renewed delivers the answer of the renewal under way; nil when none is.
func (x *expiry) renewed() <-chan renewal {
	if x == nil {
		return nil
	}
	return x.pending
}

// expired is called when fired fired: it ends the stream without Renew,
// else asks Renew on a goroutine that stop waits for.
func (x *expiry) expired(ctx context.Context) error {
	if x.renew == nil {
		return errTokenExpired
	}
	ctx, x.cancel = context.WithCancel(ctx)
	x.pending = make(chan renewal, 1)
	go func(renew func(context.Context) (time.Time, error), out chan<- renewal) {
		at, err := renew(ctx)
		out <- renewal{at, err}
	}(x.renew, x.pending)
	return nil
}

// settle takes the renewal's answer: the timer is set again, or stays off
// for good, or the stream ends.
func (x *expiry) settle(r renewal) error {
	x.pending = nil
	x.cancel()
	d, err := untilRenewed(r.at, r.err)
	if err != nil {
		return err
	}
	if d > 0 {
		x.timer.Reset(d)
	} // else for good: the timer, fired and drained, stays off
	return nil
}

// stop stops the timer, and cancels and waits for a renewal under way.
func (x *expiry) stop() {
	if x == nil {
		return
	}
	x.timer.Stop()
	if x.pending != nil {
		x.cancel()
		<-x.pending
	}
}

// expire is a taken-over stream's expiry timer firing, on the timer's own
// goroutine: without Renew the stream ends; with it, Renew's answer sets
// the timer again or ends the stream. The goroutine counts in the engine's
// wait group while Renew runs, and does nothing once the stream finished.
func (s *leanStream) expire() {
	if s.renew == nil {
		s.end(errTokenExpired)
		return
	}
	if !s.eng.taken.hold(s) {
		return // finished: its timer was stopped after this call began
	}
	defer s.eng.taken.wg.Done()
	d, err := untilRenewed(s.renew(s.renewCtx))
	switch {
	case s.renewCtx.Err() != nil:
		return // the stream finished while Renew ran
	case err != nil:
		s.end(err)
	case d > 0 && s.ended() == nil:
		s.expiry.Reset(d) // should finish stop it first, the next expire returns at hold
	}
}
