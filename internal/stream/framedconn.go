package stream

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
)

// framedReader gives the bytes of src as its framing scans them: the same
// bytes, but for the marker over the name of a head's second framing
// header, and none after that request. A header name that may need the
// marker is held back, up to its colon, in buf: at most the 17 bytes of
// "Transfer-Encoding"; nothing else is kept.
type framedReader struct {
	src  io.Reader
	scan framing
	// buf[off:due] are scanned bytes to give; buf[due:end] are held back.
	buf           [64]byte
	off, due, end int
	stopped       bool // give nothing after buf[:due]
}

// Read reads into b what the framing allows.
func (r *framedReader) Read(b []byte) (int, error) {
	for {
		if r.due > r.off {
			n := copy(b, r.buf[r.off:r.due])
			r.off += n
			return n, nil
		}
		if r.stopped {
			return 0, io.EOF
		}
		if len(b) == 0 {
			return 0, nil
		}
		// Read after the bytes held back: into b when it has room for
		// more, else into buf.
		held := r.end - r.off
		p, inBuf := b, len(b) <= held
		if inBuf {
			copy(r.buf[:], r.buf[r.off:r.end])
			r.off, r.due, r.end = 0, 0, held
			p = r.buf[:]
		} else {
			copy(p, r.buf[r.off:r.end])
		}
		n, err := r.src.Read(p[held:])
		if n == 0 {
			if err == io.EOF && held > 0 {
				r.due = r.end // the name never ends: give it as it is
				continue
			}
			return 0, err
		}
		due, stop := r.scan.scan(p[:held+n], held)
		r.stopped = stop
		if inBuf {
			r.due, r.end = due, held+n
			if stop {
				r.end = due
			}
			continue
		}
		r.off, r.due, r.end = 0, 0, 0
		if !stop {
			r.end = copy(r.buf[:], p[due:held+n])
		}
		if due > 0 || err != nil {
			return due, err
		}
	}
}

// framedConn is a plain TCP connection whose reads follow the framing of
// its requests (see framing.go). It is a *net.TCPConn for all else; a
// stream taken over from it uses that directly.
type framedConn struct {
	*net.TCPConn
	r framedReader
}

func newFramedConn(c *net.TCPConn) *framedConn {
	fc := &framedConn{TCPConn: c}
	fc.r.src = c
	return fc
}

// Read reads the connection as its framing allows.
func (c *framedConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// WriteTo copies through Read, not TCPConn's own WriteTo.
func (c *framedConn) WriteTo(w io.Writer) (int64, error) {
	return io.Copy(w, struct{ io.Reader }{c})
}

// framedTLSConn is an HTTP/1.x connection over TLS whose reads follow the
// framing of its requests, as a framedConn's do. It is its *tls.Conn for
// all else: net/http takes Request.TLS from its ConnectionState, and a
// stream taken over from it is sealed by that tls.Conn (see sealConn).
type framedTLSConn struct {
	*tls.Conn
	r framedReader
}

func newFramedTLSConn(c *tls.Conn) *framedTLSConn {
	fc := &framedTLSConn{Conn: c}
	fc.r.src = c
	return fc
}

// Read reads the connection as its framing allows.
func (c *framedTLSConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// framedListener gives its TCP connections as framedConns.
type framedListener struct{ net.Listener }

// Accept returns the next connection, a framedConn when it is TCP.
func (l framedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		return newFramedConn(tc), err
	}
	return c, err
}

// PlainListener wraps ln for a server that serves plain HTTP/1.x
// (http.Server.Serve): its connections follow the framing of the requests
// they carry, and mark one whose head has both Content-Length and
// Transfer-Encoding (see AmbiguousFraming), after which they give no more
// bytes. Given to TakeOver, the server's streams are taken over from them
// as from any TCP connection.
func (e *Engine) PlainListener(ln net.Listener) net.Listener { return framedListener{ln} }

// AmbiguousFraming reports whether r's head had both Content-Length and
// Transfer-Encoding (RFC 9112 §6.3), as a connection from PlainListener or
// TLSListener marks it, or carries the marker itself: either way it must
// be refused, with the connection closed, before anything reads its body.
func AmbiguousFraming(r *http.Request) bool {
	return len(r.Header[markCL]) > 0 || len(r.Header[markTE]) > 0
}

// FramingChecked reports whether r came over an HTTP/1.x connection from
// PlainListener or TLSListener of a server given to TakeOver, whose
// requests' framing is checked: over others (another listener, such as
// ServeTLS's own) a request with both Content-Length and Transfer-Encoding
// cannot be told from one that is only chunked.
func FramingChecked(r *http.Request) bool {
	switch r.Context().Value(connKey{}).(type) {
	case *framedConn, *framedTLSConn:
		return true
	}
	return false
}
