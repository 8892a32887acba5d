package app_test

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/app/apptest"
	"github.com/ssehub/ssehub/internal/auth/authtest"
	"github.com/ssehub/ssehub/internal/redis/redistest"
	"github.com/ssehub/ssehub/internal/sse"
	"github.com/ssehub/ssehub/internal/tlstest"
)

// TestShutdownSpreadsReconnections: streams ending with a graceful shutdown
// tell their clients a reconnection time of their own, -retry plus a
// random part of -reconnect-spread, over HTTP/1.1, plain or over TLS
// (streams taken over), and HTTP/2 (net/http's) alike; with a spread of 0
// they keep -retry.
func TestShutdownSpreadsReconnections(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		spread  time.Duration
		streams int
		tls     bool
		h2      bool
	}{
		{"http1", 4 * time.Second, 20, false, false},
		{"http2", 4 * time.Second, 8, true, true},
		{"http1 over TLS", 4 * time.Second, 8, true, false},
		{"no spread", 0, 5, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg := apptest.TestConfig(t)
			cfg.Retry, cfg.ReconnectSpread = 1000, c.spread
			scheme, tr := "http", &http.Transport{}
			if c.tls {
				var roots *x509.CertPool
				cfg.TLSCert, cfg.TLSKey, roots = tlstest.SelfSigned(t)
				scheme, tr = "https", apptest.HTTP1TLS(roots)
				if c.h2 {
					tr = h2Transport(roots)
				}
			}
			s := serve(t, cfg, scheme, tr)
			var parsers []*sse.Parser
			for i := range c.streams {
				resp, p := s.Open(t, fmt.Sprintf("/events?topic=t%d", i))
				if want := map[bool]int{true: 2, false: 1}[c.h2]; resp.ProtoMajor != want {
					t.Fatalf("stream over %s, want HTTP/%d", resp.Proto, want)
				}
				parsers = append(parsers, p)
			}
			apptest.WaitHub(t, s.App, c.streams)
			if err := s.Stop(t, cfg.ShutdownTimeout+time.Second); err != nil {
				t.Fatalf("Serve: %v", err)
			}
			retries := map[int]int{}
			for i, p := range parsers {
				if _, err := p.Next(); !errors.Is(err, io.EOF) {
					t.Fatalf("stream %d ended with %v, want a clean end", i, err)
				}
				retries[p.Retry()]++
			}
			for r := range retries {
				if r < 1000 || r > 1000+int(c.spread.Milliseconds()) {
					t.Errorf("retry %d ms, want 1000 to %d", r, 1000+c.spread.Milliseconds())
				}
			}
			if c.spread == 0 && retries[1000] != c.streams {
				t.Errorf("retries %v, want %d × 1000", retries, c.streams)
			}
			if c.spread > 0 && len(retries) < c.streams/2 {
				t.Errorf("retries %v: %d streams told %d times, want them spread", retries, c.streams, len(retries))
			}
		})
	}
}

// TestRebaseSpreadsReconnections: when Redis loses its data every node
// ends its streams to have their clients resume from the new history; the
// streams end cleanly, each with a reconnection time of its own, as at a
// shutdown (every node of the cluster does it in the same instant).
func TestRebaseSpreadsReconnections(t *testing.T) {
	srv := redistest.Start(t)
	keys := authtest.NewKeys(t)
	configure := func() app.Config {
		cfg := clusterConfig(t, srv, keys)
		cfg.Retry, cfg.ReconnectSpread = 1000, 4*time.Second
		return cfg
	}
	a := serve(t, configure(), "http", &http.Transport{})
	b := serve(t, configure(), "http", &http.Transport{})
	pub := keys.HS256(t, authtest.Claims([]string{"*"}, nil, time.Now().Add(time.Hour)))
	if status, body, _ := a.post(t, pub, url.Values{"topic": {"t"}, "data": {"old"}}); status != http.StatusOK {
		t.Fatalf("publish: %d %s", status, body)
	}
	const streams = 12
	var parsers []*sse.Parser
	for range streams {
		_, p := b.Open(t, "/.well-known/mercure?topic=t&lastEventID=earliest")
		apptest.ExpectData(t, p, "old")
		parsers = append(parsers, p)
	}
	if _, err := srv.Do("FLUSHALL"); err != nil {
		t.Fatal(err)
	}
	if status, body, _ := a.post(t, pub, url.Values{"topic": {"t"}, "data": {"new"}}); status != http.StatusOK {
		t.Fatalf("publish after the wipe: %d %s", status, body)
	}
	retries := map[int]int{}
	for i, p := range parsers {
		for {
			_, err := p.Next()
			if err == nil {
				continue // "new", if it came before the rebase
			}
			if !errors.Is(err, io.EOF) {
				t.Fatalf("stream %d ended with %v, want a clean end", i, err)
			}
			break
		}
		retries[p.Retry()]++
	}
	for r := range retries {
		if r < 1000 || r > 5000 {
			t.Errorf("retry %d ms, want 1000 to 5000", r)
		}
	}
	if len(retries) < streams/2 {
		t.Errorf("retries %v: %d streams told %d times, want them spread", retries, streams, len(retries))
	}
}
