package app_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/app/apptest"
	"github.com/ssehub/ssehub/internal/auth/authtest"
)

// TestTokenFlags: the access token settings, repeatable lists, and the
// combinations refused at startup with the flag named.
func TestTokenFlags(t *testing.T) {
	t.Parallel()
	k := authtest.NewKeys(t)
	cfg, err := app.ParseFlags([]string{"-jwt-key", k.SecretFile, "-jwt-issuer", "https://a.example", "-jwt-issuer", "https://b.example,https://c.example",
		"-jwt-audience", "https://hub.example/.well-known/mercure", "-query-token=false", "-cookie-name", "t"},
		env(map[string]string{"SSEHUB_JWT_ISSUER": "https://env.example"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Token.Issuers != "https://a.example,https://b.example,https://c.example" || cfg.Token.QueryToken || cfg.Token.CookieName != "t" {
		t.Errorf("token config %+v: the flags replace the environment, then add up", cfg.Token)
	}
	if d := app.DefaultConfig().Token; d.CookieName != "__Secure-mercure_access_token" || !d.QueryToken || d.Issuers != "" {
		t.Errorf("defaults %+v", d)
	}
	aud := []string{"-jwt-audience", "https://hub.example/.well-known/mercure"}
	for _, tt := range []struct {
		name string
		args []string
		msg  string
	}{
		{"issuer without audience", []string{"-jwt-key", k.SecretFile, "-jwt-issuer", "https://a.example"}, "go together"},
		{"audience without issuer", append([]string{"-jwt-key", k.SecretFile}, aud...), "go together"},
		{"relative audience", []string{"-jwt-issuer", "i", "-jwt-audience", "/hub"}, "absolute URL"},
		{"jwks without issuer", []string{"-jwt-jwks-url", "https://a.example/jwks"}, "needs -jwt-issuer"},
		{"bad cookie name", []string{"-cookie-name", "a b"}, "not a cookie name"},
	} {
		if _, err := app.ParseFlags(tt.args, env(nil), io.Discard); err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: err %v, want one saying %q", tt.name, err, tt.msg)
		}
	}
	for _, tt := range []struct {
		name string
		args []string
		msg  string
	}{
		{"issuer without any key", append([]string{"-jwt-issuer", "https://a.example"}, aud...), "has no key"},
		{"two issuers on the static key", append([]string{"-jwt-key", k.SecretFile, "-jwt-issuer", "https://a.example,https://b.example"}, aud...), "one issuer only"},
		{"jwks of an unknown issuer", append([]string{"-jwt-issuer", "https://a.example", "-jwt-jwks-url", "https://b.example https://b.example/jwks"}, aud...), "not one of -jwt-issuer"},
		{"bare jwks with two issuers", append([]string{"-jwt-issuer", "https://a.example,https://b.example", "-jwt-jwks-url", "https://b.example/jwks"}, aud...), "ISSUER URL"},
		{"jwks not http", append([]string{"-jwt-issuer", "https://a.example", "-jwt-jwks-url", "file:///etc/jwks"}, aud...), "not an http(s) URL"},
	} {
		cfg, err := app.ParseFlags(tt.args, env(nil), io.Discard)
		if err == nil {
			var a *app.App
			if a, err = app.New(cfg, slog.New(slog.DiscardHandler)); a != nil {
				_ = a.Close(context.Background())
			}
		}
		if err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: err %v, want one saying %q", tt.name, err, tt.msg)
		}
	}
}

// TestJWKSHub: a hub with no static key verifies access tokens with the
// JWK Set of their issuer, fetched from a loopback server: an EdDSA token
// of a published kid is accepted, one of an unknown kid and a classic
// token are refused with 401 invalid_token.
func TestJWKSHub(t *testing.T) {
	t.Parallel()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwksSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=300")
		_, _ = w.Write(authtest.JWKS(authtest.JWK("k1", pub)))
	}))
	t.Cleanup(jwksSrv.Close)
	const iss, aud = "https://issuer.example", "https://hub.example.com/.well-known/mercure"
	s := apptest.NewServer(t, func(c *app.Config) {
		c.Token.Issuers, c.Token.Audience, c.Token.JWKSURLs = iss, aud, jwksSrv.URL
	})
	claims := authtest.Access(iss, aud, time.Now().Add(time.Hour), authtest.Detail([]string{"publish"}, authtest.Exact("*")))
	k := authtest.NewKeys(t)
	for _, tt := range []struct {
		name, token string
		status      int
	}{
		{"published kid", authtest.SignAccess(t, jwt.SigningMethodEdDSA, priv, "k1", claims), 200},
		{"unknown kid", authtest.SignAccess(t, jwt.SigningMethodEdDSA, priv, "k2", claims), 401},
		{"HS256 access token", authtest.SignAccess(t, jwt.SigningMethodHS256, k.Secret, "k1", claims), 401},
		{"classic token", k.HS256(t, authtest.Claims([]string{"*"}, nil, time.Now().Add(time.Hour))), 401},
	} {
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/.well-known/mercure", strings.NewReader(url.Values{"topic": {"t"}, "data": {"d"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+tt.token)
		resp, err := s.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		ch := resp.Header.Get("WWW-Authenticate")
		if resp.StatusCode != tt.status || tt.status == 401 && !strings.Contains(ch, `error="invalid_token"`) {
			t.Errorf("%s: %d %q %s, want %d", tt.name, resp.StatusCode, ch, body, tt.status)
		}
	}
}
