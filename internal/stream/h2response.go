package stream

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2Response is the http.ResponseWriter of a request on an h2Conn whose
// handler runs on a goroutine of its own. It keeps up to 4 KiB of body
// before sending it (Flush sends at once); a write waits for the client's
// flow-control windows, as long as the write deadline (or the engine's
// write timeout) allows.
type h2Response struct {
	c        *h2Conn
	st       *h2Stream
	req      *http.Request
	header   http.Header
	status   int
	sent     bool // the headers are out
	buf      []byte
	deadline time.Time
	taken    bool // the engine took the stream over (takeOverH2)
	panicked bool
}

// h2BufferSize is how much body a response keeps before sending it.
const h2BufferSize = 4 << 10

// Header returns the response's headers.
func (w *h2Response) Header() http.Header { return w.header }

// WriteHeader sets the status; informational ones (1xx) are not sent.
func (w *h2Response) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic("invalid WriteHeader code " + strconv.Itoa(code))
	}
	if w.status != 0 || code < 200 {
		return
	}
	w.status = code
}

// bodyAllowed reports whether the response may have a body.
func (w *h2Response) bodyAllowed() bool {
	return w.req.Method != http.MethodHead && w.status != http.StatusNoContent && w.status != http.StatusNotModified
}

// Write queues p, sending what is queued once it passes h2BufferSize.
func (w *h2Response) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.bodyAllowed() {
		if w.req.Method == http.MethodHead {
			return len(p), nil
		}
		return 0, http.ErrBodyNotAllowed
	}
	if len(w.buf) == 0 && len(p) >= h2BufferSize {
		w.buf = p // sent before Write returns
		err := w.send(false)
		w.buf = nil
		if err != nil {
			return 0, err
		}
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	if len(w.buf) >= h2BufferSize {
		if err := w.send(false); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// WriteString writes s.
func (w *h2Response) WriteString(s string) (int, error) { return w.Write([]byte(s)) }

// Flush sends the headers and what is queued.
func (w *h2Response) Flush() { _ = w.FlushError() }

// FlushError sends the headers and what is queued (http.ResponseController).
func (w *h2Response) FlushError() error {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.send(false)
}

// SetWriteDeadline bounds the writes' waits for the client (http.ResponseController).
func (w *h2Response) SetWriteDeadline(t time.Time) error {
	w.deadline = t
	return nil
}

// SetReadDeadline is accepted and ignored: a body's read waits for its
// client or its end (http.ResponseController).
func (w *h2Response) SetReadDeadline(time.Time) error { return nil }

// EnableFullDuplex is accepted: HTTP/2 is (http.ResponseController).
func (w *h2Response) EnableFullDuplex() error { return nil }

// finish ends the response once the handler returns.
func (w *h2Response) finish() error {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.send(true)
}

// errStreamGone is a write to a stream the client reset or whose
// connection ended.
var errStreamGone = errors.New("http2: stream closed")

// send sends the headers if they are not out yet, then the queued body,
// ending the stream when end is set.
func (w *h2Response) send(end bool) error {
	c, st := w.c, w.st
	c.mu.Lock()
	if c.closed || st.reset {
		c.mu.Unlock()
		return errStreamGone
	}
	if !w.sent {
		w.sent = true
		h := w.header
		if end && w.bodyAllowed() && h.Get("Content-Length") == "" && h.Get("Transfer-Encoding") == "" {
			h.Set("Content-Length", strconv.Itoa(len(w.buf)))
		}
		if _, ok := h["Content-Type"]; !ok && len(w.buf) > 0 {
			h.Set("Content-Type", http.DetectContentType(w.buf))
		}
		alone := end && len(w.buf) == 0
		c.writeHeaderBlock(st.id, c.encodeHeaders(w.status, h), alone)
		st.ended = alone
	}
	c.mu.Unlock()
	buf := w.buf // sending slices w.buf forward: reuse the array from its start
	err := w.sendBody(end)
	w.buf = buf[:0]
	return err
}

// sendBody sends the queued body, waiting for the windows as needed.
func (w *h2Response) sendBody(end bool) error {
	c, st := w.c, w.st
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		c.mu.Lock()
		if c.closed || st.reset {
			c.mu.Unlock()
			return errStreamGone
		}
		done := st.ended || c.sendDataLocked(st, &w.buf, end)
		_ = c.flushLocked()
		c.mu.Unlock()
		if done {
			return nil
		}
		if timer == nil {
			timer = time.NewTimer(w.waitLimit())
		}
		select {
		case <-st.more:
		case <-st.ctx.Done():
			return errStreamGone
		case <-timer.C:
			return errWindowClosed
		}
	}
}

// errWindowClosed is a write that waited for the client's window longer
// than its deadline.
var errWindowClosed = errors.New("http2: the client's flow-control window stayed closed")

// waitLimit is how long a write waits for the windows.
func (w *h2Response) waitLimit() time.Duration {
	if !w.deadline.IsZero() {
		return max(time.Until(w.deadline), 0)
	}
	return w.c.eng.cfg.WriteTimeout
}

// encodeHeaders returns the HPACK block of a response's status and
// headers. The encoders keep no dynamic table, so the connections share
// them and keep no HPACK state for what they send.
func (c *h2Conn) encodeHeaders(status int, h http.Header) []byte {
	e := headerEncoders.Get().(*headerEncoder)
	field := func(name, value string) {
		_ = e.enc.WriteField(hpack.HeaderField{Name: name, Value: value})
	}
	field(":status", strconv.Itoa(status))
	for k, vs := range h {
		name := strings.ToLower(k)
		if connectionSpecific(name, "") || !httpguts.ValidHeaderFieldName(name) {
			continue
		}
		for _, v := range vs {
			if httpguts.ValidHeaderFieldValue(v) {
				field(name, v)
			}
		}
	}
	if _, ok := h["Date"]; !ok {
		field("date", time.Now().UTC().Format(http.TimeFormat))
	}
	block := append([]byte(nil), e.block...)
	e.block = e.block[:0]
	headerEncoders.Put(e)
	return block
}

// headerEncoder is an HPACK encoder without a dynamic table: the table
// size update to 0 that its first block carries is written at its
// creation and dropped, as a client's decoder needs none to decode blocks
// that never refer to the table.
type headerEncoder struct {
	enc   *hpack.Encoder
	block headerBlock
}

var headerEncoders = sync.Pool{New: func() any {
	e := &headerEncoder{}
	e.enc = hpack.NewEncoder(&e.block)
	e.enc.SetMaxDynamicTableSizeLimit(0)
	_ = e.enc.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
	e.block = e.block[:0]
	return e
}}

// headerBlock collects an encoder's output.
type headerBlock []byte

func (b *headerBlock) Write(p []byte) (int, error) {
	*b = append(*b, p...)
	return len(p), nil
}

// writeHeaderBlock writes block as HEADERS and as many CONTINUATIONs as
// the client's frame size needs, under mu.
func (c *h2Conn) writeHeaderBlock(id uint32, block []byte, endStream bool) {
	size := int(c.peerFrame)
	first := block[:min(len(block), size)]
	rest := block[len(first):]
	c.writeFrames(func(fr *http2.Framer) error {
		err := fr.WriteHeaders(http2.HeadersFrameParam{
			StreamID: id, BlockFragment: first, EndStream: endStream, EndHeaders: len(rest) == 0,
		})
		for err == nil && len(rest) > 0 {
			frag := rest[:min(len(rest), size)]
			rest = rest[len(frag):]
			err = fr.WriteContinuation(id, len(rest) == 0, frag)
		}
		return err
	})
}
