package app_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/app/apptest"
	"github.com/ssehub/ssehub/internal/tlstest"
)

// TestGracefulShutdown cancels Serve with streams open: each stream must end
// cleanly and Serve return nil well within the shutdown timeout.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	cfg := apptest.TestConfig(t)
	s := serve(t, cfg, "http", &http.Transport{})
	const topic = "https://example.com/shutdown"
	paths := []string{"/.well-known/mercure?topic=" + topic, "/events?topic=*", "/gbi/sse/search"}
	var streams []*bufio.Reader
	for _, p := range paths {
		resp, _ := s.Open(t, p)
		streams = append(streams, bufio.NewReader(resp.Body))
	}
	apptest.WaitHub(t, s.App, len(paths))
	s.Publish(t, topic, "before")

	start := time.Now()
	s.Cancel()
	for i, r := range streams {
		// The whole stream must arrive and end with a clean EOF (for
		// HTTP/1.1, the terminating chunk), not a reset or a timeout.
		if _, err := io.Copy(io.Discard, r); err != nil {
			t.Errorf("stream %s ended with %v, want a clean end", paths[i], err)
		}
	}
	if err := s.Stop(t, cfg.ShutdownTimeout+time.Second); err != nil {
		t.Errorf("Serve returned %v, want nil", err)
	}
	if d := time.Since(start); d > cfg.ShutdownTimeout {
		t.Errorf("shutdown took %v, longer than the %v timeout", d, cfg.ShutdownTimeout)
	}
	if resp, err := s.Client.Get(s.URL + "/healthz"); err == nil {
		resp.Body.Close()
		t.Error("server still answers after Serve returned")
	}
}

// TestStreamOutlivesServerTimeouts serves with a ReadTimeout or a
// WriteTimeout far shorter than a stream's life, over HTTP/1.1 and HTTP/2:
// streams clear the read deadline and set their own write deadlines, so the
// stream must stay open and keep delivering.
func TestStreamOutlivesServerTimeouts(t *testing.T) {
	t.Parallel()
	const short = 200 * time.Millisecond
	certFile, keyFile, roots := tlstest.SelfSigned(t)
	tests := []struct {
		name  string
		tls   bool
		set   func(*http.Server)
		proto int
	}{
		{"HTTP/1.1 read timeout", false, func(s *http.Server) { s.ReadTimeout = short }, 1},
		{"HTTP/1.1 write timeout", false, func(s *http.Server) { s.WriteTimeout = short }, 1},
		{"HTTP/2 read timeout", true, func(s *http.Server) { s.ReadTimeout = short }, 2},
		{"HTTP/2 write timeout", true, func(s *http.Server) { s.WriteTimeout = short }, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := apptest.TestConfig(t)
			cfg.Heartbeat = 50 * time.Millisecond
			a, err := app.New(cfg, discard())
			if err != nil {
				t.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			srv := a.Server()
			tc.set(srv)
			serveErr := make(chan error, 1)
			tr, scheme := &http.Transport{}, "http"
			if tc.tls {
				tr, scheme = h2Transport(roots), "https"
				go func() { serveErr <- srv.ServeTLS(ln, certFile, keyFile) }()
			} else {
				go func() { serveErr <- srv.Serve(ln) }()
			}
			s := &served{&apptest.Served{App: a, URL: scheme + "://" + ln.Addr().String(), Client: &http.Client{Transport: tr}}}
			defer func() {
				_ = a.Close(context.Background())
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if err := srv.Shutdown(ctx); err != nil {
					t.Errorf("Shutdown: %v", err)
				}
				if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
					t.Errorf("Serve: %v", err)
				}
				tr.CloseIdleConnections()
			}()

			const topic = "https://example.com/long"
			resp, _ := s.Open(t, "/events?topic="+topic)
			if resp.ProtoMajor != tc.proto {
				t.Fatalf("protocol %s, want major version %d", resp.Proto, tc.proto)
			}
			r := bufio.NewReader(resp.Body)
			opened := time.Now()
			// Heartbeats mark the time passing on the stream itself.
			for time.Since(opened) < 4*short {
				if _, err := r.ReadString('\n'); err != nil {
					t.Fatalf("stream ended %v after opening, with the server's timeout %v: %v", time.Since(opened), short, err)
				}
			}
			s.Publish(t, topic, "still here")
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					t.Fatalf("stream ended before the update arrived: %v", err)
				}
				if line == "data: still here\n" {
					break
				}
			}
		})
	}
}

// TestShutdownClosesStalledStreams stops a server while a subscriber that
// never reads has its stream's handler blocked in a write. Once the shutdown
// timeout has passed, Serve must not leave that connection and its handler
// goroutine behind: it should close what is still open before returning.
func TestShutdownClosesStalledStreams(t *testing.T) {
	ignore := goleak.IgnoreCurrent() // not parallel: counts goroutines
	cfg := apptest.TestConfig(t)
	cfg.ShutdownTimeout = 300 * time.Millisecond
	tr := &http.Transport{}
	s := serve(t, cfg, "http", tr)
	const topic = "https://example.com/stall"

	c, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.(*net.TCPConn).SetReadBuffer(1024)
	fmt.Fprintf(c, "GET /events?topic=%s HTTP/1.1\r\nHost: x\r\n\r\n", topic)
	apptest.WaitHub(t, s.App, 1)
	// Far more than the socket buffers hold, far less than the queue bound.
	pad := strings.Repeat("x", 64<<10)
	for range 200 {
		s.Publish(t, topic, pad)
	}
	tr.CloseIdleConnections()

	err = s.Stop(t, cfg.ShutdownTimeout+2*time.Second)
	t.Logf("Serve returned %v", err)
	if err := goleak.Find(ignore); err != nil {
		msg := err.Error()
		if len(msg) > 2000 {
			msg = msg[:2000] + "…"
		}
		t.Errorf("goroutines left after Serve returned (a stream handler blocked in a write):\n%s", msg)
	}
}

// TestMainWiring runs Main, the binary's whole wiring, with settings that
// work, fail to parse, or fail to load.
func TestMainWiring(t *testing.T) {
	t.Parallel()
	certFile, _, _ := tlstest.SelfSigned(t)
	dir := t.TempDir()
	quiet := []string{"-addr", "127.0.0.1:0", "-log-level", "error", "-data-dir", dir}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		mention string // "" means Main must return nil
	}{
		{"serves until cancelled", quiet, nil, ""},
		{"bad environment", quiet, map[string]string{"SSEHUB_QUEUE_SIZE": "many"}, "SSEHUB_QUEUE_SIZE"},
		{"TLS key missing", append([]string{"-tls-cert", certFile, "-tls-key", certFile + ".missing"}, quiet...), nil, "TLS"},
		{"bad address", []string{"-addr", "256.0.0.1:0", "-log-level", "error", "-data-dir", dir}, nil, "listen"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // Main serves until ctx ends: return at once
			done := make(chan error, 1)
			go func() { done <- app.Main(ctx, tc.args, env(tc.env), nil) }()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Main did not return")
			}
			switch {
			case tc.mention == "" && err != nil:
				t.Errorf("Main: %v", err)
			case tc.mention != "" && (err == nil || !strings.Contains(err.Error(), tc.mention)):
				t.Errorf("Main: %v, want an error mentioning %q", err, tc.mention)
			}
		})
	}
}
