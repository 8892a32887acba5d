package stream

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"time"
)

// TLS handshakes done by the engine's listener rather than by net/http, so
// that the listener knows each connection's protocol (ALPN) before
// net/http sees it: HTTP/2 connections are the engine's own (h2conn.go)
// when it serves srv's (else they go to net/http as their tls.Conn, which
// it serves with its HTTP/2 server); HTTP/1.x ones
// go framed as plain connections are (framing.go), so that a request with
// both Content-Length and Transfer-Encoding is marked for the endpoints to
// refuse, over TLS too.

const (
	// maxHandshakes bounds the handshakes in progress on one listener: a
	// goroutine each, with its tls.Conn. Past it the listener accepts no
	// more connections until one ends; they wait in the kernel's backlog.
	maxHandshakes = 1024
	// defaultHandshakeTimeout bounds a handshake when the server has no
	// timeout (see handshakeTimeout).
	defaultHandshakeTimeout = 10 * time.Second
)

// tlsListener accepts TCP connections and does their TLS handshakes, each
// on a goroutine of its own, bounded in time and in number; Accept returns
// the connections whose handshake is done.
type tlsListener struct {
	net.Listener // the TCP listener
	eng          *Engine
	srv          *http.Server
	slots        chan struct{} // a token per handshake in progress
	ready        chan net.Conn // handshaken connections, for Accept
	errs         chan error    // the TCP listener's Accept errors, for Accept
	ctx          context.Context
	cancel       context.CancelFunc // Close: the goroutines end
	start, stop  sync.Once
	wg           sync.WaitGroup // the accept loop and the handshakes

	// Set by the first Accept, once srv serves (see TLSListener).
	config  *tls.Config
	timeout time.Duration
	base    context.Context // the parent of the requests the engine serves over HTTP/2
}

// TLSListener wraps ln for srv.Serve (not ServeTLS): the listener does the
// TLS handshakes itself, with srv.TLSConfig (which must be set), and gives
// net/http each connection once its handshake is done: as its tls.Conn if
// it speaks HTTP/2 (when srv.TLSConfig.NextProtos names "h2", Serve
// configures it), else following the framing of its HTTP/1.x requests as
// PlainListener's connections do, so that a request with both
// Content-Length and Transfer-Encoding is marked (see AmbiguousFraming);
// Request.TLS is set either way. Each handshake runs on a goroutine of its
// own, off the Accept loop, within the shortest of srv's ReadHeaderTimeout,
// ReadTimeout and WriteTimeout (as net/http bounds its own; 10 s when none
// is set), at most 1,024 at once. Given to TakeOver, srv's HTTP/1.1
// streams are taken over from them too. Closing the listener ends the
// handshakes in progress and waits for their goroutines.
func (e *Engine) TLSListener(ln net.Listener, srv *http.Server) net.Listener {
	ctx, cancel := context.WithCancel(context.Background())
	return &tlsListener{
		Listener: ln, eng: e, srv: srv, ctx: ctx, cancel: cancel,
		slots: make(chan struct{}, maxHandshakes), ready: make(chan net.Conn), errs: make(chan error),
	}
}

// Accept returns the next connection whose handshake is done.
func (l *tlsListener) Accept() (net.Conn, error) {
	l.start.Do(l.run)
	select {
	case c := <-l.ready:
		return c, nil
	case err := <-l.errs:
		return nil, err
	case <-l.ctx.Done():
		return nil, &net.OpError{Op: "accept", Net: l.Addr().Network(), Addr: l.Addr(), Err: net.ErrClosed}
	}
}

// run starts the accept loop, with srv's TLS configuration as Serve has
// completed it (with HTTP/2's protocols).
func (l *tlsListener) run() {
	l.config = l.srv.TLSConfig.Clone()
	if l.config == nil {
		l.config = &tls.Config{} // no certificate: every handshake fails
	}
	l.config.NextProtos = served(l.config.NextProtos, l.srv)
	l.timeout = handshakeTimeout(l.srv)
	l.base = context.WithValue(context.Background(), http.ServerContextKey, l.srv)
	l.base = context.WithValue(l.base, http.LocalAddrContextKey, l.Addr())
	l.wg.Add(1)
	go l.acceptLoop()
}

