package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
)

// headers opens a stream for a request's HEADERS and runs its handler on a
// goroutine of its own; trailers end a request's body.
func (c *h2Conn) headers(f *http2.MetaHeadersFrame) error {
	id := f.StreamID
	if id%2 == 0 {
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	if id <= c.lastID {
		return c.trailers(f)
	}
	c.lastID = id
	if f.HasPriority() && f.Priority.StreamDep == id {
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
	}
	c.mu.Lock()
	if c.goingAway || c.closed {
		c.mu.Unlock()
		return nil // after GOAWAY: ignored, the client retries elsewhere
	}
	if len(c.streams) >= h2MaxStreams {
		c.mu.Unlock()
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeRefusedStream}
	}
	c.mu.Unlock()
	if f.Truncated {
		c.answer(id, http.StatusRequestHeaderFieldsTooLarge)
		return nil
	}
	req, err := c.request(f)
	if err != nil {
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol, Cause: err}
	}
	st := &h2Stream{c: c, id: id, recv: h2DefaultWindow, more: make(chan struct{}, 1), handling: true}
	ctx, cancel := context.WithCancel(c.ctx)
	st.ctx, st.cancel = ctx, cancel
	req = req.WithContext(ctx)
	if !f.StreamEnded() {
		st.body = &h2Body{c: c, st: st, wait: make(chan struct{}, 1), left: req.ContentLength}
		req.Body = st.body
	}
	c.mu.Lock()
	st.window = c.peerWindow
	c.streams[id] = st
	c.idle.Stop()
	c.mu.Unlock()
	c.eng.taken.wg.Add(1)
	go c.serve(st, req)
	return nil
}

// answer answers stream id with a bodiless status, before any handler.
func (c *h2Conn) answer(id uint32, status int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	block := c.encodeHeaders(status, http.Header{"Content-Length": {"0"}})
	c.writeHeaderBlock(id, block, true)
	_ = c.flushLocked()
}

// trailers handles HEADERS on a stream already open: trailers, which end
// its request body (they are not passed on).
func (c *h2Conn) trailers(f *http2.MetaHeadersFrame) error {
	c.mu.Lock()
	st := c.streams[f.StreamID]
	c.mu.Unlock()
	switch {
	case st == nil:
		return http2.ConnectionError(http2.ErrCodeProtocol) // a stream below the last one opened
	case st.reset || st.body == nil || st.body.done():
		return http2.ConnectionError(http2.ErrCodeStreamClosed) // half-closed or reset
	case !f.StreamEnded():
		return http2.ConnectionError(http2.ErrCodeProtocol) // trailers must end the stream
	}
	st.body.end()
	return nil
}

// request builds the http.Request of a HEADERS frame (RFC 9113, 8.3.1);
// a malformed request, one with a header HTTP/2 forbids included, is an
// error (the stream is reset with PROTOCOL_ERROR).
func (c *h2Conn) request(f *http2.MetaHeadersFrame) (*http.Request, error) {
	method, path := f.PseudoValue("method"), f.PseudoValue("path")
	scheme, authority := f.PseudoValue("scheme"), f.PseudoValue("authority")
	if method == "" || method == "CONNECT" || path == "" || scheme == "" || f.PseudoValue("status") != "" {
		return nil, errors.New("missing or unsupported pseudo-header")
	}
	h := make(http.Header, len(f.Fields))
	for _, hf := range f.RegularFields() {
		if !httpguts.ValidHeaderFieldName(hf.Name) || connectionSpecific(hf.Name, hf.Value) {
			return nil, fmt.Errorf("request header %q is not valid in HTTP/2", hf.Name)
		}
		h.Add(hf.Name, hf.Value)
	}
	if cookies := h.Values("Cookie"); len(cookies) > 1 {
		h.Set("Cookie", strings.Join(cookies, "; "))
	}
	if authority == "" {
		authority = h.Get("Host")
	}
	u, err := url.ParseRequestURI(path)
	if err != nil {
		return nil, fmt.Errorf("bad :path: %w", err)
	}
	req := &http.Request{
		Method: method, URL: u, Proto: "HTTP/2.0", ProtoMajor: 2, Header: h, Host: authority,
		RequestURI: path, RemoteAddr: c.remote, TLS: &c.state, Body: http.NoBody, ContentLength: 0,
	}
	if !f.StreamEnded() {
		req.ContentLength = -1
		if cl := h.Get("Content-Length"); cl != "" {
			n, err := strconv.ParseInt(cl, 10, 64)
			if err != nil || n < 0 {
				return nil, errors.New("bad content-length")
			}
			req.ContentLength = n
		}
	}
	return req, nil
}

