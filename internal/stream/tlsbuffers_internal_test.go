package stream

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/tlstest"
)

// TestTLSReadBuffersFound: this Go's tls.Conn has the read buffers that
// releaseTLSReadBuffers gives back (a Go that renamed them fails here, not
// silently in the benchmarks).
func TestTLSReadBuffersFound(t *testing.T) {
	if !tlsReadBuffers.ok {
		t.Fatal("crypto/tls's read buffers (rawInput, input, hand) not found in tls.Conn")
	}
}

// TestTLSReadBuffersKeepWhatIsUnread: a connection whose record is half
// read keeps its buffers, and the rest of the record reads whole; once all
// is read, they are given back.
func TestTLSReadBuffersKeepWhatIsUnread(t *testing.T) {
	certFile, keyFile, roots := tlstest.SelfSigned(t)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	server := tls.Server(a, &tls.Config{Certificates: []tls.Certificate{cert}})
	client := tls.Client(b, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
	sent := make([]byte, 3000)
	for i := range sent {
		sent[i] = byte(i)
	}
	go func() {
		if client.Handshake() == nil {
			_, _ = client.Write(sent)
		}
	}()
	first := make([]byte, 100)
	if _, err := io.ReadFull(server, first); err != nil {
		t.Fatal(err)
	}
	raw, in, hand := tlsBuffersOf(server)
	if raw.Cap() == 0 || hand.Cap() == 0 {
		t.Fatalf("after the handshake: record buffer %d, handshake buffer %d bytes; want both grown", raw.Cap(), hand.Cap())
	}
	unread, held := in.Len(), raw.Cap()
	releaseTLSReadBuffers(server, 0)
	if unread == 0 || in.Len() != unread || raw.Cap() != held {
		t.Fatalf("released with %d bytes of the record unread (record buffer %d bytes, was %d)", unread, raw.Cap(), held)
	}
	rest := make([]byte, len(sent)-len(first))
	if _, err := io.ReadFull(server, rest); err != nil {
		t.Fatal(err)
	}
	if string(append(first, rest...)) != string(sent) {
		t.Fatal("the record read after a release attempt differs from what was sent")
	}
	releaseTLSReadBuffers(server, 0)
	if raw.Cap() != 0 || hand.Cap() != 0 || in.Len() != 0 {
		t.Fatalf("all read: record buffer %d, handshake buffer %d bytes kept", raw.Cap(), hand.Cap())
	}
}

// TestTLSStreamsReleaseReadBuffers: streams taken over keep no buffer of
// crypto/tls's handshake: over HTTP/1.1 no read or write buffer at all once
// idle; over HTTP/2 a record buffer of tlsKeptRead at most (a read after
// the stream's start keeps one until a heartbeat).
func TestTLSStreamsReleaseReadBuffers(t *testing.T) {
	certFile, keyFile, roots := tlstest.SelfSigned(t)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	h := hub.New(hub.Config{})
	e := New(Config{Heartbeat: time.Hour}) // no write after the start's
	srv := &http.Server{
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}},
		ReadHeaderTimeout: time.Minute,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sub, err := h.Subscribe(r.Context(), hub.SubscribeOptions{Topics: []string{"t"}})
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		e.Serve(w, r, Options{Sub: sub})
	})
	e.TakeOver(srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(e.TLSListener(ln, srv)) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = e.Close(ctx)
		<-served
	}()
	url := "https://" + ln.Addr().String() + "/"

	h1 := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}
	h2 := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}
	for _, rt := range []http.RoundTripper{h1, h2} {
		res, err := (&http.Client{Transport: rt}).Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if _, err := bufio.NewReader(res.Body).ReadString('\n'); err != nil { // the retry line
			t.Fatal(err)
		}
	}
	h1Streams := 0
	deadline := time.Now().Add(5 * time.Second)
	for _, s := range e.taken.list(false) {
		for s.pend.Load() != 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond) // its writer has not finished its write
		}
		if s.tls != nil {
			h1Streams++
			checkReleased(t, "HTTP/1.1", s.tls.conn)
			if cap(s.tls.plain) != 0 || cap(s.tls.sealed) != 0 {
				t.Errorf("idle HTTP/1.1 stream: write buffers of %d and %d bytes kept", cap(s.tls.plain), cap(s.tls.sealed))
			}
		}
	}
	for _, c := range e.taken.listConns(false) {
		for !released(c) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond) // the watcher's read pass may not be over
		}
		if !released(c) {
			t.Error("HTTP/2 connection: crypto/tls's read buffers kept")
		}
	}
	h2Conns := 0
	if PooledStreams { // else net/http serves HTTP/2
		h2Conns = 1
	}
	if n, m := h1Streams, len(e.taken.listConns(false)); n != 1 || m != h2Conns {
		t.Fatalf("%d HTTP/1.1 streams and %d HTTP/2 connections taken over; want 1 and %d", n, m, h2Conns)
	}
}

func released(c *h2Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	raw, _, hand := tlsBuffersOf(c.tc)
	return raw.Cap() <= tlsKeptRead && hand.Cap() == 0
}

func checkReleased(t *testing.T, what string, c *tls.Conn) {
	t.Helper()
	raw, _, hand := tlsBuffersOf(c)
	if raw.Cap() != 0 || hand.Cap() != 0 {
		t.Errorf("%s stream: record buffer %d bytes, handshake buffer %d kept (want 0 and 0)",
			what, raw.Cap(), hand.Cap())
	}
}
