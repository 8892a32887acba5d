package httpapi

import (
	"net/http"
	"testing"
	"time"
)

func TestConnLimiter(t *testing.T) {
	c := &connLimiter{max: 3, perIP: 2}
	steps := []struct {
		ip     string
		ok     bool
		status int
	}{
		{"a", true, 0}, {"a", true, 0}, {"a", false, http.StatusTooManyRequests},
		{"b", true, 0}, {"c", false, http.StatusServiceUnavailable},
	}
	for i, s := range steps {
		if ok, status := c.acquire(s.ip); ok != s.ok || status != s.status {
			t.Fatalf("step %d (%s): %v %d, want %v %d", i, s.ip, ok, status, s.ok, s.status)
		}
	}
	c.release("a")
	if ok, _ := c.acquire("c"); !ok || c.open() != 3 {
		t.Fatalf("after a release: ok %v, open %d", ok, c.open())
	}
	for _, ip := range []string{"a", "b", "c"} {
		c.release(ip)
	}
	if c.open() != 0 || len(c.byIP) != 0 {
		t.Fatalf("leaked places: open %d, by ip %v", c.open(), c.byIP)
	}
}

func TestRateLimiter(t *testing.T) {
	now := time.Unix(0, 0)
	l := newRateLimiter(10, 3)
	l.now = func() time.Time { return now }
	for i := range 3 {
		if ok, _ := l.allow("x"); !ok {
			t.Fatalf("burst publish %d refused", i)
		}
	}
	ok, wait := l.allow("x")
	if ok || wait <= 0 || wait > 100*time.Millisecond {
		t.Fatalf("past the burst: ok %v, retry after %v", ok, wait)
	}
	if ok, _ := l.allow("y"); !ok {
		t.Fatal("another client is limited by x's use")
	}
	now = now.Add(100 * time.Millisecond)
	if ok, _ := l.allow("x"); !ok {
		t.Fatal("a token did not come back after 1/rate")
	}
	l.sweepAt = 2
	now = now.Add(time.Hour)
	l.allow("z")
	if _, kept := l.buckets["y"]; kept {
		t.Fatal("an idle bucket was not swept")
	}
	var unlimited *rateLimiter
	if ok, _ := unlimited.allow("x"); !ok {
		t.Fatal("a nil limiter limits")
	}
}
