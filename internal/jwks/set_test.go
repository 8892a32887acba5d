package jwks_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ssehub/ssehub/internal/auth/authtest"
	"github.com/ssehub/ssehub/internal/jwks"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// server serves a JWK Set that a test changes, or an error status.
type server struct {
	mu     sync.Mutex
	body   []byte
	status int
	cache  string
	gets   int
}

func (s *server) set(status int, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status, s.body = status, body
}

func (s *server) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gets
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gets++
	if s.cache != "" {
		w.Header().Set("Cache-Control", s.cache)
	}
	w.WriteHeader(s.status)
	_, _ = w.Write(s.body)
}

// start serves srv on loopback and returns a Set of it whose timed
// refreshes never come during a test.
func start(t *testing.T, srv *server, minRefresh time.Duration) *jwks.Set {
	t.Helper()
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	s := jwks.New(jwks.Config{URL: ts.URL, MinTTL: time.Hour, MinRefresh: minRefresh, Retry: time.Hour, Timeout: 2 * time.Second})
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func ecKey(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestRotation: a new kid is published and the old one removed; the new
// key is found by the refresh an unknown kid asks for, the removed one
// is refused after it.
func TestRotation(t *testing.T) {
	t.Parallel()
	oldKey, newKey := ecKey(t), ecKey(t)
	srv := &server{status: 200, body: authtest.JWKS(authtest.JWK("old", &oldKey.PublicKey))}
	s := start(t, srv, time.Nanosecond)
	if _, err := s.Key("old", "ES256"); err != nil {
		t.Fatalf("old key before the rotation: %v", err)
	}
	srv.set(200, authtest.JWKS(authtest.JWK("new", &newKey.PublicKey)))
	pub, err := s.Key("new", "ES256")
	if err != nil || !pub.(*ecdsa.PublicKey).Equal(&newKey.PublicKey) {
		t.Fatalf("new key after the rotation: %v", err)
	}
	if _, err := s.Key("old", "ES256"); err == nil || !strings.Contains(err.Error(), `no key "old"`) {
		t.Fatalf("the removed key: %v, want refused", err)
	}
}

// TestRefreshRateLimited: unknown kids ask for at most one fetch per
// MinRefresh.
func TestRefreshRateLimited(t *testing.T) {
	t.Parallel()
	k := ecKey(t)
	srv := &server{status: 200, body: authtest.JWKS(authtest.JWK("a", &k.PublicKey))}
	s := start(t, srv, time.Hour)
	if _, err := s.Key("a", "ES256"); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if _, err := s.Key("unknown", "ES256"); err == nil {
			t.Fatal("an unknown kid was accepted")
		}
	}
	if n := srv.count(); n != 2 {
		t.Errorf("%d fetches, want 2 (the first, one for the unknown kid)", n)
	}
}

// TestURLDown: when the URL fails the keys fetched before stay in use.
func TestURLDown(t *testing.T) {
	t.Parallel()
	k := ecKey(t)
	for _, tc := range []struct {
		name   string
		status int
		body   string
	}{
		{"500", 500, "down"},
		{"not JSON", 200, "<html>"},
		{"bad key", 200, `{"keys":[{"kty":"EC","crv":"P-256","kid":"x","x":"AA","y":"AA"}]}`},
		{"too big", 200, `{"keys":[],"pad":"` + strings.Repeat("x", 2<<20) + `"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := &server{status: 200, body: authtest.JWKS(authtest.JWK("a", &k.PublicKey))}
			s := start(t, srv, time.Nanosecond)
			if _, err := s.Key("a", "ES256"); err != nil {
				t.Fatal(err)
			}
			srv.set(tc.status, []byte(tc.body))
			_, err := s.Key("other", "ES256") // fetches again
			if err == nil || !strings.Contains(err.Error(), "last fetch failed") {
				t.Errorf("unknown kid with the URL down: %v", err)
			}
			if _, err := s.Key("a", "ES256"); err != nil {
				t.Errorf("the last good set was dropped: %v", err)
			}
		})
	}
}

// TestAlgorithms: RS256, ES256 and EdDSA keys, each for its algorithm
// only; a token without kid uses the set's only key of its algorithm.
func TestAlgorithms(t *testing.T) {
	t.Parallel()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ek := ecKey(t)
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	srv := &server{status: 200, body: authtest.JWKS(authtest.JWK("r", &rk.PublicKey), authtest.JWK("e", &ek.PublicKey), authtest.JWK("d", edPub))}
	s := start(t, srv, time.Hour)
	tests := []struct {
		kid, alg string
		ok       bool
	}{
		{"r", "RS256", true}, {"e", "ES256", true}, {"d", "EdDSA", true},
		{"r", "ES256", false}, {"e", "RS256", false}, {"d", "ES256", false},
		{"", "EdDSA", true}, {"", "PS256", false},
	}
	for _, tt := range tests {
		if _, err := s.Key(tt.kid, tt.alg); (err == nil) != tt.ok {
			t.Errorf("Key(%q, %s): %v, want ok=%v", tt.kid, tt.alg, err, tt.ok)
		}
	}
}
