package httpapi_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/app/apptest"
)

// TestCORS checks simple and preflight requests from allowed and other
// origins, under a list of origins, "*" and none.
func TestCORS(t *testing.T) {
	t.Parallel()
	const (
		allowed = "https://app.example"
		other   = "https://evil.example"
	)
	stream := apptest.Query("/events", "topic", "https://example.com/cors")
	tests := []struct {
		name      string
		origins   string
		method    string
		path      string
		origin    string
		preflight string // Access-Control-Request-Method, for a preflight
		status    int
		acao      string // wanted Access-Control-Allow-Origin; "" means absent
	}{
		{"listed origin", allowed + ", https://other.example", "GET", "/healthz", allowed, "", 200, allowed},
		{"listed origin on a stream", allowed, "GET", stream, allowed, "", 200, allowed},
		{"listed origin publishing", allowed, "POST", "/publish", allowed, "", 400, allowed},
		{"listed origin preflight", allowed, "OPTIONS", "/publish", allowed, "POST", 204, allowed},
		{"listed origin preflight on a stream", allowed, "OPTIONS", stream, allowed, "GET", 204, allowed},
		{"other origin", allowed, "GET", "/healthz", other, "", 200, ""},
		{"other origin on a stream", allowed, "GET", stream, other, "", 200, ""},
		{"other origin preflight", allowed, "OPTIONS", "/publish", other, "POST", 403, ""},
		{"no origin", allowed, "GET", "/healthz", "", "", 200, ""},
		{"any origin", "*", "GET", "/healthz", other, "", 200, "*"},
		{"any origin preflight", "*", "OPTIONS", "/publish", other, "POST", 204, "*"},
		{"no origins allowed", "", "GET", "/healthz", allowed, "", 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, func(c *app.Config) { c.CORSOrigins = tc.origins })
			req, err := http.NewRequest(tc.method, s.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			if tc.preflight != "" {
				req.Header.Set("Access-Control-Request-Method", tc.preflight)
				req.Header.Set("Access-Control-Request-Headers", "last-event-id, content-type")
			}
			resp, err := s.Client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.Header.Get("Content-Type") != "text/event-stream" {
				_, _ = io.Copy(io.Discard, resp.Body)
			}
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
			h := resp.Header
			if got := h.Get("Access-Control-Allow-Origin"); got != tc.acao {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, tc.acao)
			}
			if tc.acao == "" {
				for _, k := range []string{"Access-Control-Expose-Headers", "Access-Control-Allow-Methods", "Access-Control-Allow-Credentials"} {
					if v := h.Get(k); v != "" {
						t.Errorf("%s = %q for an origin not allowed", k, v)
					}
				}
				return
			}
			if got := h.Get("Access-Control-Expose-Headers"); !strings.Contains(got, "Last-Event-ID") {
				t.Errorf("Access-Control-Expose-Headers = %q, want it to list Last-Event-ID", got)
			}
			if tc.acao != "*" && !strings.Contains(strings.Join(h.Values("Vary"), ","), "Origin") {
				t.Errorf("Vary = %q, want Origin", h.Values("Vary"))
			}
			if tc.preflight == "" {
				return
			}
			methods := h.Get("Access-Control-Allow-Methods")
			for _, m := range []string{"GET", "POST"} {
				if !strings.Contains(methods, m) {
					t.Errorf("Access-Control-Allow-Methods = %q, want %s", methods, m)
				}
			}
			headers := strings.ToLower(h.Get("Access-Control-Allow-Headers"))
			for _, k := range []string{"last-event-id", "content-type", "authorization"} {
				if !strings.Contains(headers, k) {
					t.Errorf("Access-Control-Allow-Headers = %q, want %s", headers, k)
				}
			}
		})
	}
}
