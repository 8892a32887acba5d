package stream_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2Client speaks HTTP/2 frame by frame, for the tests that need to hold
// windows closed, reset streams or read the server's frames as they come.
type h2Client struct {
	t    *testing.T
	conn *tls.Conn
	fr   *http2.Framer
	dec  *hpack.Decoder
	hbuf bytes.Buffer
	enc  *hpack.Encoder
	// data is the DATA payload each stream received; ended, the streams
	// that ended (END_STREAM); resets, the codes of those reset.
	data   map[uint32][]byte
	ended  map[uint32]bool
	resets map[uint32]http2.ErrCode
	status map[uint32]string
	goAway *goAway // the GOAWAY received, if any
	pings  [][8]byte
}

// dialH2 connects to addr with ALPN h2 and sends the preface and settings.
func dialH2(t *testing.T, addr string, roots *x509.CertPool, settings ...http2.Setting) *h2Client {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if p := conn.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Fatalf("negotiated %q, want h2", p)
	}
	c := &h2Client{t: t, conn: conn, data: map[uint32][]byte{}, ended: map[uint32]bool{},
		resets: map[uint32]http2.ErrCode{}, status: map[uint32]string{}}
	c.fr = http2.NewFramer(conn, conn)
	c.dec = hpack.NewDecoder(4096, nil)
	c.fr.ReadMetaHeaders = c.dec
	c.enc = hpack.NewEncoder(&c.hbuf)
	if _, err := conn.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	if err := c.fr.WriteSettings(settings...); err != nil {
		t.Fatal(err)
	}
	return c
}

// get opens stream id with a GET of path.
func (c *h2Client) get(id uint32, path string, extra ...string) {
	c.t.Helper()
	c.request(id, path, true, extra...)
}

// request sends a GET of path on stream id with the extra header fields
// (name, value, …), ending the stream when end is set (else a body may
// follow).
func (c *h2Client) request(id uint32, path string, end bool, extra ...string) {
	c.t.Helper()
	c.hbuf.Reset()
	fields := append([]string{":method", "GET", ":scheme", "https", ":path", path, ":authority", "127.0.0.1"}, extra...)
	for i := 0; i+1 < len(fields); i += 2 {
		_ = c.enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	block := c.hbuf.Bytes()
	first := block[:min(len(block), 16384)]
	rest := block[len(first):]
	err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: first, EndStream: end, EndHeaders: len(rest) == 0})
	for err == nil && len(rest) > 0 {
		frag := rest[:min(len(rest), 16384)]
		rest = rest[len(frag):]
		err = c.fr.WriteContinuation(id, len(rest) == 0, frag)
	}
	if err != nil {
		c.t.Fatal(err)
	}
}

// read reads frames until cond holds, answering SETTINGS, or fails the
// test after limit.
func (c *h2Client) read(what string, limit time.Duration, cond func() bool) {
	c.t.Helper()
	if err := c.readUntil(limit, cond); err != nil {
		c.t.Fatalf("waiting for %s: %v", what, err)
	}
}

// readUntil reads frames until cond holds, for up to limit.
func (c *h2Client) readUntil(limit time.Duration, cond func() bool) error {
	_ = c.conn.SetReadDeadline(time.Now().Add(limit))
	defer c.conn.SetReadDeadline(time.Time{})
	for !cond() {
		f, err := c.fr.ReadFrame()
		if err != nil {
			return fmt.Errorf("%w (data %v, resets %v)", err, c.lengths(), c.resets)
		}
		c.note(f)
	}
	return nil
}

// note records what frame f says.
func (c *h2Client) note(f http2.Frame) {
	id := f.Header().StreamID
	switch f := f.(type) {
	case *http2.SettingsFrame:
		if !f.IsAck() {
			_ = c.fr.WriteSettingsAck()
		}
	case *http2.MetaHeadersFrame:
		c.status[id] = f.PseudoValue("status")
		c.ended[id] = c.ended[id] || f.StreamEnded()
	case *http2.DataFrame:
		c.data[id] = append(c.data[id], f.Data()...)
		c.ended[id] = c.ended[id] || f.StreamEnded()
	case *http2.RSTStreamFrame:
		c.resets[id] = f.ErrCode
	case *http2.GoAwayFrame:
		c.goAway = &goAway{code: f.ErrCode, last: f.LastStreamID}
	case *http2.PingFrame:
		if f.IsAck() {
			c.pings = append(c.pings, f.Data)
		}
	}
}

// lengths sums up what the streams received, for failure messages.
func (c *h2Client) lengths() map[uint32]int {
	out := map[uint32]int{}
	for id, d := range c.data {
		out[id] = len(d)
	}
	return out
}

// events counts the events stream id received.
func (c *h2Client) events(id uint32) int { return strings.Count(string(c.data[id]), "\ndata: ") }

// ping sends a PING and waits for its ACK.
func (c *h2Client) ping(limit time.Duration) error {
	data := [8]byte{'s', 's', 'e', 'h', 'u', 'b', byte(len(c.pings)), 0}
	if err := c.fr.WritePing(false, data); err != nil {
		return err
	}
	err := c.readUntil(limit, func() bool { return len(c.pings) > 0 && c.pings[len(c.pings)-1] == data })
	if err != nil {
		return errors.New("no PING ACK: " + err.Error())
	}
	return nil
}

// goAway is what a GOAWAY said.
type goAway struct {
	code http2.ErrCode
	last uint32
}
