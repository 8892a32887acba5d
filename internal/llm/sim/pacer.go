package sim

import (
	"context"
	"time"
)

// minWait is the shortest wait worth a timer; tokens due sooner are
// emitted at once.
const minWait = 50 * time.Microsecond

// pacer spaces tokens: token i is due at start + ttft + i*interval. Due
// times are absolute, so a slow consumer does not make the stream drift.
// One timer serves the whole stream.
type pacer struct {
	start    time.Time
	ttft     time.Duration
	interval time.Duration
	timer    *time.Timer
}

// wait returns when token i is due, or with ctx's error when ctx ends first.
func (p *pacer) wait(ctx context.Context, i int) error {
	d := time.Until(p.start.Add(p.ttft + time.Duration(i)*p.interval))
	if d < minWait {
		return ctx.Err()
	}
	if p.timer == nil {
		p.timer = time.NewTimer(d)
	} else {
		p.timer.Reset(d)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-p.timer.C:
		return nil
	}
}

// stop releases the timer.
func (p *pacer) stop() {
	if p.timer != nil {
		p.timer.Stop()
	}
}