// connectionSpecific reports whether a header is one HTTP/2 forbids
// (RFC 9113, 8.2.2).
func connectionSpecific(name, value string) bool {
	switch name {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
		return true
	case "te":
		return value != "trailers"
	}
	return false
}

// serve runs the handler of st's request, then ends the stream unless the
// engine took it over.
func (c *h2Conn) serve(st *h2Stream, req *http.Request) {
	defer c.eng.taken.wg.Done()
	w := &h2Response{c: c, st: st, req: req, header: http.Header{}}
	defer c.served(st, w)
	defer func() {
		if p := recover(); p != nil {
			w.panicked = true
			if p != http.ErrAbortHandler {
				c.eng.cfg.Logger.Error("http2: panic serving", "remote", c.remote, "panic", fmt.Sprint(p))
			}
		}
	}()
	h := c.srv.Handler
	if h == nil {
		h = http.DefaultServeMux
	}
	h.ServeHTTP(w, req)
}

// served ends st once its handler returned: the response's end, or a
// reset after a panic; the stream is forgotten unless taken over.
func (c *h2Conn) served(st *h2Stream, w *h2Response) {
	if w.taken {
		return
	}
	if !w.panicked {
		_ = w.finish()
	}
	st.cancel() // not taken over: the handler's stream keeps it
	c.mu.Lock()
	st.handling = false
	if !st.ended && !st.reset {
		code := http2.ErrCodeInternal
		if !w.panicked {
			code = http2.ErrCodeCancel
		}
		c.writeFrames(func(fr *http2.Framer) error { return fr.WriteRSTStream(st.id, code) })
		st.reset = true
	} else if st.body != nil && !st.body.done() && !st.reset {
		// The request's body is not all read: ask for no more (RFC 9113, 8.1).
		c.writeFrames(func(fr *http2.Framer) error { return fr.WriteRSTStream(st.id, http2.ErrCodeNo) })
		c.drainLocked(st.id, st.body.remaining())
	}
	if st.body != nil {
		c.refundLocked(nil, st.body.discard())
	}
	c.removeLocked(st)
	_ = c.flushLocked()
	c.mu.Unlock()
}

// data hands a DATA frame's payload to its request's body.
func (c *h2Conn) data(f *http2.DataFrame) error {
	n := int32(f.Header().Length)
	c.mu.Lock()
	if n > c.recvWindow {
		c.mu.Unlock()
		return http2.ConnectionError(http2.ErrCodeFlowControl)
	}
	c.recvWindow -= n
	st := c.streams[f.StreamID]
	if st == nil || st.body == nil || st.reset {
		defer c.mu.Unlock()
		if st == nil && f.StreamID > c.lastID {
			return http2.ConnectionError(http2.ErrCodeProtocol)
		}
		code := http2.ErrCodeStreamClosed
		if st == nil && c.drainedMalformed(f) {
			code = http2.ErrCodeProtocol
		}
		c.writeFrames(func(fr *http2.Framer) error { return fr.WriteRSTStream(f.StreamID, code) })
		c.refundLocked(nil, int(n)) // not counted against a stream: given back
		return c.flushLocked()
	}
	if n > st.recv {
		c.refundLocked(nil, int(n))
		c.mu.Unlock()
		return http2.StreamError{StreamID: f.StreamID, Code: http2.ErrCodeFlowControl}
	}
	st.recv -= n
	if pad := int(n) - len(f.Data()); pad > 0 {
		c.refundLocked(st, pad)
	}
	c.mu.Unlock()
	if err := st.body.write(f.Data(), f.StreamEnded()); err != nil {
		return http2.StreamError{StreamID: f.StreamID, Code: http2.ErrCodeProtocol, Cause: err}
	}
	return nil
}

// refundLocked gives n bytes of receive window back to the client: to the
// connection, and to st unless it is nil. A window is given back once half
// of it is owed, not at every read: fewer, larger WINDOW_UPDATEs.
func (c *h2Conn) refundLocked(st *h2Stream, n int) {
	if n <= 0 || c.closed {
		return
	}
	const threshold = h2DefaultWindow / 2
	c.owed += int32(n)
	if st != nil && !st.reset && !st.body.done() {
		st.owed += int32(n)
	}
	c.writeFrames(func(fr *http2.Framer) error {
		if st != nil && st.owed >= threshold {
			st.recv += st.owed
			if err := fr.WriteWindowUpdate(st.id, uint32(st.owed)); err != nil {
				return err
			}
			st.owed = 0
		}
		if c.owed < threshold {
			return nil
		}
		c.recvWindow += c.owed
		err := fr.WriteWindowUpdate(0, uint32(c.owed))
		c.owed = 0
		return err
	})
}