// served returns the protocols of protos that srv serves: HTTP/1.x, and
// those of its TLSNextProto. (HTTP/2 is not, when GODEBUG=http2server=0 or
// srv.Protocols turn it off: net/http would close a connection that
// negotiated it.)
func served(protos []string, srv *http.Server) []string {
	var out []string
	for _, p := range protos {
		switch {
		case p == "http/1.1", p == "http/1.0", srv.TLSNextProto[p] != nil:
			out = append(out, p)
		}
	}
	return out
}

// Close closes the TCP listener, ends the handshakes in progress and waits
// for the listener's goroutines.
func (l *tlsListener) Close() error {
	l.start.Do(func() {}) // no accept loop after Close
	err := net.ErrClosed
	l.stop.Do(func() {
		l.cancel()
		err = l.Listener.Close()
		l.wg.Wait()
	})
	return err
}

// acceptLoop accepts TCP connections while a handshake may start, until
// Close. An error of the TCP listener goes to Accept, which net/http
// retries after a pause or returns from Serve; the loop accepts again once
// it is taken.
func (l *tlsListener) acceptLoop() {
	defer l.wg.Done()
	for {
		select {
		case l.slots <- struct{}{}:
		case <-l.ctx.Done():
			return
		}
		c, err := l.Listener.Accept()
		if err != nil {
			<-l.slots
			select {
			case l.errs <- err:
				continue
			case <-l.ctx.Done():
				return
			}
		}
		l.wg.Add(1)
		go l.handshake(c)
	}
}

// handshake does c's TLS handshake and hands the connection to Accept: its
// tls.Conn for HTTP/2 (and any protocol but HTTP/1.x), else a framedTLSConn.
// A TCP connection is sealed first (see sealConn), for streams taken over.
func (l *tlsListener) handshake(c net.Conn) {
	defer l.wg.Done()
	defer func() { <-l.slots }()
	if tc, ok := c.(*net.TCPConn); ok {
		c = &sealConn{TCPConn: tc}
	}
	stopClosing := context.AfterFunc(l.ctx, func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(l.timeout))
	tc := tls.Server(c, l.config)
	err := tc.Handshake()
	if !stopClosing() && err == nil {
		err = net.ErrClosed // Close came after the handshake; c is closed
	}
	if err != nil {
		l.failed(c, err)
		return
	}
	_ = c.SetDeadline(time.Time{})
	var conn net.Conn = tc
	switch tc.ConnectionState().NegotiatedProtocol {
	case "", "http/1.1", "http/1.0": // what net/http serves as HTTP/1.x
		conn = newFramedTLSConn(tc)
	case "h2":
		if sc, ok := c.(*sealConn); ok && l.eng.servesH2(l.srv) && l.eng.serveH2(l.srv, l.base, tc, sc) {
			return
		}
	}
	select {
	case l.ready <- conn:
	case <-l.ctx.Done():
		_ = c.Close()
	}
}

// failed closes c after a failed handshake and logs it as net/http does,
// answering a client that spoke plain HTTP with a 400 as net/http does.
func (l *tlsListener) failed(c net.Conn, err error) {
	reason := err.Error()
	var re tls.RecordHeaderError
	if errors.As(err, &re) && re.Conn != nil && looksLikeHTTP(re.RecordHeader) {
		_, _ = io.WriteString(re.Conn, "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
		reason = "client sent an HTTP request to an HTTPS server"
	}
	_ = c.Close()
	if l.ctx.Err() != nil {
		return // closed by Close: not the client's doing
	}
	logf := log.Printf
	if l.srv.ErrorLog != nil {
		logf = l.srv.ErrorLog.Printf
	}
	logf("http: TLS handshake error from %s: %v", c.RemoteAddr(), reason)
}

// looksLikeHTTP reports whether a TLS record's header is the start of an
// HTTP/1.x request (net/http's tlsRecordHeaderLooksLikeHTTP).
func looksLikeHTTP(hdr [5]byte) bool {
	switch string(hdr[:]) {
	case "GET /", "HEAD ", "POST ", "PUT /", "OPTIO":
		return true
	}
	return false
}

// handshakeTimeout is the shortest of srv's ReadHeaderTimeout, ReadTimeout
// and WriteTimeout that is set, as net/http bounds its own handshakes, or
// defaultHandshakeTimeout.
func handshakeTimeout(srv *http.Server) time.Duration {
	d := time.Duration(0)
	for _, t := range []time.Duration{srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout} {
		if t > 0 && (d == 0 || t < d) {
			d = t
		}
	}
	if d == 0 {
		return defaultHandshakeTimeout
	}
	return d
}
