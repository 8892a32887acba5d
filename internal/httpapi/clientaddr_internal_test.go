package httpapi

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

// TestClientAddr checks whom a request comes from, with and without
// trusted proxies, through chains of proxies and forged or broken headers.
func TestClientAddr(t *testing.T) {
	t.Parallel()
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("fd00::/8")}
	tests := []struct {
		name, remote string
		xff          []string // X-Forwarded-For headers
		realIP       string
		trust        bool
		want         string
	}{
		{"no proxy trusted: headers ignored", "127.0.0.1:5000", []string{"203.0.113.5"}, "", false, "127.0.0.1"},
		{"untrusted peer: headers ignored", "198.51.100.7:5000", []string{"203.0.113.5"}, "", true, "198.51.100.7"},
		{"trusted peer, one hop", "127.0.0.1:5000", []string{"203.0.113.5"}, "", true, "203.0.113.5"},
		{"forged entry left of the real one", "127.0.0.1:5000", []string{"1.2.3.4, 203.0.113.5"}, "", true, "203.0.113.5"},
		{"chain of trusted proxies", "127.0.0.1:5000", []string{"203.0.113.5, 10.1.2.3", "10.9.9.9"}, "", true, "203.0.113.5"},
		{"every hop a proxy", "127.0.0.1:5000", []string{"10.1.2.3"}, "", true, "10.1.2.3"},
		{"broken entry: the peer", "127.0.0.1:5000", []string{"203.0.113.5, not-an-ip"}, "", true, "127.0.0.1"},
		{"entry with a port", "127.0.0.1:5000", []string{"203.0.113.5:443"}, "", true, "203.0.113.5"},
		{"IPv6 entries", "[fd00::1]:5000", []string{"[2001:db8::7]:80, fd00::2"}, "", true, "2001:db8::7"},
		{"X-Real-IP without X-Forwarded-For", "127.0.0.1:5000", nil, "203.0.113.8", true, "203.0.113.8"},
		{"no header: the proxy", "127.0.0.1:5000", nil, "", true, "127.0.0.1"},
		{"mapped IPv4 peer", "[::ffff:127.0.0.1]:5000", []string{"203.0.113.5"}, "", true, "203.0.113.5"},
	}
	for _, tt := range tests {
		a := &API{}
		if tt.trust {
			a.cfg.TrustedProxies = trusted
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.remote
		for _, v := range tt.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if tt.realIP != "" {
			r.Header.Set("X-Real-IP", tt.realIP)
		}
		if got := a.clientIP(r); got != tt.want {
			t.Errorf("%s: client %s, want %s", tt.name, got, tt.want)
		}
	}
}

// TestClientKey: the per-client limits count an IPv4 address, or the /64
// network of an IPv6 one, as one client.
func TestClientKey(t *testing.T) {
	t.Parallel()
	a := &API{}
	a.cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	for _, tt := range []struct{ client, want string }{
		{"203.0.113.5", "203.0.113.5"},
		{"2001:db8:1:2::7", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"2001:db8:1:3::7", "2001:db8:1:3::/64"},
		{"::ffff:203.0.113.5", "203.0.113.5"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "127.0.0.1:5000"
		r.Header.Set("X-Forwarded-For", tt.client)
		if got := a.clientKey(r); got != tt.want {
			t.Errorf("client %s: key %s, want %s", tt.client, got, tt.want)
		}
	}
}
