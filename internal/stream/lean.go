package stream

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ssehub/ssehub/internal/hub"
)

// leanStream is a subscription stream on a connection taken over from
// net/http (see Engine.TakeOver). While idle it has no goroutine: the engine's
// hangup watcher (on Linux; elsewhere a reader goroutine of its own) waits
// for the client to leave. Queued updates, a heartbeat or the stream's end
// wake it: the wake that finds it asleep hands it to the engine's writers,
// which write everything queued as one chunk of the updates' shared encoded
// bytes (one sendmsg) without ever waiting on the client. A write the
// connection cannot take at once is finished by a goroutine of the stream's
// own, which keeps writing until nothing is left.
type leanStream struct {
	// What a wake and the writer touch at every delivery comes first, in
	// two cache lines: with thousands of streams each one's state is out
	// of the CPU's cache when its turn comes, and every line of it costs a
	// memory access.

	// pend counts the wakes not yet served; the wake that raises it from
	// zero hands the stream to a writer. A finished stream leaves it above
	// zero for good, so that no writer takes it again.
	pend atomic.Int64
	err  atomic.Pointer[error] // why the stream ends, set once by end
	sub  *hub.Subscriber
	// fd is the connection's descriptor, which the pool writers write to
	// directly when direct is set. Only the stream's writer closes conn,
	// in finish, after its last write: until then the number cannot be
	// given to another connection (abort shuts the socket down instead).
	fd uintptr

	// The writer's own state.
	batch    []*hub.Update // the updates in out, accounted once written
	out      net.Buffers   // bytes to write; its array is vec's while not empty
	vec      *net.Buffers  // out's array: from vecs, or borrowed from a pool writer
	beatDue  atomic.Bool
	direct   bool     // fd is set
	borrowed bool     // vec is the pool writer's, given back once out is written
	last     bool     // out holds, or held, the body's last chunk
	replayed bool     // batch is a page of the replay, read from history
	head     [20]byte // the size line of out's chunk
	deadline writeDeadline

	eng     *Engine
	conn    net.Conn
	raw     syscall.RawConn // conn's descriptor, for writes that must not wait; nil if none
	release func()          // Options.Release, called once the stream is finished
	remote  string

	// Set before the first wake, then touched only by the writer.
	heartbeat *time.Timer
	expiry    *time.Timer // nil when the token never expires
	// renew is Options.Renew, asked with renewCtx, which finish cancels
	// with stopRenew; all nil without Renew.
	renew     func(context.Context) (time.Time, error)
	renewCtx  context.Context
	stopRenew context.CancelFunc

	watched int32 // the stream's slot in Engine.hangups plus one; 0 if none

	// tls is set over TLS (tlsstreams.go); conn is then the TCP connection
	// under it.
	tls *sealing
	// h2 is set for a stream over one of the engine's HTTP/2 connections
	// (h2lean.go); conn, raw and fd are then unset.
	h2 *h2Stream
}

// Reasons a taken-over stream ends besides those of the hub.
var errClientLeft = errors.New("the client left")

// errWouldBlock is a write the connection could not take at once.
var errWouldBlock = errors.New("write would block")

// Wake makes sure a writer will look at the stream (the hub calls it as
// the subscription's hub.Waker). It never blocks: when no pool writer will
// take it (before they start, after they stop) the stream gets a goroutine
// of its own.
func (s *leanStream) Wake() {
	if s.pend.Add(1) == 1 && !s.eng.writers.push(s) {
		go s.run(nil)
	}
}

// beat asks the writer for a heartbeat; the writer re-arms the timer.
func (s *leanStream) beat() {
	s.beatDue.Store(true)
	s.Wake()
}

// end ends the stream for err, once. A graceful end lets the writer close
// the body; any other aborts the connection at once, so that a write
// blocked on a client that stopped reading fails now.
func (s *leanStream) end(err error) {
	if err == nil {
		err = errStreamEnded
	}
	if !s.err.CompareAndSwap(nil, &err) {
		return
	}
	if !graceful(err) {
		s.abort()
	}
	s.Wake()
}

// abort resets the connection: a write or read waiting on it fails now,
// and once the writer closes it (finish) the client gets a reset and
// whatever it did not read is dropped rather than kept in the kernel.
func (s *leanStream) abort() {
	if s.h2 != nil {
		return // its writer resets the stream; the connection stays
	}
	if tc, ok := s.conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	s.interrupt()
}

// graceful reports whether a stream ending for err closes its body.
func graceful(err error) bool {
	return goingAway(err) || errors.Is(err, errTokenExpired)
}

// ended returns why the stream ends, or nil.
func (s *leanStream) ended() error {
	if err := s.err.Load(); err != nil {
		return *err
	}
	return nil
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
			s.unborrow()
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

// finish closes the stream: the connection (with a reset unless the body's
// last chunk is written), the subscription and the stream's place in the
// limits.
func (s *leanStream) finish(err error) {
	if e := s.ended(); e != nil {
		err = e
	}
	s.stopTimers()
	if s.h2 != nil {
		s.finishH2()
		s.released(err)
		return
	}
	if tc, ok := s.conn.(*net.TCPConn); ok && (!s.last || len(s.out) > 0) {
		_ = tc.SetLinger(0) // not a graceful end, or its last chunk was not written: reset
	}
	s.eng.hangups.forget(s)
	_ = s.conn.Close()
	s.putVec()
	s.released(err)
}

// stopTimers stops the stream's heartbeat, expiry and renewal.
func (s *leanStream) stopTimers() {
	s.heartbeat.Stop()
	if s.expiry != nil {
		s.expiry.Stop()
	}
	if s.stopRenew != nil {
		s.stopRenew()
	}
}

// released closes the subscription and gives back the stream's place,
// once its connection (or HTTP/2 stream) is done with; err is why it
// ended.
func (s *leanStream) released(err error) {
	s.sub.Close()
	s.release()
	s.eng.taken.remove(s)
	if !errors.Is(err, errClientLeft) {
		s.eng.cfg.Logger.LogAttrs(context.Background(), slog.LevelDebug, "stream ended",
			slog.String("remote", s.remote), slog.String("reason", err.Error()))
	}
	s.eng.taken.wg.Done()
}

// watch has the engine notice s's client leaving: its hangup watcher when it
// can, else a reader goroutine of the stream's own.
func (e *Engine) watch(s *leanStream) {
	if e.hangups.watch(s) {
		return
	}
	e.taken.wg.Add(1)
	go s.read()
}

// read waits for the client to leave, discarding whatever it sends.
func (s *leanStream) read() {
	defer s.eng.taken.wg.Done()
	var buf [64]byte
	for {
		if _, err := s.conn.Read(buf[:]); err != nil {
			s.end(errClientLeft)
			return
		}
	}
}
