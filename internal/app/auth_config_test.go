package app_test

import (
	"io"
	"strings"
	"testing"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/auth/authtest"
)

// TestAuthFlags checks the authorization settings: flags and SSEHUB_*
// variables, and the combinations refused at startup with the flag named.
func TestAuthFlags(t *testing.T) {
	t.Parallel()
	k := authtest.NewKeys(t)
	cfg, err := app.ParseFlags([]string{"-jwt-alg", "ES256", "-anonymous-subscribe=false"},
		env(map[string]string{"SSEHUB_JWT_KEY": k.ECFile, "SSEHUB_PUBLISHER_JWT_KEY": k.SecretFile, "SSEHUB_PUBLISHER_JWT_ALG": "HS256"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.JWTKey != k.ECFile || cfg.JWTAlg != "ES256" || cfg.PublisherJWTKey != k.SecretFile || cfg.PublisherJWTAlg != "HS256" || cfg.AnonymousSubscribe {
		t.Errorf("config %+v", cfg)
	}
	if d := app.DefaultConfig(); d.JWTAlg != "HS256" || !d.AnonymousSubscribe || d.JWTKey != "" {
		t.Errorf("defaults: alg %q, anonymous %v, key %q", d.JWTAlg, d.AnonymousSubscribe, d.JWTKey)
	}

	tests := []struct {
		name string
		args []string
		msg  string
	}{
		{"unknown alg", []string{"-jwt-key", k.SecretFile, "-jwt-alg", "PS256"}, "-jwt-key (PS256): unsupported algorithm"},
		{"short secret", []string{"-jwt-key", "short"}, "at least 32"},
		{"public key as HS256 secret", []string{"-jwt-key", k.RSAFile}, "not a PEM key"},
		{"secret as RS256 key", []string{"-jwt-key", k.SecretFile, "-jwt-alg", "RS256"}, "no PEM block"},
		{"bad publisher key", []string{"-jwt-key", k.SecretFile, "-publisher-jwt-key", k.ECFile, "-publisher-jwt-alg", "RS256"}, "-publisher-jwt-key (RS256)"},
		{"bad subscriber key", []string{"-subscriber-jwt-key", k.ECFile, "-jwt-key", k.SecretFile}, "-subscriber-jwt-key (HS256)"},
		{"subscriber key alone", []string{"-subscriber-jwt-key", k.SecretFile}, "nobody publish"},
		{"no anonymous without a subscriber key", []string{"-anonymous-subscribe=false"}, "-anonymous-subscribe=false needs"},
		{"no anonymous with a publisher key only", []string{"-anonymous-subscribe=false", "-publisher-jwt-key", k.SecretFile}, "-anonymous-subscribe=false needs"},
	}
	for _, tt := range tests {
		_, err := app.ParseFlags(tt.args, env(nil), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: err %v, want one saying %q", tt.name, err, tt.msg)
		}
	}
}
