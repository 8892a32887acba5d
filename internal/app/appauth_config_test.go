package app_test

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app"
)

// TestAppAuthFlags checks the authorization callback's settings: read from
// flags, SSEHUB_* variables and the file (the forwarded headers as a YAML
// list), their defaults, and the values refused at startup naming the
// flag.
func TestAppAuthFlags(t *testing.T) {
	t.Parallel()
	file := writeConfig(t, "auth-url: http://127.0.0.1:8000/sse/auth\nauth-forward-headers: [X-Tenant, X-Locale]\nauth-cache: 5s\n")
	cfg, err := app.ParseFlags([]string{"-config", file, "-auth-publish"},
		env(map[string]string{"SSEHUB_AUTH_MODE": "callback", "SSEHUB_AUTH_TIMEOUT": "500ms"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := app.AppAuthConfig{URL: "http://127.0.0.1:8000/sse/auth", Mode: "callback", Publish: true,
		ForwardHeaders: "X-Tenant,X-Locale", Cache: 5 * time.Second, Timeout: 500 * time.Millisecond}
	if cfg.AppAuth != want {
		t.Errorf("config %+v, want %+v", cfg.AppAuth, want)
	}
	if d := app.DefaultConfig().AppAuth; d != (app.AppAuthConfig{Mode: "auto", Cache: 10 * time.Second, Timeout: 2 * time.Second}) {
		t.Errorf("defaults %+v", d)
	}
	if _, err := app.ParseFlags([]string{"-auth-url", "https://app.example/auth", "-auth-cache", "0"}, env(nil), io.Discard); err != nil {
		t.Errorf("-auth-cache 0: %v", err)
	}

	tests := []struct {
		name string
		args []string
		msg  string
	}{
		{"not a URL", []string{"-auth-url", "app.example/auth"}, "-auth-url \"app.example/auth\": want an http(s) URL"},
		{"another scheme", []string{"-auth-url", "ftp://app.example/auth"}, "-auth-url"},
		{"no host", []string{"-auth-url", "http:///auth"}, "-auth-url"},
		{"unknown mode", []string{"-auth-url", "http://a/auth", "-auth-mode", "jwt"}, "-auth-mode must be auto or callback"},
		{"mode without URL", []string{"-auth-mode", "callback"}, "-auth-mode callback needs -auth-url"},
		{"publish without URL", []string{"-auth-publish"}, "-auth-publish needs -auth-url"},
		{"zero timeout", []string{"-auth-url", "http://a/auth", "-auth-timeout", "0s"}, "-auth-timeout must be positive"},
		{"negative cache", []string{"-auth-url", "http://a/auth", "-auth-cache", "-1s"}, "-auth-cache must not be negative"},
		{"Host forwarded", []string{"-auth-url", "http://a/auth", "-auth-forward-headers", "X-Tenant,Host"}, "Host is the call's own header"},
		{"not a header name", []string{"-auth-url", "http://a/auth", "-auth-forward-headers", "X Tenant"}, "\"X Tenant\" is not a header name"},
	}
	for _, tt := range tests {
		_, err := app.ParseFlags(tt.args, env(nil), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: err %v, want one saying %q", tt.name, err, tt.msg)
		}
	}
}
