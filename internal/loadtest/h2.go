package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Subscribers over HTTP/2 (-h2): each stream on a connection of its own,
// as a browser tab that is alone on its origin; its frames are read by an
// h2Stream, a net.Conn whose reads return the stream's body, so that the
// readers and decoders of HTTP/1.1 streams serve it unchanged.

// h2Window is the flow-control window a subscriber grants: the largest
// there is, so that the hub never waits for a WINDOW_UPDATE; what it
// reads is given back once half of it is used.
const h2Window = 1<<31 - 1

// h2Exchange sends req (an HTTP/1.1 request, translated) as stream 1 of an
// HTTP/2 connection over tc and waits for a 200 answer and its first
// bytes. It returns the stream to read the rest of the body from.
func h2Exchange(tc *tls.Conn, req []byte) (*h2Stream, []byte, error) {
	hr, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(req)))
	if err != nil {
		return nil, nil, fmt.Errorf("h2: %w", err)
	}
	s := &h2Stream{Conn: tc}
	s.fr = http2.NewFramer(tc, tc)
	s.fr.SetReuseFrames() // a frame's data is copied before the next is read
	s.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	field := func(k, v string) { _ = enc.WriteField(hpack.HeaderField{Name: k, Value: v}) }
	field(":method", hr.Method)
	field(":scheme", "https")
	field(":authority", hr.Host)
	field(":path", hr.URL.RequestURI())
	for k, vs := range hr.Header {
		for _, v := range vs {
			field(strings.ToLower(k), v)
		}
	}
	if _, err := tc.Write([]byte(http2.ClientPreface)); err != nil {
		return nil, nil, err
	}
	err = errors.Join(
		s.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: h2Window}),
		s.fr.WriteWindowUpdate(0, h2Window-65535),
		s.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block.Bytes(), EndStream: true, EndHeaders: true}),
	)
	if err != nil {
		return nil, nil, err
	}
	if err := s.head(); err != nil {
		return nil, nil, err
	}
	first := make([]byte, 4096)
	n, err := s.Read(first)
	if err != nil {
		return nil, nil, fmt.Errorf("first bytes: %w", unexpected(err))
	}
	return s, first[:n], nil
}

// h2Stream reads stream 1 of an HTTP/2 connection: Read returns its DATA.
type h2Stream struct {
	*tls.Conn
	fr    *http2.Framer
	data  []byte // DATA read but not returned yet
	rest  []byte // data's array, from its start, for the next frame's rest
	ended bool   // END_STREAM came
	used  uint32 // window used since it was last given back
	mu    sync.Mutex
}

// head reads frames until stream 1's response headers, which must say 200.
func (s *h2Stream) head() error {
	for {
		f, err := s.frame()
		if err != nil {
			return err
		}
		if h, ok := f.(*http2.MetaHeadersFrame); ok && h.StreamID == 1 {
			status := h.PseudoValue("status")
			if status != "200" {
				code, _ := strconv.Atoi(status)
				return &httpStatusError{code: code}
			}
			s.ended = h.StreamEnded()
			return nil
		}
	}
}

// Read returns the stream's body, io.EOF at its end.
func (s *h2Stream) Read(b []byte) (int, error) {
	for len(s.data) == 0 {
		if s.ended {
			return 0, io.EOF
		}
		f, err := s.frame()
		if err != nil {
			return 0, err
		}
		if d, ok := f.(*http2.DataFrame); ok && d.StreamID == 1 {
			s.ended = d.StreamEnded()
			if err := s.giveBack(d.Length); err != nil {
				return 0, err
			}
			n := copy(b, d.Data())
			s.data = append(s.rest[:0], d.Data()[n:]...)
			s.rest = s.data
			if n > 0 {
				return n, nil
			}
		}
	}
	n := copy(b, s.data)
	s.data = s.data[n:]
	return n, nil
}

// frame reads the next frame, answering the connection's SETTINGS and
// PINGs; a reset or a GOAWAY with an error ends the stream.
func (s *h2Stream) frame() (http2.Frame, error) {
	f, err := s.fr.ReadFrame()
	if err != nil {
		return nil, err
	}
	switch f := f.(type) {
	case *http2.SettingsFrame:
		if !f.IsAck() {
			return f, s.write(func() error { return s.fr.WriteSettingsAck() })
		}
	case *http2.PingFrame:
		if !f.IsAck() {
			return f, s.write(func() error { return s.fr.WritePing(true, f.Data) })
		}
	case *http2.RSTStreamFrame:
		return nil, fmt.Errorf("h2: stream reset: %v", f.ErrCode)
	case *http2.GoAwayFrame:
		if f.ErrCode != http2.ErrCodeNo {
			return nil, fmt.Errorf("h2: GOAWAY: %v", f.ErrCode)
		}
	}
	return f, nil
}

// giveBack grows the windows again once half of them is used.
func (s *h2Stream) giveBack(n uint32) error {
	if s.used += n; s.used < h2Window/2 {
		return nil
	}
	used := s.used
	s.used = 0
	return s.write(func() error {
		return errors.Join(s.fr.WriteWindowUpdate(0, used), s.fr.WriteWindowUpdate(1, used))
	})
}

// write writes frames, one writer at a time.
func (s *h2Stream) write(fn func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fn()
}

// NetConn returns the TCP connection under the stream, for closeNow.
func (s *h2Stream) NetConn() net.Conn { return s.Conn.NetConn() }

// h2Dial is exchange's HTTP/2 path.
func h2Dial(ctx context.Context, t target, conn net.Conn, req []byte, c *net.Conn) (bool, []byte, error) {
	tc := tls.Client(conn, &tls.Config{
		ServerName:         t.url.Hostname(),
		InsecureSkipVerify: true, // a loopback hub under test, often with a self-signed certificate
		NextProtos:         []string{"h2"},
	})
	if err := tc.HandshakeContext(ctx); err != nil {
		return false, nil, fmt.Errorf("tls: %w", err)
	}
	*c = tc
	if p := tc.ConnectionState().NegotiatedProtocol; p != "h2" {
		return false, nil, fmt.Errorf("h2: the hub negotiated %q", p)
	}
	s, first, err := h2Exchange(tc, req)
	if err != nil {
		return false, nil, err
	}
	*c = s
	return false, first, nil
}
