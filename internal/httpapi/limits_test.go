package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/app/apptest"
)

// TestLimits checks that every limit answers its status with a JSON error
// naming the problem, and that the hub keeps serving others at the limit.
func TestLimits(t *testing.T) {
	t.Parallel()
	s := newServer(t, func(c *app.Config) {
		c.Limits = app.LimitConfig{
			MaxConnections: 3, MaxConnectionsPerIP: 2, PublishRate: 1, PublishBurst: 2,
			MaxTopics: 2, MaxTopicLength: 10, MaxEventBytes: 5,
		}
	})
	ctx := context.Background()

	// Topics and event size.
	checks := []struct {
		name   string
		status int
		field  string
		do     func() (int, string, error)
	}{
		{"too many topics", 400, "topic", func() (int, string, error) {
			_, err := s.Dial(apptest.Query("/events", "topic", "a", "topic", "b", "topic", "c"), nil)
			return statusOf(err), "", nil
		}},
		{"topic too long", 400, "topic", func() (int, string, error) {
			return s.PublishForm(ctx, "/publish", url.Values{"topic": {strings.Repeat("t", 11)}, "data": {"x"}})
		}},
		{"event too large", 413, "data", func() (int, string, error) {
			return s.PublishForm(ctx, "/publish", url.Values{"topic": {"a"}, "data": {"123456"}})
		}},
	}
	for _, c := range checks {
		status, body, err := c.do()
		if err != nil {
			t.Fatal(err)
		}
		if status != c.status || (body != "" && !strings.Contains(body, `"field":"`+c.field+`"`)) {
			t.Errorf("%s: %d %s, want %d naming %s", c.name, status, body, c.status, c.field)
		}
	}

	// Connections: two per address, then 429.
	for range 2 {
		s.OpenStream(t, apptest.Query("/events", "topic", "a"), nil)
	}
	if _, err := s.Dial(apptest.Query("/events", "topic", "a"), nil); statusOf(err) != http.StatusTooManyRequests {
		t.Fatalf("third stream from one address: %v, want 429", err)
	}
	if got := s.App.Hub().Stats().Subscribers; got != 2 {
		t.Fatalf("%d subscribers after a refused stream", got)
	}
}

// TestPerClientLimitsCountIPv6Networks: behind a trusted proxy, two
// addresses of one IPv6 /64 share the per-client stream limit; another
// /64 is another client.
func TestPerClientLimitsCountIPv6Networks(t *testing.T) {
	t.Parallel()
	s := newServer(t, func(c *app.Config) {
		c.Limits.MaxConnectionsPerIP, c.Limits.TrustedProxies = 1, "127.0.0.1"
	})
	from := func(addr string) http.Header { return http.Header{"X-Forwarded-For": {addr}} }
	path := apptest.Query("/events", "topic", "a")
	s.OpenStream(t, path, from("2001:db8:0:1::1"))
	if _, err := s.Dial(path, from("2001:db8:0:1:8000::2")); statusOf(err) != http.StatusTooManyRequests {
		t.Fatalf("a second stream from the same /64: %v, want 429", err)
	}
	s.OpenStream(t, path, from("2001:db8:0:2::1"))
	s.OpenStream(t, path, from("203.0.113.5"))
}

func TestPublishRateLimit(t *testing.T) {
	t.Parallel()
	s := newServer(t, func(c *app.Config) { c.Limits.PublishRate, c.Limits.PublishBurst = 1, 2 })
	// The burst of 2 passes, the third is refused with Retry-After.
	for i := range 3 {
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/publish", strings.NewReader("topic=r&data=ok"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := s.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := http.StatusOK
		if i == 2 {
			want = http.StatusTooManyRequests
		}
		if resp.StatusCode != want || (i == 2 && resp.Header.Get("Retry-After") == "") {
			t.Fatalf("publish %d: %d (Retry-After %q), want %d", i, resp.StatusCode, resp.Header.Get("Retry-After"), want)
		}
	}
}

func TestTotalConnectionLimit(t *testing.T) {
	t.Parallel()
	s := newServer(t, func(c *app.Config) { c.Limits.MaxConnections, c.Limits.MaxConnectionsPerIP = 2, 0 })
	s.OpenStream(t, apptest.Query("/events", "topic", "a"), nil)
	s.OpenStream(t, "/gbi/sse/search", nil)
	if _, err := s.Dial(apptest.Query("/.well-known/mercure", "topic", "a"), nil); statusOf(err) != http.StatusServiceUnavailable {
		t.Fatalf("stream past the total: %v, want 503", err)
	}
	if status, _, err := s.PublishForm(context.Background(), "/publish", url.Values{"topic": {"a"}, "data": {"still"}}); err != nil || status != http.StatusOK {
		t.Fatalf("publish at the connection limit: %d %v", status, err)
	}
}

// statusOf extracts the status from a dial error ("status N: body").
func statusOf(err error) int {
	if err == nil {
		return http.StatusOK
	}
	msg := err.Error()
	i := strings.Index(msg, "status ")
	if i < 0 {
		return 0
	}
	var n int
	for _, c := range msg[i+len("status "):] {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}
