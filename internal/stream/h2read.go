package stream

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"golang.org/x/net/http2"
)

// h2Reader is what the hangup watcher reads HTTP/2 connections with: a
// plaintext buffer and a Framer that parses one connection's complete
// frames at a time (a HEADERS frame with all its CONTINUATIONs), so that
// an idle connection keeps neither.
type h2Reader struct {
	buf []byte
	rd  bytes.Reader
	fr  *http2.Framer
}

func newH2Reader() *h2Reader {
	r := &h2Reader{buf: make([]byte, 16<<10)}
	r.renew()
	return r
}

// renew gives the reader a new Framer, after one failed to read a frame:
// a Framer follows the order of a connection's frames, and one that
// failed may be left in the middle of a header block.
func (r *h2Reader) renew() {
	r.fr = http2.NewFramer(io.Discard, &r.rd)
	r.fr.SetMaxReadFrameSize(h2MaxReadFrame)
}

// errClientPreface is a connection that does not open with HTTP/2's preface.
var errClientPreface = errors.New("http2: bad client preface")

// readable reads what the client sent, as much as the socket has up to
// h2ReadBudget, and handles its frames. It reports whether the connection
// may have more to read (the budget ran out first).
func (c *h2Conn) readable(r *h2Reader) (more bool) {
	read := 0
	for read < h2ReadBudget {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return false
		}
		n, err := c.tc.Read(r.buf) // a TLS 1.3 KeyUpdate makes it write: under mu
		c.flushLocked()
		if err != nil {
			releaseTLSReadBuffers(c.tc, tlsKeptRead) // all read: the handshake's buffers go
		}
		c.mu.Unlock()
		read += n
		if n > 0 && !c.consume(r, r.buf[:n]) {
			return false
		}
		if err != nil {
			var nb nonblocking
			if !errors.As(err, &nb) {
				c.close(errClientLeft)
			}
			return false
		}
	}
	return true
}

// consume parses and handles the complete frames of in, after those left
// from before; it keeps the part of a frame at the end. It reports false
// once the connection is closed.
func (c *h2Conn) consume(r *h2Reader, in []byte) bool {
	if len(c.in) > 0 {
		c.in = append(c.in, in...)
		in = c.in
	}
	if !c.preface {
		if len(in) < len(http2.ClientPreface) {
			c.keep(in)
			return true
		}
		if string(in[:len(http2.ClientPreface)]) != http2.ClientPreface {
			c.close(errClientPreface)
			return false
		}
		c.preface = true
		c.sendSettings()
		in = in[len(http2.ClientPreface):]
	}
	for {
		n, err := c.unit(in)
		if err != nil {
			return c.failed(err, nil)
		}
		if n == 0 {
			c.keep(in)
			return true
		}
		r.rd.Reset(in[:n])
		r.fr.ReadMetaHeaders, r.fr.MaxHeaderListSize = c.dec, uint32(c.maxHeaderBytes())
		f, err := r.fr.ReadFrame()
		open := c.handle(f, err, r.fr)
		if err != nil {
			r.renew()
		}
		if !open {
			return false
		}
		in = in[n:]
	}
}

// keep keeps the start of a frame, in, for the next read; an idle
// connection keeps no buffer.
func (c *h2Conn) keep(in []byte) {
	if len(in) == 0 {
		c.in = nil
		return
	}
	if len(c.in) > 0 && &in[0] == &c.in[0] {
		return
	}
	c.in = append(c.in[:0], in...)
}

// unit returns the length of the complete frame at the start of b: a
// frame, or a HEADERS frame followed by all its CONTINUATIONs; 0 when b
// does not hold it all yet. A frame larger than the connection reads, or
// a header block far beyond the header limit, is an error.
func (c *h2Conn) unit(b []byte) (int, error) {
	n, block := 0, false
	for {
		if len(b)-n < 9 {
			return 0, nil
		}
		length := int(b[n])<<16 | int(binary.BigEndian.Uint16(b[n+1:]))
		typ, flags := http2.FrameType(b[n+3]), http2.Flags(b[n+4])
		if length > h2MaxReadFrame {
			return 0, fmt.Errorf("http2: frame of %d bytes, more than %d: %w", length, h2MaxReadFrame,
				http2.ConnectionError(http2.ErrCodeFrameSize))
		}
		if n+9+length > 4*c.maxHeaderBytes()+2*h2MaxReadFrame {
			return 0, errors.New("http2: header block too large")
		}
		if len(b)-n < 9+length {
			return 0, nil
		}
		n += 9 + length
		switch {
		case !block && typ != http2.FrameHeaders,
			flags.Has(http2.FlagHeadersEndHeaders):
			return n, nil // CONTINUATION's flag is the same bit
		case typ == http2.FrameHeaders || typ == http2.FrameContinuation:
			block = true
		default:
			return n, nil // not a CONTINUATION: the Framer refuses it
		}
	}
}

// handle handles one frame, or the error of reading it. It reports false
// once the connection is closed.
func (c *h2Conn) handle(f http2.Frame, err error, fr *http2.Framer) bool {
	if err == nil && !c.settled {
		if sf, ok := f.(*http2.SettingsFrame); !ok || sf.IsAck() {
			err = errors.New("http2: the client's first frame is not SETTINGS")
		}
		c.settled = true
	}
	if err == nil {
		err = c.frame(f)
	}
	if err == nil {
		return true
	}
	return c.failed(err, fr.ErrorDetail())
}

