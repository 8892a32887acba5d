package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/ssehub/ssehub/internal/sse"
)

// maxEventSize bounds one event of a stream, and so the memory a
// subscription holds.
const maxEventSize = 4 << 20

// errStalled reports a stream that sent nothing, not even a heartbeat, for
// longer than the idle timeout.
var errStalled = errors.New("client: stream stalled")

// read delivers the events of c until the stream ends, the context ends or
// the stream fails. It reports whether it delivered any event; the error
// is nil when the hub ended the stream.
func (s *Subscription) read(ctx context.Context, c *conn) (delivered bool, err error) {
	defer c.cancel()
	defer c.resp.Body.Close()
	var body io.Reader = c.resp.Body
	if d := s.c.idle; d > 0 {
		ir := newIdleReader(body, d, c.cancel)
		defer ir.stop()
		body = ir
		defer func() {
			if ir.stalled.Load() && err != nil {
				err = fmt.Errorf("%w: nothing received for %v", errStalled, d)
			}
		}()
	}
	p := sse.NewParser(body)
	p.MaxEventSize = maxEventSize
	defer func() {
		if ms := p.Retry(); ms > 0 {
			s.retry = time.Duration(ms) * time.Millisecond
		}
	}()
	for {
		ev, perr := p.Next()
		if perr == io.EOF {
			return delivered, nil
		}
		if perr != nil {
			return delivered, perr
		}
		out := Event{ID: ev.ID, Type: ev.Type, Data: ev.Data, Retry: time.Duration(ev.Retry) * time.Millisecond, Gap: s.gap}
		select {
		case s.events <- out:
		case <-ctx.Done():
			return delivered, ctx.Err()
		}
		delivered, s.gap = true, false
		if ev.ID != "" {
			s.setLastID(ev.ID)
		}
	}
}

// idleReader cancels a connection when one Read waits longer than its
// timeout. The timer runs only during a Read: a consumer slow to take
// events does not count as a stalled stream.
type idleReader struct {
	r       io.Reader
	d       time.Duration
	timer   *time.Timer
	stalled atomic.Bool
}

func newIdleReader(r io.Reader, d time.Duration, cancel context.CancelFunc) *idleReader {
	ir := &idleReader{r: r, d: d}
	ir.timer = time.AfterFunc(d, func() {
		ir.stalled.Store(true)
		cancel()
	})
	ir.timer.Stop()
	return ir
}

func (ir *idleReader) Read(p []byte) (int, error) {
	ir.timer.Reset(ir.d)
	n, err := ir.r.Read(p)
	ir.timer.Stop()
	return n, err
}

func (ir *idleReader) stop() { ir.timer.Stop() }
