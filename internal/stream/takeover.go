package stream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/ssehub/ssehub/internal/sse"
	"golang.org/x/net/http2"
)

// takenStreams are the event streams whose connections the engine took over
// from net/http (see TakeOver), with the servers it may take them from.
type takenStreams struct {
	mu      sync.Mutex
	servers map[*http.Server]bool
	open    map[*leanStream]struct{}
	conns   map[*h2Conn]struct{} // the HTTP/2 connections the engine serves
	closing bool                 // Close or a server's Shutdown began: take no more
	// wg counts, per open stream, its writer until the stream is finished,
	// and its reader goroutine if it has one (see Engine.watch).
	wg sync.WaitGroup
}

// add registers s, unless the streams are closing.
func (t *takenStreams) add(s *leanStream) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing {
		return false
	}
	if t.open == nil {
		t.open = map[*leanStream]struct{}{}
	}
	t.open[s] = struct{}{}
	t.wg.Add(1)
	return true
}

// hold counts one more goroutine working for s in wg, unless s is
// finished (no longer open); it reports whether it did. The caller calls
// wg.Done when that goroutine is done.
func (t *takenStreams) hold(s *leanStream) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.open[s]; !ok {
		return false
	}
	t.wg.Add(1) // s's own count is not done yet: the counter is above zero
	return true
}

// addConn registers c, unless the streams are closing; c counts in wg
// until it is closed.
func (t *takenStreams) addConn(c *h2Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing {
		return false
	}
	if t.conns == nil {
		t.conns = map[*h2Conn]struct{}{}
	}
	t.conns[c] = struct{}{}
	t.wg.Add(1)
	return true
}

// removeConn forgets a closed connection.
func (t *takenStreams) removeConn(c *h2Conn) {
	t.mu.Lock()
	_, ok := t.conns[c]
	delete(t.conns, c)
	t.mu.Unlock()
	if ok {
		t.wg.Done()
	}
}

// listConns returns the HTTP/2 connections; closing stops further
// takeovers.
func (t *takenStreams) listConns(closing bool) []*h2Conn {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closing = t.closing || closing
	return slices.Collect(maps.Keys(t.conns))
}

// remove forgets a finished stream.
func (t *takenStreams) remove(s *leanStream) {
	t.mu.Lock()
	delete(t.open, s)
	t.mu.Unlock()
}

// list returns the open streams; closing stops further takeovers.
func (t *takenStreams) list(closing bool) []*leanStream {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closing = t.closing || closing
	return slices.Collect(maps.Keys(t.open))
}

// TakeOver lets the engine take over from srv the connections of its
// event streams over HTTP/1.1 (plain, or over TLS when srv serves the
// engine's TLSListener, whose HTTP/2 connections the engine then serves
// itself unless Config.NoHTTP2Takeover): once the response headers are out, the
// handler returns and net/http forgets the connection. An idle stream then
// has no goroutine of its own (on Linux; elsewhere one small reader): one
// watcher notices the clients leaving, and a pool of writers writes the
// updates as they are queued. srv's Shutdown ends these streams (without
// waiting for them: call Close for that), and so does the hub's
// EndSubscriptions. Call TakeOver before srv serves.
func (e *Engine) TakeOver(srv *http.Server) {
	e.taken.mu.Lock()
	if e.taken.servers == nil {
		e.taken.servers = map[*http.Server]bool{}
	}
	e.taken.servers[srv] = true
	e.taken.mu.Unlock()
	rememberConn(srv)
	e.writers.run()
	e.hangups.run(e.cfg.Logger)
	srv.RegisterOnShutdown(func() {
		for _, s := range e.taken.list(true) {
			s.end(errShutdown)
		}
		for _, c := range e.taken.listConns(true) {
			c.goAway(http2.ErrCodeNo, errShutdown)
		}
	})
}