// failed answers err, a frame's: a stream error resets its stream, any
// other ends the connection with GOAWAY (detail, the Framer's, in the
// log). It reports whether the connection goes on.
func (c *h2Conn) failed(err, detail error) bool {
	var se http2.StreamError
	if errors.As(err, &se) {
		c.resetStream(se.StreamID, se.Code)
		return true
	}
	code := http2.ErrCodeProtocol
	var ce http2.ConnectionError
	if errors.As(err, &ce) {
		code = http2.ErrCode(ce)
	}
	if detail != nil {
		err = fmt.Errorf("%w: %v", err, detail)
	}
	c.goAway(code, err)
	return false
}

// frame handles one frame read whole.
func (c *h2Conn) frame(f http2.Frame) error {
	switch f := f.(type) {
	case *http2.SettingsFrame:
		return c.settings(f)
	case *http2.PingFrame:
		if f.IsAck() {
			return nil
		}
		return c.control(func(fr *http2.Framer) error { return fr.WritePing(true, f.Data) })
	case *http2.WindowUpdateFrame:
		return c.windowUpdate(f.StreamID, f.Increment)
	case *http2.MetaHeadersFrame:
		return c.headers(f)
	case *http2.DataFrame:
		return c.data(f)
	case *http2.RSTStreamFrame:
		if f.StreamID > c.lastID {
			return http2.ConnectionError(http2.ErrCodeProtocol) // an idle stream
		}
		c.clientReset(f.StreamID)
		return nil
	case *http2.PriorityFrame:
		if f.StreamDep == f.StreamID {
			return http2.StreamError{StreamID: f.StreamID, Code: http2.ErrCodeProtocol}
		}
		return nil
	case *http2.GoAwayFrame:
		return nil // the client opens no more streams, and closes the connection
	case *http2.PushPromiseFrame:
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	return nil // PRIORITY_UPDATE, unknown types: ignored
}

// settings applies the client's SETTINGS and acknowledges them.
func (c *h2Conn) settings(f *http2.SettingsFrame) error {
	if f.IsAck() {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	err := f.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil {
			return err
		}
		switch s.ID {
		case http2.SettingInitialWindowSize:
			delta := int32(s.Val) - c.peerWindow
			c.peerWindow = int32(s.Val)
			for _, st := range c.streams {
				if int64(st.window)+int64(delta) > 1<<31-1 {
					return http2.ConnectionError(http2.ErrCodeFlowControl)
				}
				st.window += delta
			}
			if delta > 0 {
				c.windowOpenedLocked(nil)
			}
		case http2.SettingMaxFrameSize:
			c.peerFrame = s.Val
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.writeFrames(func(fr *http2.Framer) error { return fr.WriteSettingsAck() })
	return c.flushLocked()
}

// control writes a frame that answers one of the client's, unless the
// client does not read what it is sent.
func (c *h2Conn) control(write func(*http2.Framer) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writeFrames(write)
	return c.flushLocked()
}

// windowUpdate grows the connection's window (id 0) or a stream's.
func (c *h2Conn) windowUpdate(id, inc uint32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if id == 0 {
		if int64(c.window)+int64(inc) > 1<<31-1 {
			return http2.ConnectionError(http2.ErrCodeFlowControl)
		}
		c.window += int32(inc)
		c.windowOpenedLocked(nil)
		return nil
	}
	st := c.streams[id]
	if st == nil {
		if id > c.lastID {
			return http2.ConnectionError(http2.ErrCodeProtocol) // an idle stream
		}
		return nil // a stream closed since
	}
	if int64(st.window)+int64(inc) > 1<<31-1 {
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeFlowControl}
	}
	st.window += int32(inc)
	c.windowOpenedLocked(st)
	return nil
}

// windowOpenedLocked wakes st, or every stream (nil), that waits for a
// window.
func (c *h2Conn) windowOpenedLocked(st *h2Stream) {
	if st != nil {
		st.wake()
		return
	}
	for _, st := range c.streams {
		st.wake()
	}
}

// wake has st's writer look at it again: its lean stream's writer, or its
// handler waiting to write.
func (st *h2Stream) wake() {
	if st.lean != nil {
		if st.waiting {
			st.lean.Wake()
		}
		return
	}
	signal(st.more)
}

// clientReset ends a stream the client reset.
func (c *h2Conn) clientReset(id uint32) { c.reset(id, false, 0) }

// resetStream sends RST_STREAM with code for stream id and ends it.
func (c *h2Conn) resetStream(id uint32, code http2.ErrCode) { c.reset(id, true, code) }

// reset ends stream id, reset by the client or, when send is set, by the
// hub with code (unless it was reset already). Its handler, if it runs,
// forgets it once it returns.
func (c *h2Conn) reset(id uint32, send bool, code http2.ErrCode) {
	c.mu.Lock()
	st := c.streams[id]
	if send && (st == nil || !st.reset) {
		c.writeFrames(func(fr *http2.Framer) error { return fr.WriteRSTStream(id, code) })
		_ = c.flushLocked()
	}
	if st != nil {
		st.reset = true
		if st.lean == nil && !st.handling {
			c.removeLocked(st)
		}
	}
	c.mu.Unlock()
	if st != nil {
		c.abortStream(st)
	}
}

// removeLocked forgets st.
func (c *h2Conn) removeLocked(st *h2Stream) {
	if c.streams[st.id] != st {
		return
	}
	delete(c.streams, st.id)
	c.armIdleLocked()
}
