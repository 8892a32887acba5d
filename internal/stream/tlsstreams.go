package stream

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"syscall"
)

// Streams over TLS taken over: an HTTP/1.1 stream over TLS is taken over as
// a plain one is (see Engine.TakeOver), its updates encrypted by the
// connection's tls.Conn into the stream's own buffer (sealConn) and written
// from there, raw, by the pool writers, which must never wait. That needs
// the connection under tls.Conn to be a sealConn: serve TLS on
// Engine.TLSListener's listener (tlslistener.go). HTTP/2 connections are
// sealed the same way (h2conn.go).

// sealConn is a TCP connection whose writes, once sealed points at a
// buffer, are appended to it instead of sent: the tls.Conn above it then
// encrypts into that buffer without ever waiting on the client.
type sealConn struct {
	*net.TCPConn
	sealed *[]byte // set once the stream is taken over; then only its writer writes
	// nonblock makes reads return what the socket has without waiting,
	// or the temporary error nonblocking, through raw: set for the
	// engine's HTTP/2 connections, read by the hangup watcher.
	nonblock bool
	raw      syscall.RawConn
}

// Read reads from the socket; see nonblock.
func (c *sealConn) Read(b []byte) (int, error) {
	if c.nonblock {
		return c.readNow(b)
	}
	return c.TCPConn.Read(b)
}

// Write sends b, or appends it to the sealed buffer.
func (c *sealConn) Write(b []byte) (int, error) {
	if c.sealed != nil {
		*c.sealed = append(*c.sealed, b...)
		return len(b), nil
	}
	return c.TCPConn.Write(b)
}

// ReadFrom copies through Write, not TCPConn's own ReadFrom.
func (c *sealConn) ReadFrom(r io.Reader) (int64, error) {
	return io.Copy(struct{ io.Writer }{c}, r)
}

// connKey is the request context's key for its connection (see
// rememberConn).
type connKey struct{}

// rememberConn has srv put each HTTP/1.x connection of the engine's
// listeners in its requests' context: for canTakeOver to find what lies
// under a tls.Conn, and for FramingChecked.
func rememberConn(srv *http.Server) {
	prev := srv.ConnContext
	srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		if prev != nil {
			ctx = prev(ctx, c)
		}
		switch c.(type) {
		case *framedConn, *framedTLSConn:
			return context.WithValue(ctx, connKey{}, c)
		}
		return ctx
	}
}

// sealedUnder returns the sealConn under r's TLS connection, or nil when
// there is none (a listener not from Engine.TLSListener, or not over TCP).
func sealedUnder(r *http.Request) *sealConn {
	fc, _ := r.Context().Value(connKey{}).(*framedTLSConn)
	if fc == nil {
		return nil
	}
	sc, _ := fc.NetConn().(*sealConn)
	return sc
}

// sealing is what a stream over TLS encrypts with: the connection's
// tls.Conn, which writes its records into sealed (see sealConn), and plain,
// where a batch's pieces are gathered first.
type sealing struct {
	conn          *tls.Conn
	plain, sealed []byte
}

// seal encrypts plain and returns the TLS records, in the stream's buffer
// (valid until the next seal).
func (t *sealing) seal(plain []byte) ([]byte, error) {
	t.sealed = t.sealed[:0]
	if _, err := t.conn.Write(plain); err != nil {
		return nil, err
	}
	return t.sealed, nil
}

// encrypt replaces out's plaintext with its TLS records: one write of the
// connection's tls.Conn, so one record per 16 KiB rather than per piece.
func (s *leanStream) encrypt() error {
	t := s.tls
	t.plain = t.plain[:0]
	for _, b := range s.out {
		t.plain = append(t.plain, b...)
	}
	sealed, err := t.seal(t.plain)
	if err != nil {
		return err
	}
	clear(s.out)
	s.out = append(s.out[:0], sealed)
	*s.vec = s.out
	return nil
}

// trim drops the buffers after a large batch (a replay), and after a
// write of no update (a heartbeat, the response's head: the stream may
// well be idle), so that an idle stream keeps none.
func (t *sealing) trim(idle bool) {
	const keep = 16 << 10
	if idle || cap(t.plain) > keep {
		t.plain = nil
	}
	if idle || cap(t.sealed) > keep {
		t.sealed = nil
	}
}