// maxDraining bounds the answered streams whose body's length a
// connection still checks; past it the oldest checks are dropped.
const maxDraining = 64

// drainLocked remembers that stream id was answered with left bytes of
// its declared body still to come; without a Content-Length (-1) there
// is nothing to check.
func (c *h2Conn) drainLocked(id uint32, left int64) {
	if left < 0 {
		return
	}
	if c.draining == nil {
		c.draining = map[uint32]int64{}
	}
	if len(c.draining) >= maxDraining {
		oldest := id
		for d := range c.draining {
			oldest = min(oldest, d)
		}
		delete(c.draining, oldest)
	}
	c.draining[id] = left
}

// drainedMalformed counts f against the body its answered stream still
// announces, and reports whether it makes the request malformed: longer
// than its Content-Length, or ended short of it (RFC 9113, 8.1.1).
func (c *h2Conn) drainedMalformed(f *http2.DataFrame) bool {
	left, ok := c.draining[f.StreamID]
	if !ok {
		return false
	}
	left -= int64(len(f.Data()))
	bad := left < 0 || (f.StreamEnded() && left > 0)
	if bad || f.StreamEnded() {
		delete(c.draining, f.StreamID)
	} else {
		c.draining[f.StreamID] = left
	}
	return bad
}

// h2Body is a request's body: the DATA the reader hands over, read by the
// handler. It holds no more than the stream's window.
type h2Body struct {
	c    *h2Conn
	st   *h2Stream
	wait chan struct{} // a token when data, the end or an error comes

	mu   sync.Mutex
	buf  []byte
	eof  bool
	err  error
	left int64 // the declared Content-Length still to come; -1 when none
}

// errBodyLength is a body longer or shorter than its Content-Length.
var errBodyLength = errors.New("http2: request body does not match its content-length")

// write appends p, and the end when end is set.
func (b *h2Body) write(p []byte, end bool) error {
	b.mu.Lock()
	defer signal(b.wait)
	defer b.mu.Unlock()
	if b.eof || b.err != nil {
		return nil
	}
	b.buf = append(b.buf, p...)
	if b.left >= 0 {
		b.left -= int64(len(p))
		if b.left < 0 || (end && b.left > 0) {
			b.err = errBodyLength
			return errBodyLength
		}
	}
	b.eof = b.eof || end
	return nil
}

// end ends the body (trailers came).
func (b *h2Body) end() {
	b.mu.Lock()
	b.eof = true
	b.mu.Unlock()
	signal(b.wait)
}

// fail ends the body with err.
func (b *h2Body) fail(err error) {
	b.mu.Lock()
	if b.err == nil && !b.eof {
		b.err = err
	}
	b.mu.Unlock()
	signal(b.wait)
}

// remaining returns the bytes of the declared Content-Length not yet
// received; -1 without one.
func (b *h2Body) remaining() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.left
}

// done reports whether the client sent the whole body.
func (b *h2Body) done() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.eof
}

// discard drops what the handler left unread and returns its length.
func (b *h2Body) discard() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(b.buf)
	b.buf = nil
	return n
}

// Read reads the body, waiting for the client; what it reads is given
// back to the client's windows.
func (b *h2Body) Read(p []byte) (int, error) {
	for {
		b.mu.Lock()
		if len(b.buf) > 0 {
			n := copy(p, b.buf)
			b.buf = b.buf[n:]
			if len(b.buf) == 0 {
				b.buf = nil
			}
			b.mu.Unlock()
			b.c.mu.Lock()
			b.c.refundLocked(b.st, n)
			_ = b.c.flushLocked()
			b.c.mu.Unlock()
			return n, nil
		}
		eof, err := b.eof, b.err
		b.mu.Unlock()
		switch {
		case err != nil:
			return 0, err
		case eof:
			return 0, io.EOF
		}
		select {
		case <-b.wait:
		case <-b.st.ctx.Done():
			return 0, errClientLeft
		}
	}
}

// Close lets the handler say it reads no more.
func (b *h2Body) Close() error { return nil }
