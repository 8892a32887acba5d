package stream_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/net/http2"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/app/apptest"
	"github.com/ssehub/ssehub/internal/sse"
	"github.com/ssehub/ssehub/internal/stream"
	"github.com/ssehub/ssehub/internal/tlstest"
)

// h2Transport is a client transport that trusts roots and speaks HTTP/2,
// all of its requests on one connection.
func h2Transport(roots *x509.CertPool) *http.Transport {
	return &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}
}

// serveH2 serves an app over TLS for HTTP/2 clients.
func serveH2(t *testing.T, mutate func(*app.Config)) (*apptest.Served, *x509.CertPool) {
	cfg := apptest.TestConfig(t)
	var roots *x509.CertPool
	cfg.TLSCert, cfg.TLSKey, roots = tlstest.SelfSigned(t)
	if mutate != nil {
		mutate(&cfg)
	}
	return apptest.Serve(t, cfg, "https", h2Transport(roots)), roots
}

// h2Goroutines counts the goroutines HTTP/2 streams keep: net/http's
// HTTP/2 connection loops and handlers, and the engine's handler
// goroutines.
func h2Goroutines() int {
	buf := make([]byte, 8<<20)
	all := string(buf[:runtime.Stack(buf, true)])
	return strings.Count(all, "http2serverConn).serve(") + strings.Count(all, "http2serverConn).runHandler(") +
		strings.Count(all, "stream.(*h2Conn).serve(")
}

// TestH2StreamsTakenOver: HTTP/2 streams are the engine's, with no
// goroutine per connection or stream; many share one connection (a
// browser's tabs), get every update, large ones too, and one closed (its
// stream reset) ends alone while the others and the publishes on the same
// connection go on.
func TestH2StreamsTakenOver(t *testing.T) {
	s, _ := serveH2(t, nil)
	const streams = 30
	var parsers []*sse.Parser
	var bodies []io.Closer
	for i := range streams {
		resp, p := s.Open(t, "/events?topic=h2")
		if resp.ProtoMajor != 2 {
			t.Fatalf("stream %d over %s, want HTTP/2", i, resp.Proto)
		}
		parsers, bodies = append(parsers, p), append(bodies, resp.Body)
	}
	apptest.WaitHub(t, s.App, streams)
	if err := apptest.Poll(2*time.Second, func() bool { return h2Goroutines() == 0 }); err != nil && stream.PooledStreams {
		t.Errorf("%d goroutines for %d HTTP/2 streams, want none", h2Goroutines(), streams)
	}
	for i := range 3 {
		s.Publish(t, "h2", fmt.Sprintf("update %d, %s", i, strings.Repeat("x", 40000*i)))
	}
	for i, p := range parsers {
		for j := range 3 {
			ev, err := p.Next()
			if err != nil || !strings.HasPrefix(ev.Data, fmt.Sprintf("update %d,", j)) || len(ev.Data) < 40000*j {
				t.Fatalf("stream %d, update %d: %.40q (%d bytes), %v", i, j, ev.Data, len(ev.Data), err)
			}
		}
	}
	for _, b := range bodies[:10] {
		_ = b.Close()
	}
	apptest.WaitHub(t, s.App, streams-10)
	s.Publish(t, "h2", "after")
	for _, p := range parsers[10:] {
		apptest.ExpectData(t, p, "after")
	}
	for _, b := range bodies[10:] {
		_ = b.Close()
	}
	apptest.WaitHub(t, s.App, 0)
}

// TestH2FlowControl: a stream whose window is closed gets no more than
// its window, while another on the same connection gets everything; a
// WINDOW_UPDATE resumes it; PING is answered meanwhile.
func TestH2FlowControl(t *testing.T) {
	s, roots := serveH2(t, nil)
	const window = 100
	c := dialH2(t, strings.TrimPrefix(s.URL, "https://"), roots,
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: window})
	if err := c.fr.WriteWindowUpdate(0, 1<<30); err != nil {
		t.Fatal(err)
	}
	c.get(1, "/events?topic=fc")
	c.get(3, "/events?topic=fc")
	apptest.WaitHub(t, s.App, 2)
	if err := c.fr.WriteWindowUpdate(3, 1<<30); err != nil {
		t.Fatal(err)
	}
	const updates = 20
	for i := range updates {
		s.Publish(t, "fc", fmt.Sprint(i, " ", strings.Repeat("z", 500)))
	}
	c.read("every update on the open stream", 10*time.Second, func() bool { return c.events(3) == updates })
	if err := c.ping(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if n := len(c.data[1]); n > window {
		t.Fatalf("the stream with a window of %d got %d bytes", window, n)
	}
	if err := c.fr.WriteWindowUpdate(1, 1<<30); err != nil {
		t.Fatal(err)
	}
	c.read("the held stream's updates", 10*time.Second, func() bool { return c.events(1) == updates })
	if c.status[1] != "200" || c.status[3] != "200" || len(c.resets) > 0 {
		t.Errorf("statuses %v, resets %v", c.status, c.resets)
	}
}

