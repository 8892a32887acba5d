package stream

import (
	"errors"
	"io"
	"sync"
	"time"

	"golang.org/x/net/http2"
)

// Writing to an HTTP/2 connection: every frame is written under the
// connection's mu by a Framer that writes through the connection's
// tls.Conn, which seals it into out (see sealConn); flushLocked then sends
// out with a write that never waits. What the socket does not take goes to
// pending, which a goroutine of the connection's own (the flusher) writes,
// waiting up to the write timeout, while later frames queue behind it.

// frameWriter is a Framer that writes to whichever connection borrows it:
// Framers keep a write buffer as large as their largest frame, so the
// connections share a few rather than keep one each.
type frameWriter struct {
	fr *http2.Framer
	to io.Writer
}

func (w *frameWriter) Write(b []byte) (int, error) { return w.to.Write(b) }

var frameWriters = sync.Pool{New: func() any {
	w := &frameWriter{}
	w.fr = http2.NewFramer(w, nil)
	return w
}}

// writeFrames has write write frames to the connection, under mu. Their
// errors are those of sealing, which only a closed connection has: they
// are dropped, and the connection's end is seen elsewhere.
func (c *h2Conn) writeFrames(write func(*http2.Framer) error) {
	if c.closed {
		return
	}
	w := frameWriters.Get().(*frameWriter)
	w.to = c.tc
	_ = write(w.fr)
	w.to = nil
	frameWriters.Put(w)
}

// errNotReading ends a connection whose client does not read what it is
// sent.
var errNotReading = errors.New("http2: the client does not read its connection")

// flushLocked sends out without waiting, under mu. It returns an error
// (and the connection is closing) when the client has stopped reading.
func (c *h2Conn) flushLocked() error {
	if len(c.out) == 0 || c.closed {
		return nil
	}
	if c.flushing {
		c.pending = append(c.pending, c.out...)
		c.trimOut()
		if len(c.pending) > h2HardPending {
			go c.close(errNotReading)
			return errNotReading
		}
		return nil
	}
	n, err := c.sendNow(c.out)
	if err != nil {
		go c.close(err)
		return err
	}
	if n < len(c.out) {
		c.pending = append(c.pending[:0], c.out[n:]...)
		c.flushing = true
		c.eng.taken.wg.Add(1)
		go c.flush()
	}
	c.trimOut()
	return nil
}

// trimOut empties out, dropping a large buffer.
func (c *h2Conn) trimOut() {
	if cap(c.out) > 16<<10 {
		c.out = nil
	} else {
		c.out = c.out[:0]
	}
}

// flush writes pending until it is empty, waiting for the client up to
// the write timeout each time; the connection ends if it waits longer.
func (c *h2Conn) flush() {
	defer c.eng.taken.wg.Done()
	var b []byte
	for {
		c.mu.Lock()
		b, c.pending = c.pending, b[:0]
		if len(b) == 0 || c.closed {
			c.flushing = false
			c.pending = nil
			if c.goingAway && len(c.streams) == 0 && !c.closed {
				go c.close(errGoneAway)
			}
			c.windowOpenedLocked(nil) // DATA waited for the socket
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		_ = c.sc.SetWriteDeadline(time.Now().Add(c.eng.cfg.WriteTimeout))
		if _, err := c.sc.TCPConn.Write(b); err != nil {
			c.close(errNotReading)
			return
		}
		if cap(b) > 64<<10 {
			b = nil
		}
	}
}

// congestedLocked reports whether DATA should wait for the socket.
func (c *h2Conn) congestedLocked() bool { return len(c.pending) > h2SoftPending }

// sendDataLocked writes as much of *p on st as the windows let out, as
// DATA frames, with END_STREAM on the last when end is set and all of *p
// goes; *p keeps what is left. It reports whether everything, the end
// included, was written.
func (c *h2Conn) sendDataLocked(st *h2Stream, p *[]byte, end bool) bool {
	if c.closed || st.reset || st.ended {
		return false
	}
	for {
		n := min(len(*p), int(c.peerFrame), int(max(0, min(c.window, st.window))))
		if c.congestedLocked() {
			n = 0
		}
		last := end && n == len(*p)
		if n == 0 && !last {
			return len(*p) == 0 && !end
		}
		data := (*p)[:n]
		c.writeFrames(func(fr *http2.Framer) error { return fr.WriteData(st.id, last, data) })
		c.window -= int32(n)
		st.window -= int32(n)
		*p = (*p)[n:]
		if last {
			st.ended = true
			return true
		}
		if len(*p) == 0 {
			return !end
		}
	}
}
