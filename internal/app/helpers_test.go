package app_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/sse"
)

// TestMain fails the package if any test leaves a goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// served is an app run by App.Serve on a 127.0.0.1 listener.
type served struct {
	app    *app.App
	url    string
	client *http.Client
	cancel context.CancelFunc
	errc   chan error // Serve's result
}

// serve starts cfg's app with Serve. Cleanup stops it if the test did not.
func serve(t *testing.T, cfg app.Config, scheme string, tr *http.Transport) *served {
	t.Helper()
	a, err := app.New(cfg, discard())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{app: a, url: scheme + "://" + ln.Addr().String(), client: &http.Client{Transport: tr}, cancel: cancel, errc: make(chan error, 1)}
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

// stop cancels Serve's context and waits, up to limit, for its result.
func (s *served) stop(t *testing.T, limit time.Duration) error {
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

// waitSubscribers polls the hub until it has n subscriptions.
func waitSubscribers(t *testing.T, a *app.App, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for a.Hub().Stats().Subscribers != n {
		if time.Now().After(deadline) {
			t.Fatalf("hub has %d subscribers, want %d", a.Hub().Stats().Subscribers, n)
		}
		<-tick.C
	}
}

// open GETs a stream and returns the response and a parser over it.
func (s *served) open(t *testing.T, path string) (*http.Response, *sse.Parser) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+path, nil)
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d", path, resp.StatusCode)
	}
	return resp, sse.NewParser(resp.Body)
}

// publish posts one update and returns its id.
func (s *served) publish(t *testing.T, topic, data string) string {
	t.Helper()
	form := url.Values{"topic": {topic}, "data": {data}}
	resp, err := s.client.Post(s.url+"/.well-known/mercure", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
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

// expectData reads the next event and checks its data.
func expectData(t *testing.T, p *sse.Parser, data string) {
	t.Helper()
	ev, err := p.Next()
	if err != nil {
		t.Fatalf("waiting for %q: %v", data, err)
	}
	if ev.Data != data {
		t.Fatalf("got data %q, want %q", ev.Data, data)
	}
}

// testConfig is DefaultConfig listening on 127.0.0.1 with a short
// shutdown timeout.
func testConfig(t *testing.T) app.Config {
	cfg := app.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.Addr = "127.0.0.1:0"
	cfg.ShutdownTimeout = 2 * time.Second
	return cfg
}
