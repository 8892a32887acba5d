package loadtest

import (
	"context"
	"errors"
	"net"
	"testing"
)

func TestCheckLoopbackURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url  string
		ok   bool
		loop bool // refused for not being loopback (rather than malformed)
	}{
		{"http://127.0.0.1:8080/.well-known/mercure", true, false},
		{"http://127.0.0.1/.well-known/mercure", true, false},
		{"http://127.1.2.3:9/", true, false},
		{"https://127.0.0.1:8443/.well-known/mercure", true, false},
		{"http://[::1]:8080/.well-known/mercure", true, false},
		{"http://[::ffff:127.0.0.1]:8080/", true, false},
		{"http://localhost:3000/.well-known/mercure", true, false},
		{"http://LOCALHOST./x", true, false},
		{"http://10.0.0.1:8080/", false, true},
		{"http://128.0.0.1/", false, true},
		{"http://0.0.0.0:8080/", false, true},
		{"http://[::]:8080/", false, true},
		{"http://[fe80::1%25lo]:8080/", false, true},
		{"http://[::ffff:10.0.0.1]/", false, true},
		{"http://example.com/", false, true},
		{"http://localhost.example.com/", false, true},
		{"http://127.0.0.1.nip.io/", false, true},
		{"http://2130706433/", false, true}, // 127.0.0.1 as a number: a name to the resolver, refused
		{"ftp://127.0.0.1/", false, false},
		{"127.0.0.1:8080", false, false},
		{"http://%zz/", false, false},
	}
	for _, tt := range tests {
		err := checkLoopbackURL(tt.url)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok=%v", tt.url, err, tt.ok)
		}
		if got := errors.Is(err, ErrNotLoopback); got != tt.loop {
			t.Errorf("%s: errors.Is(err, ErrNotLoopback) = %v, want %v (%v)", tt.url, got, tt.loop, err)
		}
	}
}

func TestResolveTarget(t *testing.T) {
	t.Parallel()
	tests := []struct{ url, addr string }{
		{"http://127.0.0.1:8080/.well-known/mercure", "127.0.0.1:8080"},
		{"http://127.0.0.1/.well-known/mercure", "127.0.0.1:80"},
		{"https://127.0.0.1/.well-known/mercure", "127.0.0.1:443"},
		{"http://[::1]:9/", "[::1]:9"},
		{"http://[::ffff:127.0.0.5]:9/", "127.0.0.5:9"},
	}
	for _, tt := range tests {
		tg, err := resolveTarget(context.Background(), tt.url)
		if err != nil || tg.addr.String() != tt.addr {
			t.Errorf("%s: %v, %v; want %s", tt.url, tg.addr, err, tt.addr)
		}
	}
	tg, err := resolveTarget(context.Background(), "http://localhost:8080/")
	if err != nil || !tg.addr.Addr().IsLoopback() || tg.addr.Port() != 8080 {
		t.Errorf("localhost: %v, %v; want a loopback address, port 8080", tg.addr, err)
	}
	if _, err := resolveTarget(context.Background(), "http://192.168.1.1/"); !errors.Is(err, ErrNotLoopback) {
		t.Errorf("192.168.1.1: err = %v, want ErrNotLoopback", err)
	}
}

func TestSourceAddr(t *testing.T) {
	t.Parallel()
	if a := sourceAddr(5, 0); a != nil {
		t.Errorf("sourceAddr(5, 0) = %v, want nil", a)
	}
	for i, want := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.2"} {
		if a := sourceAddr(i, 3); !a.IP.Equal(net.ParseIP(want)) || a.Port != 0 {
			t.Errorf("sourceAddr(%d, 3) = %v, want %s:0", i, a, want)
		}
	}
	if a := sourceAddr(253, 254); !a.IP.Equal(net.ParseIP("127.0.0.255")) {
		t.Errorf("sourceAddr(253, 254) = %v, want 127.0.0.255", a)
	}
}
