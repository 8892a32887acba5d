package app_test

import (
	"context"
	"io"
	"log/slog"
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

// TestAppAuthStartupLog checks what the startup log says with a callback:
// without a JWT key, that the callback alone decides subscriptions (not
// the open development mode's warning) and who decides publishes; and a
// warning when -cors-origins * would keep the cookies from the hub.
func TestAppAuthStartupLog(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		mutate  func(*app.Config)
		want    []string
		notWant []string
	}{
		{"no key", func(c *app.Config) {}, []string{
			`msg="no JWT key is configured: the authorization callback (-auth-url) alone decides who may subscribe"`,
			`subscriptions="every subscription without a JWT (with no JWT key, a JWT is refused)"`,
			`publishes="anonymous, from loopback clients only; -auth-publish hands them to the callback"`,
			`msg="-cors-origins * lets no browser page`,
		}, []string{"OPEN DEVELOPMENT MODE"}},
		{"callback mode, publishes, an origin", func(c *app.Config) {
			c.JWTKey, c.AppAuth.Mode, c.AppAuth.Publish, c.CORSOrigins = strings.Repeat("k", 32), app.AuthModeCallback, true, "https://app.example"
		}, []string{
			`subscriptions="every subscription (JWTs are not read)"`,
			`publishes="the authorization callback (-auth-publish)"`,
		}, []string{"OPEN DEVELOPMENT MODE", "no JWT key", "-cors-origins *"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := app.DefaultConfig()
			cfg.DataDir = ""
			cfg.AppAuth.URL = "http://127.0.0.1:8000/sse/auth"
			tc.mutate(&cfg)
			var logs strings.Builder
			a, err := app.New(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = a.Close(context.Background()) })
			for _, w := range tc.want {
				if !strings.Contains(logs.String(), w) {
					t.Errorf("the startup log has no %s:\n%s", w, logs.String())
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(logs.String(), w) {
					t.Errorf("the startup log says %q:\n%s", w, logs.String())
				}
			}
		})
	}
}
