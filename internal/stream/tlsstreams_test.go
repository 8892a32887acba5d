package stream_test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app/apptest"
	"github.com/ssehub/ssehub/internal/sse"
	"github.com/ssehub/ssehub/internal/stream"
	"github.com/ssehub/ssehub/internal/tlstest"
)

// streamGoroutines counts the goroutines of the server's streams: net/http's
// connection loops (which run the handlers) and the readers of streams
// taken over without the hangup watcher.
func streamGoroutines() int {
	buf := make([]byte, 8<<20)
	all := string(buf[:runtime.Stack(buf, true)])
	return strings.Count(all, "net/http.(*conn).serve(") + strings.Count(all, "stream.(*leanStream).read(")
}

// TestTLSStreamsTakenOver: HTTP/1.1 streams over TLS are taken over from
// net/http as plain ones are (no goroutine of net/http's per stream),
// deliver every update through TLS, and end when their clients leave.
func TestTLSStreamsTakenOver(t *testing.T) {
	cfg := apptest.TestConfig(t)
	var roots *x509.CertPool
	cfg.TLSCert, cfg.TLSKey, roots = tlstest.SelfSigned(t)
	s := apptest.Serve(t, cfg, "https", apptest.HTTP1TLS(roots))

	const streams = 30
	var parsers []*sse.Parser
	var bodies []func() error
	for i := range streams {
		resp, p := s.Open(t, "/events?topic=tls")
		if resp.ProtoMajor != 1 || resp.TLS == nil {
			t.Fatalf("stream %d over %s (TLS %v), want HTTP/1.1 over TLS", i, resp.Proto, resp.TLS != nil)
		}
		parsers, bodies = append(parsers, p), append(bodies, resp.Body.Close)
	}
	apptest.WaitHub(t, s.App, streams)
	if n := streamGoroutines(); n > 2 && stream.PooledStreams {
		t.Errorf("%d goroutines for %d TLS streams open, want them taken over, without a goroutine each", n, streams)
	}
	for i := range 3 {
		s.Publish(t, "tls", fmt.Sprintf("update %d, %s", i, strings.Repeat("x", 20000*i)))
	}
	for i, p := range parsers {
		for j := range 3 {
			ev, err := p.Next()
			if err != nil || !strings.HasPrefix(ev.Data, fmt.Sprintf("update %d,", j)) || len(ev.Data) < 20000*j {
				t.Fatalf("stream %d, update %d: %.40q (%d bytes), %v", i, j, ev.Data, len(ev.Data), err)
			}
		}
	}
	start := time.Now()
	for _, closeBody := range bodies {
		_ = closeBody()
	}
	apptest.WaitHub(t, s.App, 0)
	t.Logf("hangups seen in %v", time.Since(start))
}

// TestTLSSlowStreamIsCutOff: a TLS stream whose client stops reading is
// cut off once its queue overflows, while another one receives everything.
func TestTLSSlowStreamIsCutOff(t *testing.T) {
	cfg := apptest.TestConfig(t)
	cfg.QueueSize = 50
	var roots *x509.CertPool
	cfg.TLSCert, cfg.TLSKey, roots = tlstest.SelfSigned(t)
	s := apptest.Serve(t, cfg, "https", apptest.HTTP1TLS(roots))

	_, reader := s.Open(t, "/events?topic=slow")
	stalled, err := tls.Dial("tcp", strings.TrimPrefix(s.URL, "https://"), &tls.Config{RootCAs: roots})
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	fmt.Fprintf(stalled, "GET /events?topic=slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	apptest.WaitHub(t, s.App, 2)

	const updates = 400
	done := make(chan error, 1)
	go func() {
		for i := range updates {
			ev, err := reader.Next()
			if err != nil || !strings.HasPrefix(ev.Data, fmt.Sprint(i, " ")) {
				done <- fmt.Errorf("update %d: %.20q, %v", i, ev.Data, err)
				return
			}
		}
		done <- nil
	}()
	for i := range updates {
		s.Publish(t, "slow", fmt.Sprint(i, " ", strings.Repeat("y", 16<<10)))
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the reading stream did not get every update")
	}
	apptest.WaitHub(t, s.App, 1) // the stalled one cut off
}