// Close ends the streams the engine took over, as a graceful shutdown
// does, and waits until their connections are closed and their goroutines
// have returned. Once ctx is done it closes the remaining connections at
// once. No stream is taken over afterwards.
func (e *Engine) Close(ctx context.Context) error {
	for _, s := range e.taken.list(true) {
		s.end(errShutdown)
	}
	for _, c := range e.taken.listConns(true) {
		c.goAway(http2.ErrCodeNo, errShutdown)
	}
	done := make(chan struct{})
	go func() {
		e.taken.wg.Wait()
		close(done)
	}()
	defer e.hangups.close()
	defer e.writers.close()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	for _, s := range e.taken.list(true) {
		s.abort()
	}
	for _, c := range e.taken.listConns(true) {
		c.close(errShutdown)
	}
	<-done
	return fmt.Errorf("close streams: %w", ctx.Err())
}

// canTakeOver reports whether r's stream may be taken over.
func (e *Engine) canTakeOver(r *http.Request) bool {
	if r.ProtoMajor != 1 || r.ProtoMinor != 1 || (r.TLS != nil && sealedUnder(r) == nil) {
		return false
	}
	srv, _ := r.Context().Value(http.ServerContextKey).(*http.Server)
	e.taken.mu.Lock()
	defer e.taken.mu.Unlock()
	return srv != nil && e.taken.servers[srv] && !e.taken.closing
}

// takeOver hijacks r's connection and serves o.Sub on it until the stream
// ends, owning o.Sub and o.Release from then on. It writes the response
// head and what is queued on the calling goroutine, then returns. It
// reports false, having written nothing, when the connection cannot be
// hijacked.
func (e *Engine) takeOver(w http.ResponseWriter, r *http.Request, o Options) bool {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return false
	}
	sub := o.Sub
	setStreamHeaders(w.Header(), sub)
	s := &leanStream{eng: e, conn: conn, sub: sub, release: o.Release, remote: o.Remote}
	switch c := conn.(type) {
	case *framedTLSConn:
		if sealed, ok := c.NetConn().(*sealConn); ok { // canTakeOver saw to it
			s.tls, s.conn = &sealing{conn: c.Conn}, sealed.TCPConn
			sealed.sealed = &s.tls.sealed
			releaseTLSReadBuffers(c.Conn, 0) // a stream reads no more of it
		}
	case *framedConn:
		s.conn = c.TCPConn // a stream reads no request: its hangup watcher reads the socket
	}
	if sc, ok := s.conn.(syscall.Conn); ok {
		if s.raw, _ = sc.SyscallConn(); s.raw != nil {
			s.direct = s.raw.Control(func(fd uintptr) { s.fd = fd }) == nil
		}
	}
	s.pend.Store(1) // this goroutine is the stream's writer until run returns
	if !e.taken.add(s) {
		_ = conn.Close()
		sub.Close()
		o.Release()
		return true
	}
	e.watch(s)
	s.start(o)
	if err := s.write(responseHead(w.Header(), e.cfg.Retry)); err != nil {
		s.end(err)
	}
	s.run(nil)
	return true
}

// start arms s's timers and has its subscription wake it, for a stream
// taken over (and counted in Engine.taken) on the calling goroutine, which
// is its writer until it calls s.run (its pend is 1).
func (s *leanStream) start(o Options) {
	s.heartbeat = time.AfterFunc(s.eng.cfg.Heartbeat, s.beat)
	if !o.Expiry.IsZero() {
		if o.Renew != nil {
			s.renew = o.Renew
			s.renewCtx, s.stopRenew = context.WithCancel(context.Background())
		}
		s.expiry = time.AfterFunc(time.Until(o.Expiry), s.expire)
	}
	o.Sub.OnEnd(func() { s.end(o.Sub.Err()) })
	o.Sub.OnReady(s)
}

// responseHead is the status line and headers of a taken-over stream, and
// its opening chunk. The body is chunked, as net/http would send it, so a
// client tells the stream's end from a broken connection; the connection
// is not reused.
func responseHead(h http.Header, retry int) []byte {
	var b bytes.Buffer
	b.WriteString("HTTP/1.1 200 OK\r\n")
	_ = h.Write(&b)
	b.WriteString("Date: ")
	b.Write(time.Now().UTC().AppendFormat(nil, http.TimeFormat))
	b.WriteString("\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
	b.Write(appendChunk(nil, sse.AppendRetry(nil, retry)))
	return b.Bytes()
}

// errShutdown ends the taken-over streams when the server shuts down.
var errShutdown = errors.New("server shutting down")
