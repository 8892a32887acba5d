package app_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app/apptest"
	"github.com/ssehub/ssehub/internal/stream"
	"github.com/ssehub/ssehub/internal/tlstest"
)

// A publish whose head has both Content-Length and Transfer-Encoding: a
// front end that frames it by Content-Length forwards its body, in which a
// second request hides; framed as chunked, that request comes after it.
const (
	dualPublish = "POST /.well-known/mercure HTTP/1.1\r\nHost: x\r\n" +
		"Content-Type: application/x-www-form-urlencoded\r\n" +
		"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"d\r\ntopic=a&data=\r\n0\r\n\r\n" +
		"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
	chunkedPublish = "POST /.well-known/mercure HTTP/1.1\r\nHost: x\r\n" +
		"Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"e\r\ntopic=a&data=b\r\n0\r\n\r\n"
	health = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
)

// TestDualFramingRefused: through Serve, a plain request with both
// Content-Length and Transfer-Encoding is refused with 400 before any
// handler runs, and the connection closes: the request hidden after its
// body is never answered. A chunked publish keeps its connection.
func TestDualFramingRefused(t *testing.T) {
	t.Parallel()
	s := serve(t, apptest.TestConfig(t), "http", &http.Transport{})
	resp := apptest.Exchange(t, rawConn(t, s), dualPublish, 1, true)[0]
	var body struct{ Error, Field string }
	err := json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != http.StatusBadRequest || err != nil || body.Field != "Transfer-Encoding" || !resp.Close {
		t.Errorf("answer %d %+v (%v), close %v; want 400 on Transfer-Encoding, closing", resp.StatusCode, body, err, resp.Close)
	}
	if st := s.App.Hub().Stats(); st.Published != 0 {
		t.Errorf("%d updates published by the refused request", st.Published)
	}

	answers := apptest.Exchange(t, rawConn(t, s), chunkedPublish+health, 2, false)
	if answers[0].StatusCode != http.StatusOK || answers[1].StatusCode != http.StatusOK {
		t.Errorf("chunked publish, then health on the same connection: %d, %d; want 200, 200", answers[0].StatusCode, answers[1].StatusCode)
	}
}

// TestDualFramingOverTLS: through Serve over TLS, HTTP/1.1 requests are
// framed as plain ones: one with both Content-Length and Transfer-Encoding
// is refused with 400 and the connection closed, so the request hidden
// after its body never is answered; a chunked publish keeps its
// connection. Over HTTP/2 Transfer-Encoding resets the stream (RFC 9113,
// 8.2.2).
func TestDualFramingOverTLS(t *testing.T) {
	t.Parallel()
	cfg := apptest.TestConfig(t)
	var roots *x509.CertPool
	cfg.TLSCert, cfg.TLSKey, roots = tlstest.SelfSigned(t)
	s := serve(t, cfg, "https", apptest.HTTP1TLS(roots))
	dial := func(protos ...string) *tls.Conn {
		c, err := tls.Dial("tcp", strings.TrimPrefix(s.URL, "https://"), &tls.Config{RootCAs: roots, NextProtos: protos})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	for _, protos := range [][]string{{"http/1.1"}, nil} {
		resp := apptest.Exchange(t, dial(protos...), dualPublish, 1, true)[0]
		var body struct{ Error, Field string }
		err := json.NewDecoder(resp.Body).Decode(&body)
		if resp.StatusCode != http.StatusBadRequest || err != nil || body.Field != "Transfer-Encoding" || !resp.Close {
			t.Errorf("ALPN %q: answer %d %+v (%v), close %v; want 400 on Transfer-Encoding, closing", protos, resp.StatusCode, body, err, resp.Close)
		}
		answers := apptest.Exchange(t, dial(protos...), chunkedPublish+health, 2, false)
		for i, a := range answers {
			if a.StatusCode != http.StatusOK || a.Close {
				t.Errorf("ALPN %q: chunked publish, then health: answer %d: %d, close %v; want 200, keeping the connection", protos, i, a.StatusCode, a.Close)
			}
		}
	}
	if st := s.App.Hub().Stats(); st.Published != 2 {
		t.Errorf("%d updates published, want the 2 chunked ones", st.Published)
	}

	for _, tc := range []struct {
		header []string
		status byte
	}{{nil, h2Status200}, {[]string{"transfer-encoding", "chunked"}, h2Refused()}} {
		c := dial("h2")
		if p := c.ConnectionState().NegotiatedProtocol; p != "h2" {
			t.Fatalf("negotiated %q, want h2", p)
		}
		if got := h2Status(t, c, tc.header...); got != tc.status {
			t.Errorf("HTTP/2 GET with %q: status field %#x, want %#x", tc.header, got, tc.status)
		}
	}
}

// HTTP/2 frame types (RFC 9113 §6), and the HPACK encodings of two
// statuses (RFC 7541, static table entries 8 and 12).
const (
	h2Headers   = 0x1
	h2RSTStream = 0x3
	h2Settings  = 0x4
	h2GoAway    = 0x7
	h2Status200 = 0x80 | 8
	h2Status400 = 0x80 | 12
	h2Reset     = 0xff // not a status: the stream was reset (RFC 9113, 8.2.2)
)

// h2Refused is how HTTP/2 refuses a request with Transfer-Encoding: the
// hub's own HTTP/2 resets its stream; net/http's (the portable build)
// answers 400.
func h2Refused() byte {
	if stream.PooledStreams {
		return h2Reset
	}
	return h2Status400
}

// h2Status sends a GET /healthz on stream 1 of c, with the extra header
// name and value if given (lower case), and returns the first byte of the
// server's header block for it: its encoded status.
func h2Status(t *testing.T, c net.Conn, header ...string) byte {
	t.Helper()
	fields := []string{":method", "GET", ":scheme", "https", ":path", "/healthz", ":authority", "x"}
	fields = append(fields, header...)
	var block []byte // HPACK: each field a literal without indexing, of a new name
	for i := 0; i+1 < len(fields); i += 2 {
		name, value := fields[i], fields[i+1]
		block = append(append(append(block, 0, byte(len(name))), name...), byte(len(value)))
		block = append(block, value...)
	}
	msg := []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
	msg = appendFrame(msg, h2Settings, 0, 0, nil)
	msg = appendFrame(msg, h2Headers, 0x5, 1, block) // END_STREAM | END_HEADERS
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	for {
		var head [9]byte
		if _, err := io.ReadFull(br, head[:]); err != nil {
			t.Fatalf("reading HTTP/2 frames: %v", err)
		}
		payload := make([]byte, binary.BigEndian.Uint32(head[:4])>>8)
		if _, err := io.ReadFull(br, payload); err != nil {
			t.Fatal(err)
		}
		kind, stream := head[3], binary.BigEndian.Uint32(head[5:])&(1<<31-1)
		switch {
		case kind == h2GoAway:
			t.Fatalf("GOAWAY: %q", payload)
		case stream == 1 && kind == h2Headers && len(payload) > 0:
			return payload[0]
		case stream == 1 && kind == h2RSTStream && binary.BigEndian.Uint32(payload) == 1: // PROTOCOL_ERROR
			return h2Reset
		case stream == 1:
			t.Fatalf("frame type %d for the request, want its headers", kind)
		}
	}
}

// appendFrame appends an HTTP/2 frame.
func appendFrame(b []byte, kind, flags byte, stream uint32, payload []byte) []byte {
	b = append(b, byte(len(payload)>>16), byte(len(payload)>>8), byte(len(payload)), kind, flags)
	b = binary.BigEndian.AppendUint32(b, stream)
	return append(b, payload...)
}
