package stream

import (
	"context"
	"crypto/tls"
	"errors"
	"maps"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// HTTP/2 connections served by the engine itself (h2*.go), instead of by
// net/http's HTTP/2 server, which keeps three goroutines and about 50 KiB
// per connection (benchmarks.md): after the TLS handshake negotiates "h2",
// the engine's hangup watcher reads every connection's frames as they come
// (epoll, no goroutine per connection), event streams are leanStreams
// written by the pool writers as DATA frames sealed by the connection's
// tls.Conn, and any other request runs its handler on a goroutine of its
// own for as long as it lasts, through an http.ResponseWriter of the
// engine's (h2response.go). Frames are read and written with x/net/http2's
// Framer and HPACK; RFC 9113 is the reference.

// The limits the engine's HTTP/2 connections advertise and hold.
const (
	h2MaxStreams     = 250       // SETTINGS_MAX_CONCURRENT_STREAMS
	h2MaxReadFrame   = 16384     // the largest frame read (the protocol's default)
	h2DefaultWindow  = 65535     // the initial flow-control window of both sides
	h2SoftPending    = 256 << 10 // past it, DATA waits for the socket
	h2HardPending    = 4 << 20   // past it, the client is not reading: the connection ends
	h2ReadBudget     = 256 << 10 // bytes one connection's turn reads, for fairness
	h2PrefaceTimeout = 10 * time.Second
)

// h2Conn is one HTTP/2 connection served by the engine.
type h2Conn struct {
	eng    *Engine
	srv    *http.Server
	tc     *tls.Conn
	sc     *sealConn // under tc; its sealed buffer is out
	fd     uintptr
	state  tls.ConnectionState
	remote string
	ctx    context.Context // the requests' parent (each is cancelled on its own)

	// The reader's: the hangup watcher, one event at a time.
	in      []byte // plaintext not yet parsed: part of a frame
	dec     *hpack.Decoder
	preface bool   // the client's preface was read
	settled bool   // then its first SETTINGS
	lastID  uint32 // the highest stream the client opened
	watched int32  // the connection's slot in Engine.hangups plus one; 0 if none

	mu         sync.Mutex // the rest, and writes to tc
	out        []byte     // sealed records not yet sent: sc writes here
	pending    []byte     // records the socket did not take, for the flusher
	flushing   bool       // the flusher goroutine is writing pending
	closed     bool
	goingAway  bool   // GOAWAY sent: no new stream
	window     int32  // the connection's send window
	peerWindow int32  // the client's SETTINGS_INITIAL_WINDOW_SIZE
	peerFrame  uint32 // the client's SETTINGS_MAX_FRAME_SIZE
	recvWindow int32  // what the client may still send on the connection
	owed       int32  // what was read of it but not given back yet
	streams    map[uint32]*h2Stream
	idle       *time.Timer // ends the connection left without streams
	// draining are the streams answered before their request's body
	// ended, with the bytes its Content-Length still announces: DATA past
	// it, or an end short of it, is still a malformed request.
	draining map[uint32]int64
}

// h2Stream is one request and its response on an h2Conn. Its fields are
// under the connection's mu, but held (the lean stream's writer's).
type h2Stream struct {
	c        *h2Conn
	id       uint32
	window   int32 // send window
	recv     int32 // what the client may still send on the stream
	owed     int32 // what was read of it but not given back yet
	body     *h2Body
	ctx      context.Context // the request's
	cancel   context.CancelFunc
	lean     *leanStream   // set once the engine took the stream over
	more     chan struct{} // a token when the window grows or the stream ends
	reset    bool          // RST_STREAM sent or received
	ended    bool          // END_STREAM sent
	handling bool          // its handler runs
	waiting  bool          // its lean stream holds what the windows keep back
	quiet    bool          // held is no update (the start, a heartbeat): the connection may be idle
	// held is the lean stream's payload that the windows did not let out
	// yet, and stalled since when; its writer's own.
	held    []byte
	heldBuf []byte // held's array, from its start: what sending slices off is reused
	stalled time.Time
}

// servesH2 reports whether the engine serves srv's HTTP/2 connections
// itself: srv is taken over (TakeOver), the build has the pool writers
// and the hangup watcher, and Config.NoHTTP2Takeover is not set.
func (e *Engine) servesH2(srv *http.Server) bool {
	if !PooledStreams || e.cfg.NoHTTP2Takeover {
		return false
	}
	e.taken.mu.Lock()
	defer e.taken.mu.Unlock()
	return e.taken.servers[srv] && !e.taken.closing
}

// serveH2 serves tc, a connection whose handshake negotiated "h2" over sc,
// for srv; base is its requests' parent context. It reports false, having
// done nothing, when it cannot (the watcher is unavailable): net/http then
// serves it.
func (e *Engine) serveH2(srv *http.Server, base context.Context, tc *tls.Conn, sc *sealConn) bool {
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	c := &h2Conn{
		eng: e, srv: srv, ctx: base, tc: tc, sc: sc, state: tc.ConnectionState(),
		remote: sc.RemoteAddr().String(), window: h2DefaultWindow, peerWindow: h2DefaultWindow,
		peerFrame: h2MaxReadFrame, recvWindow: h2DefaultWindow, streams: map[uint32]*h2Stream{},
	}
	if raw.Control(func(fd uintptr) { c.fd = fd }) != nil {
		return false
	}
	c.dec = hpack.NewDecoder(4096, nil)
	if !e.taken.addConn(c) {
		return false
	}
	sc.sealed = &c.out
	sc.raw, sc.nonblock = raw, true
	c.mu.Lock()
	c.idle = time.AfterFunc(h2PrefaceTimeout, c.idleTimeout)
	c.mu.Unlock()
	if !e.hangups.watchConn(c) {
		c.close(errors.New("http2: the connection cannot be watched"))
		return true
	}
	return true
}

// sendSettings sends the server's preface, its SETTINGS, once the client's
// preface came; the connection may then stay idle for the server's
// IdleTimeout rather than the preface's.
func (c *h2Conn) sendSettings() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.idle.Stop()
	c.armIdleLocked()
	c.writeFrames(func(fr *http2.Framer) error {
		return fr.WriteSettings(
			http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: h2MaxStreams},
			http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: uint32(c.maxHeaderBytes())},
			http2.Setting{ID: http2.SettingEnablePush, Val: 0},
		)
	})
	_ = c.flushLocked()
}

