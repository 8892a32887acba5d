package httpapi

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientAddr is the address of the client behind a request: the peer of
// its connection, unless that peer is one of the trusted proxies. Then it
// is the right-most address of X-Forwarded-For that is not itself a
// trusted proxy (every proxy appends the address it was reached from, so
// entries left of it are whatever the client claimed), or X-Real-IP when
// there is no X-Forwarded-For. A header that cannot be parsed is not
// followed: the peer counts as the client. Without trusted proxies no
// header is looked at.
func (a *API) clientAddr(r *http.Request) netip.Addr {
	peer := remoteAddr(r.RemoteAddr)
	if !a.trusted(peer) {
		return peer
	}
	hops := forwardedFor(r.Header)
	if len(hops) == 0 {
		if realIP := strings.TrimSpace(r.Header.Get("X-Real-IP")); realIP != "" {
			hops = []string{realIP}
		}
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		addr, ok := parseHop(hops[i])
		if !ok {
			return peer
		}
		client = addr
		if !a.trusted(addr) {
			break
		}
	}
	return client
}

// clientIP is clientAddr as a string, for the logs.
func (a *API) clientIP(r *http.Request) string {
	if addr := a.clientAddr(r); addr.IsValid() {
		return addr.String()
	}
	return r.RemoteAddr
}

// limitPrefix6 is the IPv6 network the per-client limits count as one
// client: a home line or a host is given at least a /64 and may draw its
// addresses from all of it, so limits per address would not hold it.
const limitPrefix6 = 64

// clientKey is the key of the per-client limits: the client's IPv4
// address, or the /64 network of its IPv6 address.
func (a *API) clientKey(r *http.Request) string {
	addr := a.clientAddr(r)
	switch {
	case !addr.IsValid():
		return r.RemoteAddr
	case addr.Is6():
		p, _ := addr.Prefix(limitPrefix6)
		return p.String()
	}
	return addr.String()
}

// trusted reports whether addr is one of the trusted proxies.
func (a *API) trusted(addr netip.Addr) bool {
	for _, p := range a.cfg.TrustedProxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// remoteAddr parses a request's RemoteAddr; the zero Addr if it cannot.
func remoteAddr(s string) netip.Addr {
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		host = s
	}
	addr, _ := netip.ParseAddr(host)
	return addr.Unmap()
}

// forwardedFor returns the entries of every X-Forwarded-For header, in
// order.
func forwardedFor(h http.Header) []string {
	var hops []string
	for _, v := range h.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	return hops
}

// parseHop parses one X-Forwarded-For entry: an address, perhaps with a
// port, an IPv6 one perhaps in brackets.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	addr, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"))
	return addr.Unmap(), err == nil
}
