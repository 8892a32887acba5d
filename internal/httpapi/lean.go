package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/sse"
)

// leanStream is a subscription stream on a connection taken over from
// net/http (see API.TakeOver). While idle it has one goroutine, its reader,
// which only waits for the client to leave. Queued updates, a heartbeat
// or the stream's end wake it: the wake that finds no writer at work starts
// one, which writes everything queued, as chunks of the updates' shared
// encoded bytes (one writev each), and returns once nothing is left.
type leanStream struct {
	api     *API
	conn    net.Conn
	sub     *hub.Subscriber
	release func() // gives back the stream's place in the connection limits
	remote  string

	// Set before the first wake, then touched only by the writer.
	heartbeat *time.Timer
	expiry    *time.Timer // nil when the token never expires

	// pend counts the wakes not yet served; the wake that raises it from
	// zero starts a writer. A finished stream leaves it above zero for
	// good, so that no writer starts again.
	pend    atomic.Int64
	beatDue atomic.Bool

	mu  sync.Mutex
	err error // why the stream ends, set once by end

	// The writer's own state.
	deadline  time.Time // renewed once half of the write timeout has passed
	batch     []*hub.Update
	replaying bool     // the next batch holds the replayed updates
	head      [20]byte // a chunk's size line

	rbuf [64]byte // the reader's: whatever the client sends is discarded
}

// Reasons a taken-over stream ends besides those of the hub.
var errClientLeft = errors.New("the client left")

var (
	heartbeatChunk = appendChunk(nil, sse.AppendComment(nil, ""))
	lastChunk      = []byte("0\r\n\r\n")
	crlf           = []byte("\r\n")
)

// maxVecs bounds the updates written by one writev; the connection keeps
// an iovec array of that size for reuse.
const maxVecs = 64

// vecs holds the write vectors of writers at work, so that an idle stream
// keeps none.
var vecs = sync.Pool{New: func() any { return new(net.Buffers) }}

// appendChunk appends p as one chunk of a chunked HTTP/1.1 body.
func appendChunk(dst, p []byte) []byte {
	dst = strconv.AppendInt(dst, int64(len(p)), 16)
	dst = append(dst, crlf...)
	dst = append(dst, p...)
	return append(dst, crlf...)
}

// wake makes sure a writer will look at the stream.
func (s *leanStream) wake() {
	if s.pend.Add(1) == 1 {
		go s.run()
	}
}

// beat asks the writer for a heartbeat; the writer re-arms the timer.
func (s *leanStream) beat() {
	s.beatDue.Store(true)
	s.wake()
}

// end ends the stream for err, once. A graceful end lets the writer close
// the body; any other closes the connection at once, so that a write
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

// run is the writer: it serves wakes until none is pending or the stream
// is finished.
func (s *leanStream) run() {
	for {
		n := s.pend.Load()
		if err := s.step(); err != nil {
			s.finish(err)
			return
		}
		if s.pend.Add(-n) == 0 {
			return
		}
	}
}

// step writes what is due: queued updates, then a heartbeat.
func (s *leanStream) step() error {
	if err := s.ended(); err != nil {
		return err
	}
	if err := s.drain(); err != nil {
		return err
	}
	if s.beatDue.Swap(false) {
		s.heartbeat.Reset(s.api.cfg.Heartbeat)
		return s.write(heartbeatChunk)
	}
	return nil
}

// drain writes the queued updates, counts them and observes the latency of
// the oldest, as stream.drain does.
func (s *leanStream) drain() error {
	s.batch = s.sub.Drain(s.batch)
	if len(s.batch) == 0 {
		return nil
	}
	if err := s.writeUpdates(s.batch); err != nil {
		return err
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
	return nil
}

// writeUpdates writes us as chunks of at most maxVecs updates, each with
// one writev of the updates' shared bytes.
func (s *leanStream) writeUpdates(us []*hub.Update) error {
	s.renewDeadline()
	bufs := vecs.Get().(*net.Buffers)
	defer func() {
		clear((*bufs)[:cap(*bufs)])
		vecs.Put(bufs)
	}()
	for len(us) > 0 {
		part := us[:min(len(us), maxVecs)]
		us = us[len(part):]
		size := 0
		for _, u := range part {
			size += len(u.Wire())
		}
		v := append((*bufs)[:0], s.chunkHead(size))
		for _, u := range part {
			v = append(v, u.Wire())
		}
		v = append(v, crlf)
		*bufs = v
		if _, err := v.WriteTo(s.conn); err != nil {
			return err
		}
	}
	return nil
}

// chunkHead returns the size line of a chunk of n bytes.
func (s *leanStream) chunkHead(n int) []byte {
	b := strconv.AppendInt(s.head[:0], int64(n), 16)
	return append(b, crlf...)
}

// write writes b with a write deadline.
func (s *leanStream) write(b []byte) error {
	s.renewDeadline()
	_, err := s.conn.Write(b)
	return err
}

// renewDeadline keeps at least half of the write timeout ahead.
func (s *leanStream) renewDeadline() {
	if now := time.Now(); s.deadline.Sub(now) < s.api.cfg.WriteTimeout/2 {
		s.deadline = now.Add(s.api.cfg.WriteTimeout)
		_ = s.conn.SetWriteDeadline(s.deadline)
	}
}

// finish closes the stream: the body's last chunk on a graceful end, the
// connection, the subscription and the stream's place in the limits.
func (s *leanStream) finish(err error) {
	if e := s.ended(); e != nil {
		err = e
	}
	s.heartbeat.Stop()
	if s.expiry != nil {
		s.expiry.Stop()
	}
	if !graceful(err) || s.write(lastChunk) != nil {
		s.abort()
	}
	_ = s.conn.Close()
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
