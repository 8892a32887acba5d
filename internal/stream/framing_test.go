package stream_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/app/apptest"
	"github.com/ssehub/ssehub/internal/stream"
	"github.com/ssehub/ssehub/internal/tlstest"
)

// Requests written raw. dual's head has Content-Length and
// Transfer-Encoding: a proxy that frames it by Content-Length passes its
// body, in which a request hides that net/http, framing it as chunked,
// would read next.
const (
	publishHead = "POST /.well-known/mercure HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
	health      = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
	dual        = publishHead + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"e\r\ntopic=a&data=b\r\n0\r\n\r\n" + health
	chunked = publishHead + "Transfer-Encoding: chunked\r\n\r\n" + "e\r\ntopic=a&data=b\r\n0\r\n\r\n"
	sized   = publishHead + "Content-Length: 14\r\n\r\ntopic=a&data=b"
)

// dial dials s's listener.
func dial(t *testing.T, s *apptest.Server) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", s.Srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestPlainFraming: on a plain listener a request with both Content-Length
// and Transfer-Encoding is refused with 400 before any handler runs, and
// its connection closed, so that the request hidden after its body is
// never answered; chunked requests and pipelined ones keep their
// connection.
func TestPlainFraming(t *testing.T) {
	s := apptest.NewServer(t, nil)
	checkFraming(t, s.App, func() net.Conn { return dial(t, s) })
}

// TestTLSFraming: over TLS, HTTP/1.1 (by ALPN, or without it) is framed as
// plain connections are: a request with both Content-Length and
// Transfer-Encoding is refused with 400 and its connection closed; chunked
// requests keep theirs.
func TestTLSFraming(t *testing.T) {
	cfg := apptest.TestConfig(t)
	var roots *x509.CertPool
	cfg.TLSCert, cfg.TLSKey, roots = tlstest.SelfSigned(t)
	s := apptest.Serve(t, cfg, "https", apptest.HTTP1TLS(roots))
	for _, protos := range [][]string{{"http/1.1"}, nil} {
		t.Run(fmt.Sprintf("ALPN %q", protos), func(t *testing.T) {
			checkFraming(t, s.App, func() net.Conn {
				c, err := tls.Dial("tcp", strings.TrimPrefix(s.URL, "https://"), &tls.Config{RootCAs: roots, NextProtos: protos})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				if c.ConnectionState().NegotiatedProtocol != strings.Join(protos, "") {
					t.Fatalf("negotiated %q, want %q", c.ConnectionState().NegotiatedProtocol, protos)
				}
				return c
			})
		})
	}
}

// checkFraming checks the answers on connections from dial to a's server:
// the refused request, then pipelines that keep their connection.
func checkFraming(t *testing.T, a *app.App, dial func() net.Conn) {
	t.Helper()
	published := a.Hub().Stats().Published
	resp := apptest.Exchange(t, dial(), dual, 1, true)[0]
	var body struct{ Error, Field string }
	err := json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != http.StatusBadRequest || err != nil || body.Field != "Transfer-Encoding" || !resp.Close {
		t.Errorf("both framing headers: %d %+v (%v), close %v; want 400 on Transfer-Encoding, closing", resp.StatusCode, body, err, resp.Close)
	}
	if n := a.Hub().Stats().Published - published; n != 0 {
		t.Errorf("%d updates published by the refused request", n)
	}

	for name, pipeline := range map[string]string{"chunked": chunked + health, "Content-Length": sized + sized + health} {
		answers := apptest.Exchange(t, dial(), pipeline, strings.Count(pipeline, "HTTP/1.1"), false)
		for i, a := range answers {
			if a.StatusCode != http.StatusOK || a.Close {
				t.Errorf("%s, answer %d: %d, close %v; want 200, keeping the connection", name, i, a.StatusCode, a.Close)
			}
		}
	}
}

// TestStreamOnFramedConn: a stream on a plain listener's connection, which
// follows its requests' framing, is taken over as on any TCP connection:
// it delivers, and ends when its client leaves.
func TestStreamOnFramedConn(t *testing.T) {
	s := apptest.NewServer(t, nil)
	const topic = "https://example.com/framed"
	c := apptest.RawSubscriber(t, s, apptest.Query("/.well-known/mercure", "topic", topic))
	s.WaitSubscribers(t, 1)
	if stream.PooledStreams {
		if err := apptest.Poll(5*time.Second, func() bool { return streamGoroutines() == 0 }); err != nil {
			t.Errorf("%d goroutines for a stream, want it taken over", streamGoroutines())
		}
	}
	s.Publish(t, topic, "framed")
	if err := readUntil(c, "data: framed\n"); err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	s.WaitSubscribers(t, 0)
}