// TestH2SlowStreamIsReset: a stream whose client keeps its window closed
// is cut off once its queue overflows, as a slow HTTP/1.1 stream is: the
// stream is reset, and the connection and its other stream go on.
func TestH2SlowStreamIsReset(t *testing.T) {
	s, roots := serveH2(t, func(cfg *app.Config) { cfg.QueueSize = 20 })
	c := dialH2(t, strings.TrimPrefix(s.URL, "https://"), roots,
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
	if err := c.fr.WriteWindowUpdate(0, 1<<30); err != nil {
		t.Fatal(err)
	}
	c.get(1, "/events?topic=slow")
	c.get(3, "/events?topic=slow")
	apptest.WaitHub(t, s.App, 2)
	if err := c.fr.WriteWindowUpdate(3, 1<<30); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		s.Publish(t, "slow", fmt.Sprint(i, " ", strings.Repeat("s", 1000)))
	}
	c.read("the stalled stream's reset", 10*time.Second, func() bool { _, ok := c.resets[1]; return ok })
	c.read("every update on the open stream", 10*time.Second, func() bool { return c.events(3) == 100 })
	apptest.WaitHub(t, s.App, 1)
	if err := c.ping(5 * time.Second); err != nil {
		t.Fatal(err)
	}
}

// TestH2Shutdown: on shutdown the streams end cleanly (END_STREAM), each
// with its spread-out reconnection time, and the connection gets GOAWAY.
func TestH2Shutdown(t *testing.T) {
	s, roots := serveH2(t, nil)
	c := dialH2(t, strings.TrimPrefix(s.URL, "https://"), roots)
	c.get(1, "/events?topic=bye")
	c.get(3, "/events?topic=bye")
	apptest.WaitHub(t, s.App, 2)
	s.Cancel()
	c.read("the streams' end and GOAWAY", 10*time.Second, func() bool {
		return c.ended[1] && c.ended[3] && c.goAway != nil
	})
	for _, id := range []uint32{1, 3} {
		retries := strings.Split(string(c.data[id]), "retry: ")
		last, _ := strconv.Atoi(strings.TrimSpace(retries[len(retries)-1]))
		if len(retries) != 3 || last < 3000 {
			t.Errorf("stream %d: %q, want the opening retry and a farewell one of at least 3000", id, c.data[id])
		}
	}
	if c.goAway.code != http2.ErrCodeNo || c.goAway.last != 3 {
		t.Errorf("GOAWAY %v, last stream %d; want NO_ERROR, 3", c.goAway.code, c.goAway.last)
	}
}

// TestH2Requests: other requests on an HTTP/2 connection go through the
// app's handlers: a publish with a body, the console, a HEAD; a header
// list past the server's limit ends the connection.
func TestH2Requests(t *testing.T) {
	s, roots := serveH2(t, nil)
	_, p := s.Open(t, "/events?topic=req")
	s.Publish(t, "req", strings.Repeat("b", 100000))
	apptest.ExpectData(t, p, strings.Repeat("b", 100000))
	for _, tc := range []struct {
		method, path string
		header       http.Header
		status       int
	}{
		{http.MethodGet, "/", nil, http.StatusOK},
		{http.MethodHead, "/healthz", nil, http.StatusOK},
		{http.MethodGet, "/nowhere", nil, http.StatusNotFound},
	} {
		req, _ := http.NewRequest(tc.method, s.URL+tc.path, nil)
		for k, v := range tc.header {
			req.Header[k] = v
		}
		resp, err := s.Client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", tc.method, tc.path, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || resp.ProtoMajor != 2 || err != nil {
			t.Errorf("%s %s: %d over %s (%d bytes, %v), want %d over HTTP/2", tc.method, tc.path, resp.StatusCode, resp.Proto, len(body), err, tc.status)
		}
	}
	// Go's client refuses to send past the limit the server advertises;
	// this one does not, and is told off with the connection.
	c := dialH2(t, strings.TrimPrefix(s.URL, "https://"), roots)
	c.get(1, "/healthz", "x-big", strings.Repeat("h", 100<<10))
	err := c.readUntil(5*time.Second, func() bool { return false })
	// Closed: an EOF, or a reset when the client's header frames were
	// still unread on the server's side as it closed.
	closed := err != nil && (strings.Contains(err.Error(), "EOF") || errors.Is(err, syscall.ECONNRESET))
	if c.goAway == nil || c.goAway.code == http2.ErrCodeNo || !closed {
		t.Errorf("a header list of 100 KiB: GOAWAY %+v, then %v; want an error code and the connection closed", c.goAway, err)
	}
	c = dialH2(t, strings.TrimPrefix(s.URL, "https://"), roots)
	c.get(1, "/healthz", "x-fits", strings.Repeat("h", 30<<10))
	c.read("the answer", 5*time.Second, func() bool { return c.ended[1] })
	if c.status[1] != "200" {
		t.Errorf("a header list of 30 KiB: status %q, want 200", c.status[1])
	}
}

