package stream_test

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/app/apptest"
)

// TestHeartbeat checks that a stream opens with the configured retry and
// that an idle stream carries heartbeat comments.
func TestHeartbeat(t *testing.T) {
	t.Parallel()
	s := apptest.NewServer(t, func(c *app.Config) {
		c.Heartbeat = 50 * time.Millisecond
		c.Retry = 1234
	})
	st := s.OpenStream(t, apptest.Query("/.well-known/mercure", "topic", "https://example.com/quiet"), nil)
	r := bufio.NewReader(st.Resp.Body)
	var lines []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("after lines %q: %v", lines, err)
		}
		lines = append(lines, line)
		if strings.HasPrefix(line, ":") {
			break
		}
		if len(lines) > 10 {
			t.Fatalf("no comment in the first lines %q", lines)
		}
	}
	if len(lines) < 2 || lines[0] != "retry: 1234\n" || lines[1] != "\n" {
		t.Errorf("stream opens with %q, want \"retry: 1234\\n\\n\"", lines)
	}
	// The heartbeat keeps coming, and an event still parses after it.
	second, err := r.ReadString('\n')
	if err == nil {
		second, err = r.ReadString('\n')
	}
	if err != nil || !strings.HasPrefix(second, ":") {
		t.Errorf("second heartbeat: %q, %v", second, err)
	}
}

// TestStreamHeaders checks the headers of every kind of stream, with and
// without a resume point.
func TestStreamHeaders(t *testing.T) {
	t.Parallel()
	s := apptest.NewServer(t, nil)
	s.Publish(t, "https://example.com/h", "one")
	tests := []struct {
		name   string
		path   string
		hdr    http.Header
		lastID string // wanted Last-Event-ID; "" means any non-empty value
	}{
		{"mercure", apptest.Query("/.well-known/mercure", "topic", "https://example.com/h"), nil, ""},
		{"mercure resuming", apptest.Query("/.well-known/mercure", "topic", "https://example.com/h"), apptest.Header("Last-Event-ID", "unknown"), "earliest"},
		{"mercure query resume", apptest.Query("/.well-known/mercure", "topic", "https://example.com/h", "lastEventID", "earliest"), nil, "earliest"},
		{"events", apptest.Query("/events", "topic", "*"), nil, ""},
		{"seed", "/gbi/sse/search", nil, ""},
		{"seed resuming", "/gbi/sse/search", apptest.Header("Last-Event-ID", "41"), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := s.OpenStream(t, tc.path, tc.hdr)
			defer st.Close()
			h := st.Resp.Header
			for k, want := range map[string]string{
				"Content-Type":      "text/event-stream",
				"Cache-Control":     "no-cache",
				"X-Accel-Buffering": "no",
			} {
				if got := h.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			got, ok := h["Last-Event-Id"]
			switch {
			case !ok || len(got) != 1 || got[0] == "":
				t.Errorf("Last-Event-ID header = %q, want one non-empty value", got)
			case tc.lastID != "" && got[0] != tc.lastID:
				t.Errorf("Last-Event-ID = %q, want %q", got[0], tc.lastID)
			}
		})
	}
}

// TestHeadStream checks that HEAD on a stream endpoint answers (with the
// stream's headers, or 405) and lets the connection be reused. A HEAD response has no body, so a client returns the
// connection to its pool as soon as the headers arrive; if the server keeps
// streaming (into nothing) the next request on that connection hangs.
func TestHeadStream(t *testing.T) {
	t.Parallel()
	s := apptest.NewServer(t, nil)
	tr := &http.Transport{MaxConnsPerHost: 1}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: time.Second}
	for _, path := range []string{apptest.Query("/events", "topic", "a"), apptest.Query("/.well-known/mercure", "topic", "a"), "/gbi/sse/search"} {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodHead, s.URL+path, nil)
		resp, err := client.Do(req)
		if err != nil {
			cancel()
			t.Fatalf("HEAD %s: %v", path, err)
		}
		resp.Body.Close()
		ok := resp.StatusCode == http.StatusMethodNotAllowed ||
			resp.StatusCode == http.StatusOK && resp.Header.Get("Content-Type") == "text/event-stream"
		if !ok {
			t.Errorf("HEAD %s: %d %q, want a stream's headers or 405", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		next, err := client.Get(s.URL + "/healthz")
		cancel()
		if err != nil {
			t.Errorf("GET /healthz on the connection after HEAD %s: %v", path, err)
			tr.CloseIdleConnections()
			continue
		}
		next.Body.Close()
	}
}
