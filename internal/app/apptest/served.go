package apptest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/sse"
)

// Served is an app run by App.Serve on a 127.0.0.1 listener.
type Served struct {
	App    *app.App
	URL    string
	Client *http.Client
	cancel context.CancelFunc
	errc   chan error // Serve's result
}

// Serve starts cfg's app with Serve. Cleanup stops it if the test did not.
func Serve(t *testing.T, cfg app.Config, scheme string, tr *http.Transport) *Served {
	t.Helper()
	a, err := app.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Served{App: a, URL: scheme + "://" + ln.Addr().String(), Client: &http.Client{Transport: tr}, cancel: cancel, errc: make(chan error, 1)}
	go func() { s.errc <- a.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.errc:
		case <-time.After(cfg.ShutdownTimeout + 5*time.Second):
			t.Error("Serve did not return")
		}
		tr.CloseIdleConnections()
	})
	return s
}

// Stop cancels Serve's context and waits, up to limit, for its result.
func (s *Served) Stop(t *testing.T, limit time.Duration) error {
	t.Helper()
	s.cancel()
	select {
	case err := <-s.errc:
		s.errc <- err // for Cleanup
		return err
	case <-time.After(limit):
		t.Fatalf("Serve did not return within %v of the cancel", limit)
		return nil
	}
}

// WaitHub polls the hub until it has n subscriptions.
func WaitHub(t testing.TB, a *app.App, n int) {
	t.Helper()
	WaitFor(t, fmt.Sprintf("%d subscribers", n), func() bool { return a.Hub().Stats().Subscribers == n })
}

// Open GETs a stream and returns the response and a parser over it.
func (s *Served) Open(t *testing.T, path string) (*http.Response, *sse.Parser) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+path, nil)
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d", path, resp.StatusCode)
	}
	return resp, sse.NewParser(resp.Body)
}

// Publish posts one update and returns its id.
func (s *Served) Publish(t *testing.T, topic, data string) string {
	t.Helper()
	form := url.Values{"topic": {topic}, "data": {data}}
	resp, err := s.Client.Post(s.URL+"/.well-known/mercure", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("publish: status %d, body %q, err %v", resp.StatusCode, b, err)
	}
	return string(b)
}

// ExpectData reads the next event and checks its data.
func ExpectData(t *testing.T, p *sse.Parser, data string) {
	t.Helper()
	ev, err := p.Next()
	if err != nil {
		t.Fatalf("waiting for %q: %v", data, err)
	}
	if ev.Data != data {
		t.Fatalf("got data %q, want %q", ev.Data, data)
	}
}

// TestConfig is DefaultConfig listening on 127.0.0.1 with a short
// shutdown timeout.
func TestConfig(t *testing.T) app.Config {
	cfg := app.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.Addr = "127.0.0.1:0"
	cfg.ShutdownTimeout = 2 * time.Second
	return cfg
}

// HTTP1TLS is a client transport that trusts roots and speaks HTTP/1.1 only.
func HTTP1TLS(roots *x509.CertPool) *http.Transport {
	return &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, MaxIdleConnsPerHost: 64}
}

// Cancel cancels Serve's context, which shuts the app down, without
// waiting for Serve to return.
func (s *Served) Cancel() { s.cancel() }
