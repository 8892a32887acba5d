package jwks

import (
	"net/http"
	"testing"
	"time"
)

// TestTTL: the cache headers decide, within MinTTL and MaxTTL.
func TestTTL(t *testing.T) {
	t.Parallel()
	s := &Set{cfg: Config{URL: "x"}}
	s.cfg.defaults()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		cc, expires string
		want        time.Duration
	}{
		{"", "", 5 * time.Minute},
		{"public, max-age=600", "", 10 * time.Minute},
		{"max-age=5", "", time.Minute},         // below MinTTL
		{"max-age=999999", "", 24 * time.Hour}, // above MaxTTL
		{"no-store", "", time.Minute},          // 0, then MinTTL
		{"", "Thu, 01 Jan 2026 00:30:00 GMT", 30 * time.Minute},
		{"max-age=120", "Thu, 01 Jan 2026 00:30:00 GMT", 2 * time.Minute},
		{"max-age=abc", "", 5 * time.Minute},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.cc != "" {
			h.Set("Cache-Control", tt.cc)
		}
		if tt.expires != "" {
			h.Set("Expires", tt.expires)
		}
		if got := s.ttl(h, now); got != tt.want {
			t.Errorf("Cache-Control %q Expires %q: %v, want %v", tt.cc, tt.expires, got, tt.want)
		}
	}
}
