package httpapi_test

import (
	"strings"
	"testing"

	"github.com/ssehub/ssehub/internal/app"
)

// TestDiscoveryLink checks draft-08's discovery: the answers of the
// console, the API and the streams carry Link: <hub URL>; rel="mercure",
// the hub URL being -hub-url or, unset, derived from the request (a
// trusted proxy's X-Forwarded-Proto included); cross-origin clients may
// read it.
func TestDiscoveryLink(t *testing.T) {
	t.Parallel()
	derived := newServer(t, func(c *app.Config) { c.Limits.TrustedProxies = "127.0.0.1/32" })
	pinned := newServer(t, func(c *app.Config) { c.HubURL = "https://hub.example.com/.well-known/mercure" })
	for _, tt := range []struct {
		name         string
		s            *server
		method, path string
		ctype, body  string
		hdr          []string
		want         string
	}{
		{"console", derived, "GET", "/", "", "", nil, "<" + derived.URL + `/.well-known/mercure>; rel="mercure"`},
		{"health", derived, "GET", "/healthz", "", "", nil, "<" + derived.URL + `/.well-known/mercure>; rel="mercure"`},
		{"publish", derived, "POST", "/.well-known/mercure", formType, "topic=a&data=x", nil, "<" + derived.URL + `/.well-known/mercure>; rel="mercure"`},
		{"stream", derived, "GET", "/.well-known/mercure?match=a", "", "", nil, "<" + derived.URL + `/.well-known/mercure>; rel="mercure"`},
		{"error", derived, "GET", "/nothing", "", "", nil, "<" + derived.URL + `/.well-known/mercure>; rel="mercure"`},
		{"behind a TLS proxy", derived, "GET", "/healthz", "", "", []string{"X-Forwarded-Proto", "https"}, "<https://" + strings.TrimPrefix(derived.URL, "http://") + `/.well-known/mercure>; rel="mercure"`},
		{"pinned console", pinned, "GET", "/", "", "", nil, `<https://hub.example.com/.well-known/mercure>; rel="mercure"`},
		{"pinned stream", pinned, "GET", "/events?topic=a", "", "", nil, `<https://hub.example.com/.well-known/mercure>; rel="mercure"`},
	} {
		ans := tt.s.do(t, tt.method, tt.path, tt.ctype, tt.body, tt.hdr...)
		if got := ans.header.Get("Link"); got != tt.want {
			t.Errorf("%s: %s %s: Link %q, want %q", tt.name, tt.method, tt.path, got, tt.want)
		}
	}
	untrusted := newServer(t, nil)
	ans := untrusted.do(t, "GET", "/healthz", "", "", "X-Forwarded-Proto", "https", "Origin", "https://app.example")
	if got, want := ans.header.Get("Link"), "<"+untrusted.URL+`/.well-known/mercure>; rel="mercure"`; got != want {
		t.Errorf("X-Forwarded-Proto from an untrusted peer was followed: Link %q, want %q", got, want)
	}
	if got := ans.header.Get("Access-Control-Expose-Headers"); got != "Last-Event-ID, Link" {
		t.Errorf("Access-Control-Expose-Headers %q: cross-origin clients cannot read the Link header", got)
	}
}
