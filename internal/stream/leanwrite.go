package stream

import (
	"net"
	"strconv"
	"sync"

	"github.com/ssehub/ssehub/internal/sse"
)

// The fixed pieces of a taken-over stream's chunked body.
var (
	heartbeatChunk = appendChunk(nil, sse.AppendComment(nil, ""))
	lastChunk      = []byte("0\r\n\r\n")
	crlf           = []byte("\r\n")
)

// maxVecs bounds the buffers of one blocking writev: the connection keeps
// an iovec array of that size for reuse.
const maxVecs = 64

// vecs holds the write vectors of streams with bytes to write, so that an
// idle stream keeps none.
var vecs = sync.Pool{New: func() any { return new(net.Buffers) }}

// appendChunk appends p as one chunk of a chunked HTTP/1.1 body.
func appendChunk(dst, p []byte) []byte {
	dst = strconv.AppendInt(dst, int64(len(p)), 16)
	dst = append(dst, crlf...)
	dst = append(dst, p...)
	return append(dst, crlf...)
}

// step writes what is due: first what is left of a write, then queued
// updates and a heartbeat, or the body's last chunk once the stream ends
// gracefully. It returns the end's reason once all is written. Every step
// that returns nil has drained the queue after it began, so it serves the
// wakes that run counted before calling it (a step that wrote only what was
// left would lose the wake of an update queued meanwhile: its queue was not
// empty, so no later update wakes the stream again).
func (s *leanStream) step(w *writer) error {
	if s.h2 != nil {
		return s.stepH2(w)
	}
	if len(s.out) > 0 {
		if err := s.send(w); err != nil || s.last {
			return err
		}
	}
	if s.vec == nil && w != nil && w.scratch() != nil {
		s.vec, s.borrowed = w.scratch(), true
	}
	if err := s.fill(); err != nil {
		return err
	}
	if len(s.out) == 0 {
		s.putVec() // never keep a writer's array past its turn
		return nil
	}
	if s.tls != nil {
		if err := s.encrypt(); err != nil {
			return err
		}
	}
	return s.send(w)
}

// send flushes out and accounts for its batch; once the body's last chunk
// is written it returns why the stream ends.
func (s *leanStream) send(w *writer) error {
	if err := s.flush(w); err != nil {
		return err
	}
	s.account(w)
	if s.last {
		return s.ended()
	}
	return nil
}

// fill puts into out what is due, or returns why the stream ends.
func (s *leanStream) fill() error {
	if err := s.ended(); err != nil {
		if s.last || !graceful(err) {
			return err
		}
		s.last = true
		if goingAway(err) {
			if bye := s.eng.farewell(nil); len(bye) > 0 {
				s.queue(appendChunk(nil, bye))
			}
		}
		s.queue(lastChunk)
		return nil
	}
	s.batch, s.replayed = s.sub.DrainBatch(s.batch)
	if len(s.batch) > 0 {
		size := 0
		for _, u := range s.batch {
			size += len(u.Wire())
		}
		head := append(strconv.AppendInt(s.head[:0], int64(size), 16), crlf...)
		s.queue(head)
		for _, u := range s.batch {
			s.queue(u.Wire())
		}
		s.queue(crlf)
	}
	if s.beatDue.Swap(false) {
		s.heartbeat.Reset(s.eng.cfg.Heartbeat)
		s.queue(heartbeatChunk)
	}
	return nil
}

// queue appends b to out, in the array of vec: the pool writer's own, or
// else one taken from vecs.
func (s *leanStream) queue(b []byte) {
	if s.vec == nil {
		s.vec = vecs.Get().(*net.Buffers)
	}
	if len(s.out) == 0 {
		s.out = (*s.vec)[:0]
	}
	s.out = append(s.out, b)
	*s.vec = s.out
}

// putVec gives out's array back: to vecs, or to the writer it was borrowed
// from. Only the part of the array used since it was taken is cleared:
// the rest was cleared when it was given back before.
func (s *leanStream) putVec() {
	if s.vec == nil {
		return
	}
	clear(*s.vec)
	*s.vec = (*s.vec)[:0]
	if !s.borrowed {
		vecs.Put(s.vec)
	}
	s.vec, s.out, s.borrowed = nil, nil, false
}

// unborrow moves what is left of out from the pool writer's array to one
// of vecs, for the stream's own goroutine, which the writer hands it to.
func (s *leanStream) unborrow() {
	if !s.borrowed {
		return
	}
	v := vecs.Get().(*net.Buffers)
	*v = append((*v)[:0], s.out...)
	clear(*s.vec)
	*s.vec = (*s.vec)[:0]
	s.vec, s.out, s.borrowed = v, *v, false
}

// flush writes out. A pool writer's writes never wait: what the connection
// does not take at once stays in out, and errWouldBlock says so.
func (s *leanStream) flush(w *writer) error {
	if w != nil {
		if err := w.write(s); err != nil {
			return err
		}
	} else {
		s.renewDeadline() // only the stream's own goroutine waits for the client
	}
	for len(s.out) > 0 {
		part := s.out[:min(len(s.out), maxVecs)]
		if _, err := part.WriteTo(s.conn); err != nil {
			return err
		}
		s.out = s.out[min(len(s.out), maxVecs):]
	}
	s.putVec()
	if s.tls != nil {
		s.tls.trim(len(s.batch) == 0)
	}
	return nil
}

// account accounts for the written batch in the tally of w, or the
// shared one for the stream's own goroutine (nil).
func (s *leanStream) account(w *writer) {
	if len(s.batch) == 0 {
		return
	}
	t := s.eng.shared
	if w != nil {
		t = w.tally
	}
	t.batchWritten(s.batch, s.replayed)
	s.batch = s.batch[:0]
}

// renewDeadline keeps at least half of the write timeout ahead.
func (s *leanStream) renewDeadline() {
	if at, ok := s.deadline.renew(s.eng.cfg.WriteTimeout); ok {
		_ = s.conn.SetWriteDeadline(at)
	}
}

// write writes b, waiting for the connection as long as the write timeout.
func (s *leanStream) write(b []byte) error {
	s.renewDeadline()
	if s.tls != nil {
		var err error
		if b, err = s.tls.seal(b); err != nil {
			return err
		}
		defer s.tls.trim(true) // the response's head: the stream may stay idle
	}
	_, err := s.conn.Write(b)
	return err
}
