package loadtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
)

// ErrNotLoopback is returned (wrapped) for a hub URL whose host is not a
// loopback address: the tool only loads hubs on this machine.
var ErrNotLoopback = errors.New("the hub must be on a loopback address (127.0.0.0/8, ::1 or localhost)")

// checkLoopbackURL checks that raw is an http(s) URL whose host is
// "localhost" or a literal loopback address. Other names are refused without
// being looked up.
func checkLoopbackURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("-url %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("-url %q: want an http:// or https:// URL", raw)
	}
	host := u.Hostname()
	if isLocalhost(host) {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.Zone() != "" || !ip.Unmap().IsLoopback() {
		return fmt.Errorf("-url %q: %w", raw, ErrNotLoopback)
	}
	return nil
}

func isLocalhost(host string) bool {
	return strings.EqualFold(strings.TrimSuffix(host, "."), "localhost")
}

// target is the hub under test with the loopback address to dial.
type target struct {
	url  *url.URL
	addr netip.AddrPort // what every connection dials
	tls  bool
	h2   bool // subscribers and publishers speak HTTP/2 (-h2)
}

// resolveTarget checks raw and resolves it to one loopback address:
// "localhost" to its first loopback address, IPv4 first.
func resolveTarget(ctx context.Context, raw string) (target, error) {
	if err := checkLoopbackURL(raw); err != nil {
		return target{}, err
	}
	u, _ := url.Parse(raw)
	t := target{url: u, tls: u.Scheme == "https"}
	port := u.Port()
	if port == "" {
		port = map[bool]string{false: "80", true: "443"}[t.tls]
	}
	pn, err := net.LookupPort("tcp", port)
	if err != nil {
		return t, fmt.Errorf("-url %q: port: %w", raw, err)
	}
	ip, err := loopbackIP(ctx, u.Hostname())
	if err != nil {
		return t, fmt.Errorf("-url %q: %w", raw, err)
	}
	t.addr = netip.AddrPortFrom(ip, uint16(pn))
	return t, nil
}

// loopbackIP returns host's address if it is loopback.
func loopbackIP(ctx context.Context, host string) (netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.Unmap(), nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.Addr{}, err
	}
	var best netip.Addr
	for _, ip := range ips {
		ip = ip.Unmap()
		if ip.IsLoopback() && (!best.IsValid() || (ip.Is4() && !best.Is4())) {
			best = ip
		}
	}
	if !best.IsValid() {
		return best, fmt.Errorf("%s resolves to no loopback address: %w", host, ErrNotLoopback)
	}
	return best, nil
}

// sourceAddr returns the local address subscriber i dials from when
// spreading over n addresses 127.0.0.2…, or nil for the system's choice.
func sourceAddr(i, n int) *net.TCPAddr {
	if n <= 0 {
		return nil
	}
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%n))}
}
