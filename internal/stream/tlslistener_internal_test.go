package stream

import (
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/tlstest"
)

// TestTLSHandshakesBounded: once as many handshakes are in progress as the
// listener allows, it accepts no more connections until one of them ends.
func TestTLSHandshakesBounded(t *testing.T) {
	certFile, keyFile, roots := tlstest.SelfSigned(t)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler:           http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}},
		ReadHeaderTimeout: time.Minute,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(Config{}).TLSListener(ln, srv).(*tlsListener)
	l.slots = make(chan struct{}, 2)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	defer func() {
		srv.Close()
		<-served
	}()

	var stalled []net.Conn
	for range cap(l.slots) {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		stalled = append(stalled, c)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(l.slots) < cap(l.slots) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	done := make(chan error, 1)
	go func() {
		d := &tls.Dialer{Config: &tls.Config{RootCAs: roots}}
		c, err := d.Dial("tcp", ln.Addr().String())
		if err == nil {
			c.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("a handshake past the bound: done (%v)", err)
	case <-time.After(300 * time.Millisecond): // no event can tell that it waits
	}
	stalled[0].Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("handshake once a slot was free: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no handshake once a slot was free")
	}
}
