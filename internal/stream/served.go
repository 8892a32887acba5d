package stream

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/sse"
)

// stream is one event stream served by net/http (over HTTP/2, or where the
// connection cannot be taken over). Its handler goroutine is the only writer:
// one select over the client leaving, the subscription ending, the token
// expiring, the heartbeat and queued updates. Queued updates are written in
// a batch and flushed once.
type stream struct {
	w        http.ResponseWriter
	rc       *http.ResponseController
	sub      *hub.Subscriber
	eng      *Engine
	deadline writeDeadline
	expiry   *expiry // the end of the subscriber's rights; nil for never
	batch    []*hub.Update
	scratch  []byte
}

// startStream sends the stream's headers and opening bytes. Read deadlines
// are cleared: the server's ReadTimeout guards request bodies, not streams.
func (e *Engine) startStream(w http.ResponseWriter, sub *hub.Subscriber, opening []byte) (*stream, error) {
	setStreamHeaders(w.Header(), sub)
	s := &stream{w: w, rc: http.NewResponseController(w), sub: sub, eng: e}
	_ = s.rc.SetReadDeadline(time.Time{})
	// A subscriber cut off as too slow while its write is blocked must not
	// wait for the write timeout: expire the deadline so the write fails now.
	// Other endings (shutdown) let the stream finish cleanly.
	sub.OnEnd(func() {
		if errors.Is(sub.Err(), hub.ErrSlowConsumer) {
			_ = s.rc.SetWriteDeadline(time.Now())
		}
	})
	w.WriteHeader(http.StatusOK)
	s.scratch = sse.AppendRetry(s.scratch[:0], e.cfg.Retry)
	s.scratch = append(s.scratch, opening...)
	return s, s.write(s.scratch)
}

// setStreamHeaders sets the headers of an event stream; a Cache-Control
// the handler set (private, when the URL carries a token) is kept.
func setStreamHeaders(h http.Header, sub *hub.Subscriber) {
	h.Set("Content-Type", "text/event-stream")
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-cache")
	}
	h.Set("X-Accel-Buffering", "no")
	h.Set("Last-Event-ID", sub.ResumedAfter())
}

// renewDeadline keeps at least half of the write timeout ahead.
func (s *stream) renewDeadline() {
	if at, ok := s.deadline.renew(s.eng.cfg.WriteTimeout); ok {
		_ = s.rc.SetWriteDeadline(at)
	}
}

// write sends bytes with a write deadline and flushes.
func (s *stream) write(b []byte) error {
	s.renewDeadline()
	if _, err := s.w.Write(b); err != nil {
		return err
	}
	return s.rc.Flush()
}

// drain writes every queued update and flushes once, then accounts for
// the batch.
func (s *stream) drain() error {
	var replayed bool
	s.batch, replayed = s.sub.DrainBatch(s.batch)
	if len(s.batch) == 0 {
		return nil
	}
	s.renewDeadline()
	for _, u := range s.batch {
		if _, err := s.w.Write(u.Wire()); err != nil {
			return err
		}
	}
	if err := s.rc.Flush(); err != nil {
		return err
	}
	s.eng.shared.batchWritten(s.batch, replayed)
	return nil
}

// Reasons a stream ends on the server's side.
var (
	errStreamEnded  = errors.New("stream ended by the hub")
	errTokenExpired = errors.New("the subscriber's token expired")
)

// serve runs the stream until the client leaves (ctx is done), the
// subscription ends or the token expires (and is not renewed). extra, when
// not nil, is a second source of events (the seed ticker).
func (s *stream) serve(ctx context.Context, heartbeat time.Duration, extra Ticker) error {
	hb := time.NewTicker(heartbeat)
	defer hb.Stop()
	var tick <-chan time.Time
	if extra != nil {
		tick = extra.C()
		defer extra.Stop()
	}
	defer s.expiry.stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.sub.Done():
			if goingAway(s.sub.Err()) {
				if bye := s.eng.farewell(s.scratch[:0]); len(bye) > 0 {
					_ = s.write(bye) // the stream ends either way
				}
			}
			return errStreamEnded
		case <-s.expiry.fired():
			if err := s.expiry.expired(ctx); err != nil {
				return err
			}
		case r := <-s.expiry.renewed():
			if err := s.expiry.settle(r); err != nil {
				return err
			}
		case <-s.sub.Ready():
			if err := s.drain(); err != nil {
				return err
			}
		case <-hb.C:
			s.scratch = sse.AppendComment(s.scratch[:0], "")
			if err := s.write(s.scratch); err != nil {
				return err
			}
		case now := <-tick:
			s.scratch = extra.Next(s.scratch[:0], now)
			if err := s.write(s.scratch); err != nil {
				return err
			}
		}
	}
}