// maxHeaderBytes is the largest header list a request may have: the
// server's MaxHeaderBytes, as net/http counts it for HTTP/2.
func (c *h2Conn) maxHeaderBytes() int {
	if n := c.srv.MaxHeaderBytes; n > 0 {
		return n
	}
	return http.DefaultMaxHeaderBytes
}

// idleTimeout ends the connection when it still has no stream: the client
// never spoke HTTP/2, or left the connection idle for the server's
// IdleTimeout.
func (c *h2Conn) idleTimeout() {
	c.mu.Lock()
	idle := len(c.streams) == 0 && !c.closed
	c.mu.Unlock()
	if idle {
		c.goAway(http2.ErrCodeNo, errIdle)
	}
}

// armIdle starts the idle timer once the connection has no stream, under mu.
func (c *h2Conn) armIdleLocked() {
	if len(c.streams) > 0 || c.closed || c.idle == nil {
		return
	}
	if c.goingAway {
		c.closeAfterFlushLocked()
		return
	}
	if d := c.srv.IdleTimeout; d > 0 {
		c.idle.Reset(d)
	}
}

// errIdle ends a connection left idle.
var errIdle = errors.New("http2: idle connection")

// goAway sends GOAWAY with code and ends the connection once its streams
// are done (code NO_ERROR) or at once (any other code).
func (c *h2Conn) goAway(code http2.ErrCode, why error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if !c.goingAway {
		c.goingAway = true
		c.writeFrames(func(fr *http2.Framer) error { return fr.WriteGoAway(c.lastID, code, nil) })
	}
	c.flushLocked()
	if code != http2.ErrCodeNo {
		c.mu.Unlock()
		c.close(why)
		return
	}
	if len(c.streams) == 0 {
		c.closeAfterFlushLocked()
	}
	c.mu.Unlock()
}

// closeAfterFlushLocked closes the connection now if nothing is left to
// send, else lets the flusher close it once it has sent everything.
func (c *h2Conn) closeAfterFlushLocked() {
	if c.flushing {
		return // the flusher closes it
	}
	go c.close(errGoneAway)
}

// errGoneAway ends a connection after its GOAWAY.
var errGoneAway = errors.New("http2: connection gone away")

// close ends the connection for err: its streams end, the requests'
// contexts are cancelled, and the socket is closed. Pool writers write to
// the descriptor only under mu while the connection is open, so closing it
// after setting closed cannot write to a descriptor reused meanwhile.
func (c *h2Conn) close(err error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	streams := slices.Collect(maps.Values(c.streams))
	c.idle.Stop()
	c.mu.Unlock()
	c.eng.hangups.forgetConn(c)
	for _, st := range streams {
		c.abortStream(st)
	}
	if errors.Is(err, errNotReading) || errors.Is(err, errShutdown) {
		_ = c.sc.SetLinger(0) // drop what the client did not read
	}
	_ = c.sc.TCPConn.Close()
	c.eng.taken.removeConn(c)
	if !errors.Is(err, errClientLeft) {
		c.eng.cfg.Logger.Debug("http2 connection ended", "remote", c.remote, "reason", err.Error())
	}
}

// abortStream ends st because its connection ended or it was reset:
// its lean stream ends, or its handler's context is cancelled.
func (c *h2Conn) abortStream(st *h2Stream) {
	c.mu.Lock()
	lean, cancel, body, more := st.lean, st.cancel, st.body, st.more
	c.mu.Unlock()
	if lean != nil {
		lean.end(errClientLeft)
	}
	if cancel != nil {
		cancel()
	}
	if body != nil {
		body.fail(errClientLeft)
	}
	signal(more)
}

// signal leaves a token in ch unless one is there.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// nonblocking is the error of a read the socket has nothing for: a
// temporary net.Error, which tls.Conn returns without failing for good.
type nonblocking struct{}

func (nonblocking) Error() string   { return "read would block" }
func (nonblocking) Timeout() bool   { return false }
func (nonblocking) Temporary() bool { return true }

var _ net.Error = nonblocking{}