// TestH2TakeoverOff: with -h2-takeover=false, net/http's HTTP/2 serves
// the streams, as before.
func TestH2TakeoverOff(t *testing.T) {
	s, _ := serveH2(t, func(cfg *app.Config) { cfg.H2Takeover = false })
	resp, p := s.Open(t, "/events?topic=off")
	if resp.ProtoMajor != 2 {
		t.Fatalf("over %s, want HTTP/2", resp.Proto)
	}
	apptest.WaitHub(t, s.App, 1)
	if n := h2Goroutines(); n == 0 {
		t.Error("no goroutine of net/http's HTTP/2 for the stream: the engine took it over")
	}
	s.Publish(t, "off", "net/http")
	apptest.ExpectData(t, p, "net/http")
}

// TestH2NoLeaks: 40 streams over four HTTP/2 connections, taken over
// ones and the seed's (whose handler serves it through the engine's
// ResponseWriter), are all released once their clients leave, and the
// app's shutdown leaves no goroutine behind. It does not run in parallel.
func TestH2NoLeaks(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	cfg := apptest.TestConfig(t)
	var roots *x509.CertPool
	cfg.TLSCert, cfg.TLSKey, roots = tlstest.SelfSigned(t)
	s := apptest.Serve(t, cfg, "https", h2Transport(roots))
	var transports []*http.Transport
	var bodies []io.Closer
	for i := range 40 {
		if i%10 == 0 {
			transports = append(transports, h2Transport(roots))
		}
		path := "/events?topic=leak"
		if i%4 == 1 {
			path = "/gbi/sse/search"
		}
		resp, err := (&http.Client{Transport: transports[len(transports)-1]}).Get(s.URL + path)
		if err != nil || resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
			t.Fatalf("GET %s: %v, %v", path, resp, err)
		}
		bodies = append(bodies, resp.Body)
	}
	apptest.WaitHub(t, s.App, 40)
	for _, b := range bodies {
		_ = b.Close()
	}
	apptest.WaitHub(t, s.App, 0)
	for _, tr := range transports {
		tr.CloseIdleConnections()
	}
	if err := s.Stop(t, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	s.Client.CloseIdleConnections()
	goleak.VerifyNone(t, ignore)
}

