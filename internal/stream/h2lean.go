package stream

import (
	"errors"
	"net/http"
	"time"

	"github.com/ssehub/ssehub/internal/sse"
	"golang.org/x/net/http2"
)

// Event streams over the engine's HTTP/2 connections: a leanStream whose
// h2 is set writes its updates as DATA frames on its connection instead of
// chunks on a socket of its own. The pool writers run it as any other; its
// writes never wait: what the client's flow-control windows keep back
// stays in h2.held (and the subscription's queue fills behind it, until
// the hub cuts a subscriber too slow), and what the socket does not take
// is the connection's flusher's.

// errStalled ends a stream whose client kept its window closed for longer
// than the write timeout while the stream had something to send.
var errStalled = errors.New("http2: the client's window stayed closed past the write timeout")

// h2Writer returns the engine's writer of w's stream, when w is (or
// wraps) a response on one of the engine's HTTP/2 connections.
func h2Writer(w http.ResponseWriter) *h2Response {
	for {
		switch t := w.(type) {
		case *h2Response:
			return t
		case interface{ Unwrap() http.ResponseWriter }:
			w = t.Unwrap()
		default:
			return nil
		}
	}
}

// takeOverH2 serves o.Sub on w's HTTP/2 stream from now on, as takeOver
// does on an HTTP/1.1 connection: it sends the response's headers and what
// is queued on the calling goroutine, then returns.
func (e *Engine) takeOverH2(w *h2Response, o Options) {
	c, st := w.c, w.st
	setStreamHeaders(w.header, o.Sub)
	s := &leanStream{eng: e, sub: o.Sub, release: o.Release, remote: o.Remote, h2: st}
	s.pend.Store(1) // this goroutine is the stream's writer until run returns
	if !e.taken.add(s) {
		o.Sub.Close()
		o.Release()
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.taken = true
	c.mu.Lock()
	st.lean = s
	st.handling = false
	closed := c.closed || st.reset
	if !closed {
		w.status, w.sent = http.StatusOK, true
		c.writeHeaderBlock(st.id, c.encodeHeaders(http.StatusOK, w.header), false)
	}
	cancel := st.cancel // the request is over; the stream is the engine's
	st.ctx, st.cancel, st.more = nil, nil, nil
	c.mu.Unlock()
	cancel()
	st.held = sse.AppendRetry(st.held, e.cfg.Retry)
	st.heldBuf, st.quiet = st.held, true
	s.start(o)
	if closed {
		s.end(errClientLeft)
	}
	s.run(nil)
}

// stepH2 is step for a stream over HTTP/2: it frames what is due (what
// the windows held back, queued updates, a heartbeat; the end) and writes
// as much as the windows let out. It returns the end's reason once the
// stream's last frame is written, or once it must be reset.
func (s *leanStream) stepH2(w *writer) error {
	st := s.h2
	for {
		had := len(st.held) > 0
		if err := s.frameH2(); err != nil {
			return err
		}
		done, err := s.sendH2(w)
		if err != nil || done {
			return err
		}
		if len(st.held) > 0 || !had {
			// The windows hold it back, or all that was queued is written:
			// what is queued from now on wakes the stream again.
			return nil
		}
		// What was held is written: the updates queued meanwhile, whose
		// wakes found it held, are next.
	}
}

// frameH2 puts into h2.held what is due, unless it still holds what the
// windows kept back: queued updates and a heartbeat, or the stream's end.
func (s *leanStream) frameH2() error {
	st := s.h2
	if err := s.ended(); err != nil {
		if !graceful(err) {
			return err
		}
		if !s.last {
			s.last = true
			if goingAway(err) {
				st.held = s.eng.farewell(st.held)
				st.heldBuf = st.held
			}
		}
		return nil
	}
	beat := s.beatDue.Swap(false)
	if beat {
		s.heartbeat.Reset(s.eng.cfg.Heartbeat)
	}
	if len(st.held) > 0 {
		return nil // a beat while held: sendH2 checks the stall
	}
	s.batch, s.replayed = s.sub.DrainBatch(s.batch)
	for _, u := range s.batch {
		st.held = append(st.held, u.Wire()...)
	}
	if beat && len(st.held) == 0 {
		st.held = sse.AppendComment(st.held, "")
		st.quiet = true
	}
	st.heldBuf = st.held
	return nil
}

// sendH2 writes as much of h2.held as the windows let out, and reports
// whether the stream's last frame is written.
func (s *leanStream) sendH2(w *writer) (done bool, err error) {
	st := s.h2
	c := st.c
	c.mu.Lock()
	if c.closed || st.reset {
		c.mu.Unlock()
		return false, errClientLeft
	}
	done = c.sendDataLocked(st, &st.held, s.last)
	st.waiting = len(st.held) > 0
	_ = c.flushLocked()
	if st.quiet && len(st.held) == 0 && !c.flushing {
		// No update (a heartbeat, the stream's start): the connection may
		// well be idle; it keeps no buffer until it is not.
		st.quiet = false
		c.out = nil
		releaseTLSReadBuffers(c.tc, 0)
	}
	c.mu.Unlock()
	s.account(w)
	switch {
	case len(st.held) == 0:
		// Sending sliced held forward, to the end of its array: start it
		// again at the array's beginning, for the next batch to reuse.
		st.held = st.heldBuf[:0]
		if cap(st.held) > 4<<10 {
			st.held, st.heldBuf = nil, nil
		}
		st.stalled = time.Time{}
	case st.stalled.IsZero():
		st.stalled = time.Now()
	case time.Since(st.stalled) > s.eng.cfg.WriteTimeout:
		return false, errStalled
	}
	if s.last && done {
		return true, s.ended()
	}
	return false, nil
}

// finishH2 is finish for a stream over HTTP/2: the stream is reset unless
// its last frame was written or the client reset it; the connection stays.
func (s *leanStream) finishH2() {
	st := s.h2
	c := st.c
	c.mu.Lock()
	if !st.ended && !st.reset {
		c.writeFrames(func(fr *http2.Framer) error { return fr.WriteRSTStream(st.id, http2.ErrCodeCancel) })
		st.reset = true
		_ = c.flushLocked()
	}
	c.removeLocked(st)
	c.mu.Unlock()
	st.held, st.heldBuf = nil, nil
}
