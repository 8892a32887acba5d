package e2e

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app"
)

// TestNginxTrustedProxy runs deploy/nginx.conf in front of a hub that
// allows one stream per client. Two clients dialling nginx from different
// loopback addresses each get their stream when nginx is a trusted proxy
// (the hub reads them from nginx's X-Forwarded-For); a client sending a
// forged X-Forwarded-For still counts as itself; without -trusted-proxies
// every client is nginx, and the second stream is refused.
func TestNginxTrustedProxy(t *testing.T) {
	statuses := func(trusted string) []int {
		p := proxied(t, func(c *app.Config) {
			c.Limits.MaxConnectionsPerIP, c.Limits.TrustedProxies = 1, trusted
		})
		u := p.nginx.url("/.well-known/mercure?topic=p")
		var got []int
		for _, from := range []struct{ source, forged string }{
			{"127.0.0.2", ""}, {"127.0.0.3", ""}, {"127.0.0.2", "198.51.100.9"},
		} {
			got = append(got, subscribeFrom(t, u, from.source, from.forged))
		}
		return got
	}
	if got := statuses("127.0.0.1"); got[0] != 200 || got[1] != 200 || got[2] != 429 {
		t.Errorf("nginx trusted: statuses %v, want 200 200 429 (one stream per client, a forged header ignored)", got)
	}
	if got := statuses(""); got[0] != 200 || got[1] != 429 {
		t.Errorf("nginx not trusted: statuses %v, want 200 429 (every client is nginx)", got)
	}
}

// subscribeFrom opens a stream to u from the local address source, with
// an X-Forwarded-For of its own when forged is set, and answers the status;
// a stream that opened stays open until the test ends.
func subscribeFrom(t *testing.T, u, source, forged string) int {
	t.Helper()
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}}
	c := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if forged != "" {
		req.Header.Set("X-Forwarded-For", forged)
	}
	resp, err := c.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("subscribe from %s: %v", source, err)
	}
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	return resp.StatusCode
}
