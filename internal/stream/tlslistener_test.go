package stream_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ssehub/ssehub/internal/app/apptest"
	"github.com/ssehub/ssehub/internal/stream"
	"github.com/ssehub/ssehub/internal/tlstest"
)

// handshakes counts the goroutines of the TLS listeners' handshakes.
func handshakes() int {
	buf := make([]byte, 8<<20)
	return strings.Count(string(buf[:runtime.Stack(buf, true)]), "stream.(*tlsListener).handshake(")
}

// TestTLSHandshakeTimeout: a client that never finishes its TLS handshake
// holds up no other client (handshakes are off the Accept loop), is closed
// at the server's ReadHeaderTimeout, and leaves no goroutine behind.
func TestTLSHandshakeTimeout(t *testing.T) {
	const timeout = 2 * time.Second
	cfg := apptest.TestConfig(t)
	cfg.ReadHeaderTimeout = timeout
	var roots *x509.CertPool
	cfg.TLSCert, cfg.TLSKey, roots = tlstest.SelfSigned(t)
	s := apptest.Serve(t, cfg, "https", apptest.HTTP1TLS(roots))

	stalled, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "https://"))
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	start := time.Now()
	if _, err := stalled.Write([]byte{0x16, 0x03, 0x01}); err != nil { // a handshake record's header, never finished
		t.Fatal(err)
	}

	resp, err := s.Client.Get(s.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if waited := time.Since(start); resp.StatusCode != http.StatusOK || waited >= timeout {
		t.Errorf("another client, while one stalls its handshake: %d after %v; want 200 before the stalled one's timeout (%v)", resp.StatusCode, waited, timeout)
	}

	_ = stalled.SetReadDeadline(time.Now().Add(timeout + 10*time.Second))
	n, err := stalled.Read(make([]byte, 1))
	closed := time.Since(start)
	var ne net.Error
	if n != 0 || err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("stalled handshake: read %d bytes, %v after %v; want the connection closed", n, err, closed)
	}
	if closed < timeout*9/10 || closed > timeout+5*time.Second {
		t.Errorf("stalled handshake closed after %v, want at the timeout, %v", closed, timeout)
	}
	if err := apptest.Poll(5*time.Second, func() bool { return handshakes() == 0 }); err != nil {
		t.Errorf("%d handshake goroutines left after the timeout", handshakes())
	}
}

// TestTLSListenerClose: closing the TLS listener (the server's Close) ends
// the handshakes in progress at once, not at their timeout, and leaves no
// goroutine behind; a client speaking plain HTTP is told so, as net/http's
// own TLS listener does.
func TestTLSListenerClose(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	certFile, keyFile, _ := tlstest.SelfSigned(t)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}},
		ReadHeaderTimeout: time.Minute,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(stream.New(stream.Config{}).TLSListener(ln, srv)) }()

	dial := func() net.Conn {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		return c
	}
	plain := dial()
	if _, err := io.WriteString(plain, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(plain); !strings.HasPrefix(string(b), "HTTP/1.0 400 Bad Request") {
		t.Errorf("plain HTTP to the TLS listener: answered %q, want a 400", b)
	}

	var stalled []net.Conn
	for range 3 {
		stalled = append(stalled, dial())
	}
	if err := apptest.Poll(5*time.Second, func() bool { return handshakes() == len(stalled) }); err != nil {
		t.Fatalf("%d handshakes in progress, want %d", handshakes(), len(stalled))
	}
	start := time.Now()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve: %v", err)
	}
	for i, c := range stalled {
		var ne net.Error
		if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil || errors.As(err, &ne) && ne.Timeout() {
			t.Errorf("stalled handshake %d: read %d bytes, %v after the close; want the connection closed", i, n, err)
		}
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Errorf("stalled handshakes closed %v after the listener", waited)
	}
	goleak.VerifyNone(t, ignore)
}

// TestTLSListenerProtocols: the listener offers only the protocols its
// server serves: HTTP/1.1 when the server's HTTP/2 is off, though its
// TLSConfig names "h2".
func TestTLSListenerProtocols(t *testing.T) {
	certFile, keyFile, roots := tlstest.SelfSigned(t)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, h2 := range []bool{true, false} {
		var protocols http.Protocols
		protocols.SetHTTP1(true)
		protocols.SetHTTP2(h2)
		srv := &http.Server{
			Handler:   http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}),
			TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}},
			Protocols: &protocols,
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		served := make(chan error, 1)
		go func() { served <- srv.Serve(stream.New(stream.Config{}).TLSListener(ln, srv)) }()
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}
		resp, err := (&http.Client{Transport: tr}).Get("https://" + ln.Addr().String() + "/")
		if err != nil {
			t.Errorf("HTTP/2 on %v: %v", h2, err)
		} else if resp.Body.Close(); resp.StatusCode != http.StatusOK || (resp.ProtoMajor == 2) != h2 {
			t.Errorf("HTTP/2 on %v: %d over %s", h2, resp.StatusCode, resp.Proto)
		}
		tr.CloseIdleConnections()
		srv.Close()
		<-served
	}
}
