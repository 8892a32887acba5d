package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/sse"
)

// leanStream is a subscription stream on a connection taken over from
// net/http (see API.TakeOver). While idle it has one goroutine, its reader,
// which only waits for the client to leave. Queued updates, a heartbeat
// or the stream's end wake it: the wake that finds it asleep hands it to
// the API's writers, which write everything queued as one chunk of the
// updates' shared encoded bytes (writev) without ever waiting on the
// client. A write the connection cannot take at once is finished by a
// goroutine of the stream's own, which keeps writing until nothing is left.
type leanStream struct {
	api     *API
	conn    net.Conn
	raw     syscall.RawConn // conn's descriptor, for writes that must not wait; nil if none
	sub     *hub.Subscriber
	release func() // gives back the stream's place in the connection limits
	remote  string

	// Set before the first wake, then touched only by the writer.
	heartbeat *time.Timer
	expiry    *time.Timer // nil when the token never expires

	// pend counts the wakes not yet served; the wake that raises it from
	// zero hands the stream to a writer. A finished stream leaves it above
	// zero for good, so that no writer takes it again.
	pend    atomic.Int64
	beatDue atomic.Bool

	mu  sync.Mutex
	err error // why the stream ends, set once by end

	// The writer's own state.
	deadline  time.Time     // renewed once half of the write timeout has passed
	batch     []*hub.Update // the updates in out, accounted once written
	out       net.Buffers   // bytes to write; its array is vecs' while not empty
	vec       *net.Buffers  // out's array, from vecs
	last      bool          // out holds, or held, the body's last chunk
	replaying bool          // the next batch holds the replayed updates
	head      [20]byte      // the size line of out's chunk

	rbuf [64]byte // the reader's: whatever the client sends is discarded
}

// Reasons a taken-over stream ends besides those of the hub.
var errClientLeft = errors.New("the client left")

// errWouldBlock is a write the connection could not take at once.
var errWouldBlock = errors.New("write would block")

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

// wake makes sure a writer will look at the stream. It never blocks: when
// the writers' queue is full the stream gets a goroutine of its own.
func (s *leanStream) wake() {
	if s.pend.Add(1) == 1 {
		select {
		case s.api.writers.queue <- s:
		default:
			go s.run(nil)
		}
	}
}

// beat asks the writer for a heartbeat; the writer re-arms the timer.
func (s *leanStream) beat() {
	s.beatDue.Store(true)
	s.wake()
}

// end ends the stream for err, once. A graceful end lets the writer close
// the body; any other resets the connection at once, so that a write
// blocked on a client that stopped reading fails now.
func (s *leanStream) end(err error) {
	if err == nil {
		err = errStreamEnded
	}
	s.mu.Lock()
	first := s.err == nil
	if first {
		s.err = err
	}
	s.mu.Unlock()
	if !first {
		return
	}
	if !graceful(err) {
		s.abort()
	}
	s.wake()
}

// abort closes the connection with a reset: the client learns at once,
// and whatever it did not read is dropped rather than kept in the kernel.
func (s *leanStream) abort() {
	if tc, ok := s.conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = s.conn.Close()
}

// graceful reports whether a stream ending for err closes its body.
func graceful(err error) bool {
	return errors.Is(err, hub.ErrClosed) || errors.Is(err, errTokenExpired) || errors.Is(err, errShutdown)
}

// ended returns why the stream ends, or nil.
func (s *leanStream) ended() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// run serves wakes until none is pending or the stream is finished. w is
// the pool writer running it; nil means a goroutine of the stream's own,
// whose writes may wait. A pool writer leaves a write the connection
// cannot take at once to such a goroutine.
func (s *leanStream) run(w *writer) {
	for {
		n := s.pend.Load()
		err := s.step(w)
		if errors.Is(err, errWouldBlock) {
			go s.run(nil) // pend is unchanged: it serves the wakes
			return
		}
		if err != nil {
			s.finish(err)
			return
		}
		if s.pend.Add(-n) == 0 {
			return
		}
	}
}

