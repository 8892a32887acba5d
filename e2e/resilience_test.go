package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ssehub/ssehub/internal/app"
)

// publishJSON publishes an event through POST /publish from Go.
func publishJSON(t *testing.T, base, topic, eventType, message string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"topic": topic, "type": eventType, "data": map[string]string{"message": message}})
	res, err := http.Post(base+"/publish", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("POST /publish = %d: %s", res.StatusCode, b)
	}
}

// TestConsoleReconnectsAfterOutage cuts the console's stream and refuses new
// ones with 503, so that the browser gives up (EventSource CLOSED); the
// console must retry by itself and, once the server is back, show what was
// published during the outage, once.
func TestConsoleReconnectsAfterOutage(t *testing.T) {
	var down atomic.Bool
	srv := startServer(t, serverOptions{
		configure: func(c *app.Config) { c.Retry = 300 }, // the browser's own retry
		wrap: func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if down.Load() && r.URL.Path == "/events" {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusServiceUnavailable)
					_, _ = io.WriteString(w, `{"error":"down for the test"}`)
					return
				}
				h.ServeHTTP(w, r)
			})
		},
	})
	b := newBrowser(t)
	tb := b.tab("console")
	tb.openConsole(srv)
	tb.connect()
	before := unique("before")
	tb.send("message", before)
	tb.waitEvent("message", before)

	down.Store(true)
	srv.CloseClientConnections()
	tb.waitState("reconnecting")
	tb.waitFor("a retry of the console's own", `document.querySelector('#eventLog [data-key="sys.retry"]') !== null`)
	during := unique("during")
	publishJSON(t, srv.URL, "demo", "notification", during)
	down.Store(false)

	tb.waitState("connected")
	tb.waitEvent("notification", during)
	after := unique("after")
	tb.send("alert", after)
	tb.waitEvent("alert", after)
	for _, m := range []string{before, during, after} {
		if lines := tb.eventLines(m); len(lines) != 1 {
			t.Errorf("%d lines show %q, want 1: %q", len(lines), m, lines)
		}
	}
}

// TestConsolePublishErrors publishes without a connection, then has the
// server refuse a publish: the refusal shows in the log as an error line.
func TestConsolePublishErrors(t *testing.T) {
	srv := startServer(t, serverOptions{configure: func(c *app.Config) { c.MaxBodyBytes = 512 }})
	b := newBrowser(t)
	tb := b.tab("console")
	tb.openConsole(srv)
	tb.send("update", unique("offline"))
	tb.waitFor("the published line", `document.querySelector('#eventLog [data-key="sys.published"]') !== null`)
	if got := eval[string](tb, `document.getElementById('status').dataset.state`); got != "disconnected" {
		t.Errorf("status = %q, want disconnected", got)
	}
	tb.send("message", strings.Repeat("长", 400))
	tb.waitFor("the error line", `[...document.querySelectorAll('#eventLog .event-item[data-type="error"]')]
		.some((e) => /发布失败：\S/.test(e.textContent))`)
}