// TestH2Bounds: what an HTTP/2 client can make the hub hold is bounded.
// Past 250 streams on a connection the next is refused (REFUSED_STREAM)
// and the others go on; a header block that never ends (CONTINUATIONs
// without END_HEADERS) ends the connection once it passes the limit; a
// client that stops reading its connection while it is sent updates and
// PING answers is cut off within the write timeout.
func TestH2Bounds(t *testing.T) {
	s, roots := serveH2(t, func(cfg *app.Config) { cfg.WriteTimeout = time.Second })
	addr := strings.TrimPrefix(s.URL, "https://")

	c := dialH2(t, addr, roots)
	for i := range 251 {
		c.get(uint32(2*i+1), "/events?topic=many")
	}
	c.read("the 251st stream refused", 10*time.Second, func() bool { _, ok := c.resets[501]; return ok })
	if c.resets[501] != http2.ErrCodeRefusedStream || len(c.resets) != 1 {
		t.Errorf("resets %v, want REFUSED_STREAM for stream 501 alone", c.resets)
	}
	apptest.WaitHub(t, s.App, 250)
	_ = c.conn.Close()
	apptest.WaitHub(t, s.App, 0)

	c = dialH2(t, addr, roots)
	_ = c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte{0x82}, EndHeaders: false})
	frag := make([]byte, 16384)
	var err error
	for i := 0; i < 64 && err == nil; i++ { // 1 MiB of header block, never ended
		err = c.fr.WriteContinuation(1, false, frag)
	}
	_ = c.readUntil(5*time.Second, func() bool { return false })
	if c.goAway == nil || c.goAway.code == http2.ErrCodeNo {
		t.Errorf("a header block without end: GOAWAY %+v, want one with an error", c.goAway)
	}

	c = dialH2(t, addr, roots)
	c.get(1, "/events?topic=deaf")
	apptest.WaitHub(t, s.App, 1)
	_ = c.fr.WriteWindowUpdate(0, 1<<30)
	_ = c.fr.WriteWindowUpdate(1, 1<<30)
	start := time.Now()
	go func() { // the client never reads: its pings' answers and the updates pile up
		for i := 0; ; i++ {
			if c.fr.WritePing(false, [8]byte{byte(i)}) != nil {
				return
			}
		}
	}()
	for i := 0; s.App.Hub().Stats().Subscribers > 0 && time.Since(start) < 20*time.Second; i++ {
		s.Publish(t, "deaf", fmt.Sprint(i, strings.Repeat("d", 8000)))
	}
	if n := s.App.Hub().Stats().Subscribers; n != 0 {
		t.Fatalf("a client that does not read still has %d stream after %v", n, time.Since(start))
	}
	t.Logf("the deaf client was cut off after %v", time.Since(start))
}

// TestH2AnsweredBodyStillChecked: a request answered before its body
// came is still malformed when its DATA goes past its Content-Length or
// ends short of it: RST_STREAM PROTOCOL_ERROR (RFC 9113, 8.1.1), however
// the answer and the client's frames interleave (h2spec 8.1.2.6 raced
// them); a body that fits gets no error.
func TestH2AnsweredBodyStillChecked(t *testing.T) {
	if !stream.PooledStreams {
		t.Skip("net/http serves HTTP/2 in this build")
	}
	s, roots := serveH2(t, nil)
	c := dialH2(t, strings.TrimPrefix(s.URL, "https://"), roots)
	for _, tc := range []struct {
		id   uint32
		body int
		want http2.ErrCode
	}{{1, 10, http2.ErrCodeProtocol}, {3, 4, http2.ErrCodeProtocol}, {5, 8, http2.ErrCodeNo}} {
		c.request(tc.id, "/", false, "content-length", "8")
		c.read("the answer", 5*time.Second, func() bool { return c.ended[tc.id] })
		if err := c.fr.WriteData(tc.id, true, make([]byte, tc.body)); err != nil {
			t.Fatal(err)
		}
		if err := c.ping(5 * time.Second); err != nil { // the server has read the DATA
			t.Fatal(err)
		}
		if got := c.resets[tc.id]; tc.want == http2.ErrCodeProtocol && got != tc.want || tc.want != http2.ErrCodeProtocol && got == http2.ErrCodeProtocol {
			t.Errorf("a body of %d bytes for a Content-Length of 8, after the answer: reset %v, want %v", tc.body, got, tc.want)
		}
	}
}

// TestH2StalledWindowIsReset: a stream whose window stays closed while it
// has something to send is reset once the write timeout passes, as a
// write blocked that long ends an HTTP/1.1 stream; the connection stays.
func TestH2StalledWindowIsReset(t *testing.T) {
	if !stream.PooledStreams {
		t.Skip("net/http serves HTTP/2 in this build (it resets with INTERNAL_ERROR)")
	}
	s, roots := serveH2(t, func(cfg *app.Config) {
		cfg.WriteTimeout, cfg.Heartbeat = time.Second, 200*time.Millisecond
	})
	c := dialH2(t, strings.TrimPrefix(s.URL, "https://"), roots,
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
	// The stream's first bytes are held back already, so its write may
	// stall from its opening on: the timeout counts from before it.
	start := time.Now()
	c.get(1, "/events?topic=stall")
	apptest.WaitHub(t, s.App, 1)
	s.Publish(t, "stall", "held back")
	c.read("the stalled stream's reset", 10*time.Second, func() bool { _, ok := c.resets[1]; return ok })
	if took := time.Since(start); took < time.Second || c.resets[1] != http2.ErrCodeCancel {
		t.Errorf("reset %v after %v, want CANCEL after the write timeout of 1s", c.resets[1], took)
	}
	apptest.WaitHub(t, s.App, 0)
	if err := c.ping(5 * time.Second); err != nil {
		t.Fatal(err)
	}
}
