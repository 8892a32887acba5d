package jwks

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// fetch GETs the JWK Set and returns its keys and how long to keep them.
func (s *Set) fetch(ctx context.Context) (map[string]key, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.cfg.URL, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("JWKS URL: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("GET %s: %w", s.cfg.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("GET %s: %w %s", s.cfg.URL, errStatus, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, s.cfg.MaxBytes+1))
	if err != nil {
		return nil, 0, fmt.Errorf("GET %s: read the body: %w", s.cfg.URL, err)
	}
	if int64(len(b)) > s.cfg.MaxBytes {
		return nil, 0, fmt.Errorf("GET %s: the JWK Set is over %d bytes", s.cfg.URL, s.cfg.MaxBytes)
	}
	keys, err := parseSet(b)
	if err != nil {
		return nil, 0, fmt.Errorf("GET %s: %w", s.cfg.URL, err)
	}
	return keys, s.ttl(resp.Header, time.Now()), nil
}

// ttl is how long the answer's headers say to keep it (Cache-Control
// max-age, else Expires), within MinTTL and MaxTTL; DefaultTTL when they
// say nothing.
func (s *Set) ttl(h http.Header, now time.Time) time.Duration {
	d := s.cfg.DefaultTTL
	if age, ok := maxAge(h.Get("Cache-Control")); ok {
		d = age
	} else if exp, err := http.ParseTime(h.Get("Expires")); err == nil {
		d = exp.Sub(now)
	}
	return min(max(d, s.cfg.MinTTL), s.cfg.MaxTTL)
}

// maxAge reads the max-age directive of Cache-Control; no-store and
// no-cache count as 0.
func maxAge(cc string) (time.Duration, bool) {
	for _, dir := range strings.Split(cc, ",") {
		name, val, _ := strings.Cut(strings.TrimSpace(dir), "=")
		switch strings.ToLower(name) {
		case "no-store", "no-cache":
			return 0, true
		case "max-age":
			n, err := strconv.ParseInt(strings.Trim(val, `"`), 10, 64)
			if err == nil && n >= 0 {
				return time.Duration(min(n, 1<<31)) * time.Second, true
			}
		}
	}
	return 0, false
}
