// Package jwks keeps the signing keys of an issuer of access tokens,
// fetched from its JWK Set URL (RFC 7517) on net/http: cached as the
// answer's Cache-Control or Expires says (within bounds), fetched again
// when a token names an unknown kid (at most once per MinRefresh), and
// kept while the URL is down. A Set's goroutine ends on Close.
package jwks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Config configures a Set. Zero values take the defaults.
type Config struct {
	URL        string        // the JWK Set URL
	Client     *http.Client  // nil: one with Timeout
	Timeout    time.Duration // of one fetch; 0: 10 s
	MaxBytes   int64         // of the answer's body; 0: 1 MiB
	MinTTL     time.Duration // shortest a fetched set is kept; 0: 1 min
	MaxTTL     time.Duration // longest a fetched set is kept; 0: 24 h
	DefaultTTL time.Duration // when the answer says nothing; 0: 5 min
	MinRefresh time.Duration // fetches for an unknown kid are at least this apart; 0: 10 s
	Retry      time.Duration // after a failed fetch; 0: 30 s
	Logger     *slog.Logger  // nil: slog.Default()
}

func (c *Config) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Timeout, 10*time.Second)
	def(&c.MinTTL, time.Minute)
	def(&c.MaxTTL, 24*time.Hour)
	def(&c.DefaultTTL, 5*time.Minute)
	def(&c.MinRefresh, 10*time.Second)
	def(&c.Retry, 30*time.Second)
	if c.MaxBytes <= 0 {
		c.MaxBytes = 1 << 20
	}
	if c.Client == nil {
		c.Client = &http.Client{Timeout: c.Timeout}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Set is the signing keys of one JWK Set URL. It is safe for concurrent
// use.
type Set struct {
	cfg    Config
	kick   chan struct{} // asks the goroutine to fetch now
	cancel context.CancelFunc
	done   chan struct{} // closed when the goroutine ends

	mu      sync.Mutex
	keys    map[string]key
	tried   bool          // a fetch has ended, well or not
	lastErr error         // of the last fetch
	kicked  time.Time     // when a fetch for an unknown kid was last asked
	fetched chan struct{} // closed when the next fetch ends
}

// New returns the Set of cfg.URL and starts its goroutine, which fetches
// the keys at once and whenever they expire, until Close.
func New(cfg Config) *Set {
	cfg.defaults()
	ctx, cancel := context.WithCancel(context.Background())
	s := &Set{cfg: cfg, kick: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{}), fetched: make(chan struct{})}
	go s.run(ctx)
	return s
}

// Close stops the goroutine and waits for it to end.
func (s *Set) Close() error {
	s.cancel()
	<-s.done
	return nil
}

// run fetches the keys when they expire or a kid is missing.
func (s *Set) run(ctx context.Context) {
	defer close(s.done)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-s.kick:
		}
		next := s.refresh(ctx)
		timer.Stop()
		select { // drained: a timer that fired while a kick was served
		case <-timer.C:
		default:
		}
		timer.Reset(next)
	}
}

// refresh fetches the keys once and returns when to fetch again. A failed
// fetch keeps the keys had.
func (s *Set) refresh(ctx context.Context) time.Duration {
	keys, ttl, err := s.fetch(ctx)
	if err != nil && ctx.Err() == nil {
		s.cfg.Logger.Warn("JWKS fetch failed: the keys fetched before stay in use", "url", s.cfg.URL, "err", err)
		ttl = s.cfg.Retry
	}
	s.mu.Lock()
	if err == nil {
		s.keys = keys
	}
	s.tried, s.lastErr = true, err
	close(s.fetched)
	s.fetched = make(chan struct{})
	s.mu.Unlock()
	return ttl
}

// Key returns the public key of kid for alg. An unknown kid has the keys
// fetched again, unless they were fetched for that less than MinRefresh
// ago, and waits for them at most Timeout. A token without kid is
// verified with the set's only key of alg.
func (s *Set) Key(kid, alg string) (any, error) {
	s.mu.Lock()
	k, ok := s.find(kid, alg)
	if ok || (s.tried && time.Since(s.kicked) < s.cfg.MinRefresh) {
		s.mu.Unlock()
		return s.check(k, ok, kid, alg)
	}
	if s.tried {
		s.kicked = time.Now()
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
	wait := s.fetched
	s.mu.Unlock()
	select {
	case <-wait:
	case <-time.After(s.cfg.Timeout):
	}
	s.mu.Lock()
	k, ok = s.find(kid, alg)
	s.mu.Unlock()
	return s.check(k, ok, kid, alg)
}

// find looks kid up; s.mu is held.
func (s *Set) find(kid, alg string) (key, bool) {
	if kid != "" {
		k, ok := s.keys[kid]
		return k, ok
	}
	var found []key
	for _, k := range s.keys {
		if k.alg == alg {
			found = append(found, k)
		}
	}
	if len(found) == 1 {
		return found[0], true
	}
	return key{}, false
}

// check returns k's public key when it verifies alg.
func (s *Set) check(k key, ok bool, kid, alg string) (any, error) {
	switch {
	case !ok && kid == "":
		return nil, fmt.Errorf("the token has no kid, and the JWK Set at %s has not exactly one %s key", s.cfg.URL, alg)
	case !ok:
		s.mu.Lock()
		err := s.lastErr
		s.mu.Unlock()
		if err != nil {
			return nil, fmt.Errorf("no key %q in the JWK Set at %s (its last fetch failed: %w)", kid, s.cfg.URL, err)
		}
		return nil, fmt.Errorf("no key %q in the JWK Set at %s", kid, s.cfg.URL)
	case k.alg != alg:
		return nil, fmt.Errorf("key %q of %s verifies %s, not %s", kid, s.cfg.URL, k.alg, alg)
	}
	return k.pub, nil
}

// errStatus is an answer of the JWKS URL other than 200.
var errStatus = errors.New("unexpected status")