// step writes what is due: what is left of a write, else queued updates
// and a heartbeat, or the body's last chunk once the stream ends
// gracefully. It returns the end's reason once all is written.
func (s *leanStream) step(w *writer) error {
	if len(s.out) == 0 {
		if err := s.fill(); err != nil {
			return err
		}
		if len(s.out) == 0 {
			return nil
		}
	}
	if err := s.flush(w); err != nil {
		return err
	}
	s.account()
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
		s.queue(lastChunk)
		return nil
	}
	s.batch = s.sub.Drain(s.batch)
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
		s.heartbeat.Reset(s.api.cfg.Heartbeat)
		s.queue(heartbeatChunk)
	}
	return nil
}

// queue appends b to out, taking an array from vecs for an empty out.
func (s *leanStream) queue(b []byte) {
	if s.vec == nil {
		s.vec = vecs.Get().(*net.Buffers)
		s.out = (*s.vec)[:0]
	}
	s.out = append(s.out, b)
	*s.vec = s.out
}

// putVec gives out's array back to vecs.
func (s *leanStream) putVec() {
	if s.vec == nil {
		return
	}
	b := (*s.vec)[:cap(*s.vec)]
	clear(b)
	*s.vec = b[:0]
	vecs.Put(s.vec)
	s.vec, s.out = nil, nil
}

// flush writes out. A pool writer's writes never wait: what the connection
// does not take at once stays in out, and errWouldBlock says so.
func (s *leanStream) flush(w *writer) error {
	s.renewDeadline()
	if w != nil {
		if err := w.write(s); err != nil {
			return err
		}
	}
	for len(s.out) > 0 {
		part := s.out[:min(len(s.out), maxVecs)]
		if _, err := part.WriteTo(s.conn); err != nil {
			return err
		}
		s.out = s.out[min(len(s.out), maxVecs):]
	}
	s.putVec()
	return nil
}

// account counts the written batch and observes the latency of its oldest
// update, as stream.drain does.
func (s *leanStream) account() {
	if len(s.batch) == 0 {
		return
	}
	internal := 0
	for _, u := range s.batch {
		if u.Internal {
			internal++
		}
	}
	s.api.counts.delivered.Add(uint64(len(s.batch) - internal))
	if m, first := s.api.cfg.Metrics, s.batch[0]; m != nil && !s.replaying && !first.Time.IsZero() {
		m.ObserveLatency(time.Since(first.Time))
	}
	s.replaying = false
	s.batch = s.batch[:0]
}

// renewDeadline keeps at least half of the write timeout ahead.
func (s *leanStream) renewDeadline() {
	if now := time.Now(); s.deadline.Sub(now) < s.api.cfg.WriteTimeout/2 {
		s.deadline = now.Add(s.api.cfg.WriteTimeout)
		_ = s.conn.SetWriteDeadline(s.deadline)
	}
}

// finish closes the stream: the connection (with a reset unless the body's
// last chunk is written), the subscription and the stream's place in the
// limits.
func (s *leanStream) finish(err error) {
	if e := s.ended(); e != nil {
		err = e
	}
	s.heartbeat.Stop()
	if s.expiry != nil {
		s.expiry.Stop()
	}
	if !s.last || len(s.out) > 0 {
		s.abort() // not a graceful end, or its last chunk was not written
	}
	_ = s.conn.Close()
	s.putVec()
	s.sub.Close()
	s.release()
	s.api.taken.remove(s)
	if !errors.Is(err, errClientLeft) {
		s.api.log.LogAttrs(context.Background(), slog.LevelDebug, "stream ended",
			slog.String("remote", s.remote), slog.String("reason", err.Error()))
	}
	s.api.taken.wg.Done()
}

// read waits for the client to leave, discarding whatever it sends.
func (s *leanStream) read() {
	defer s.api.taken.wg.Done()
	for {
		if _, err := s.conn.Read(s.rbuf[:]); err != nil {
			s.end(errClientLeft)
			return
		}
	}
}

// write writes b, waiting for the connection as long as the write timeout.
func (s *leanStream) write(b []byte) error {
	s.renewDeadline()
	_, err := s.conn.Write(b)
	return err
}
