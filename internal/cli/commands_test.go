package cli_test

import (
	"github.com/ssehub/ssehub/internal/topic"

	"context"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/auth"
	"github.com/ssehub/ssehub/internal/auth/authtest"
	"github.com/ssehub/ssehub/internal/cli"
)

// TestToken mints tokens that a hub with the same key accepts, with the
// claims asked for.
func TestToken(t *testing.T) {
	t.Parallel()
	keys := authtest.NewKeys(t)
	url := hub(t, func(c *app.Config) { c.JWTKey = string(keys.Secret) })

	tok := strings.TrimSpace(ok(t, nil, "token", "-key", keys.SecretFile, "-publish", "chat", "-publish", "news/{id}", "-subscribe", "*", "-ttl", "2h"))
	v, err := auth.NewVerifier(auth.HS256, keys.Secret)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := v.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(claims.Publish, topic.Specs([]string{"chat", "news/{id}"})) || !slices.Equal(claims.Subscribe, topic.Specs([]string{"*"})) {
		t.Errorf("claims %+v", claims)
	}
	if d := time.Until(claims.Expiry); d < 119*time.Minute || d > 2*time.Hour {
		t.Errorf("expires in %v, want 2h", d)
	}
	forever := strings.TrimSpace(ok(t, map[string]string{"SSEHUB_JWT_KEY": string(keys.Secret)}, "token", "-subscribe", "a", "-ttl", "0"))
	if c, err := v.Verify(forever); err != nil || !c.Expiry.IsZero() {
		t.Errorf("-ttl 0: %v, expiry %v", err, c.Expiry)
	}
	withPayload := strings.TrimSpace(ok(t, nil, "token", "-key", keys.SecretFile, "-subscribe", "a", "-payload", `{"user": "alice"}`))
	if c, err := v.Verify(withPayload); err != nil || string(c.Payload) != `{"user":"alice"}` {
		t.Errorf("-payload: %v, mercure.payload %s", err, c.Payload)
	}

	// The hub accepts it; without it, pub fails with a hint.
	ok(t, nil, "pub", "-url", url, "-token", tok, "-topic", "chat", "-data", "secret", "-private")
	ok(t, map[string]string{"SSEHUB_TOKEN": tok}, "pub", "-url", url, "-topic", "news/1", "-data", "public")
	r := run(t, nil, "pub", "-url", url, "-topic", "chat", "-data", "x")
	if r.code != cli.ExitFailure || !strings.Contains(r.stderr, "401") || !strings.Contains(r.stderr, "ssehub token") {
		t.Errorf("pub without a token: exit %d\n%s", r.code, r.stderr)
	}
	r = run(t, nil, "pub", "-url", url, "-token", tok, "-topic", "elsewhere", "-data", "x")
	if r.code != cli.ExitFailure || !strings.Contains(r.stderr, "403") {
		t.Errorf("pub to a topic the token does not allow: exit %d\n%s", r.code, r.stderr)
	}
	// The private update reaches a subscriber with the token only.
	out := ok(t, nil, "sub", "-url", url, "-token", tok, "-topic", "*", "-from", "earliest", "-n", "2", "-format", "data")
	if out != "secret\npublic\n" {
		t.Errorf("sub with the token: %q", out)
	}
	out = ok(t, nil, "sub", "-url", url, "-topic", "*", "-from", "earliest", "-n", "1", "-format", "data")
	if out != "public\n" {
		t.Errorf("anonymous sub: %q", out)
	}
}

// TestTokenAccess mints Mercure 1.0 access tokens (-issuer, -audience)
// that a hub with the same key, issuer and audience accepts: the
// urlpattern grant publishes, the private update reaches the holder of
// the subscribe grant, and the token carries typ at+jwt and its payload.
func TestTokenAccess(t *testing.T) {
	t.Parallel()
	const iss, aud = "https://app.example", "https://hub.example/.well-known/mercure"
	keys := authtest.NewKeys(t)
	url := hub(t, func(c *app.Config) { c.JWTKey, c.Token.Issuers, c.Token.Audience = string(keys.Secret), iss, aud })
	access := func(args ...string) string {
		return strings.TrimSpace(ok(t, nil, append([]string{"token", "-key", keys.SecretFile, "-issuer", iss, "-audience", aud}, args...)...))
	}
	pub := access("-match-type", "urlpattern", "-publish", "https://example.com/books/:id")
	sub := access("-subscribe", "https://example.com/books/1", "-payload", `{"user":"alice"}`)
	if !auth.PeekAccess(pub) || !auth.PeekAccess(sub) {
		t.Fatal("the tokens minted do not say typ at+jwt")
	}
	v, err := auth.NewVerifier(auth.HS256, keys.Secret)
	if err != nil {
		t.Fatal(err)
	}
	v.SetAccess(&auth.Access{Issuers: []string{iss}, Audience: aud})
	if c, err := v.Verify(sub); err != nil || string(c.PayloadFor(topic.Spec{Match: "https://example.com/books/1", Type: topic.Exact})) != `{"user":"alice"}` {
		t.Fatalf("the subscribe token: %v, %+v", err, c)
	}
	ok(t, nil, "pub", "-url", url, "-token", pub, "-topic", "https://example.com/books/1", "-data", "secret", "-private")
	if r := run(t, nil, "pub", "-url", url, "-token", pub, "-topic", "https://example.com/users/1", "-data", "x"); r.code != cli.ExitFailure || !strings.Contains(r.stderr, "403") {
		t.Errorf("pub outside the pattern: exit %d\n%s", r.code, r.stderr)
	}
	if out := ok(t, nil, "sub", "-url", url, "-token", sub, "-topic", "*", "-from", "earliest", "-n", "1", "-format", "data"); out != "secret\n" {
		t.Errorf("sub with the access token: %q", out)
	}
	for _, bad := range [][]string{{"-issuer", iss, "-subscribe", "a"}, {"-issuer", iss, "-audience", aud, "-subscribe", "a", "-ttl", "0"}, {"-issuer", iss, "-audience", aud, "-match-type", "regex", "-subscribe", "a"}} {
		if r := run(t, nil, append([]string{"token", "-key", keys.SecretFile}, bad...)...); r.code != cli.ExitUsage {
			t.Errorf("token %v: exit %d, want a usage error\n%s", bad, r.code, r.stderr)
		}
	}
}

// TestUsageErrors checks the exit status and message of bad command lines.
func TestUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    []string
		code    int
		mention string
	}{
		{[]string{"nope"}, cli.ExitUsage, `unknown command "nope"`},
		{[]string{"pub", "-data", "x"}, cli.ExitUsage, "-topic is required"},
		{[]string{"pub", "-topic", "t", "stray"}, cli.ExitUsage, `unexpected argument "stray"`},
		{[]string{"pub", "-colour", "red"}, cli.ExitUsage, "flag provided but not defined: -colour"},
		{[]string{"pub", "-url", "localhost:8080", "-topic", "t"}, cli.ExitUsage, "-url"},
		{[]string{"sub"}, cli.ExitUsage, "-topic is required"},
		{[]string{"sub", "-topic", "t", "-format", "xml"}, cli.ExitUsage, "-format"},
		{[]string{"sub", "-topic", "t", "-n", "-1"}, cli.ExitUsage, "-n"},
		{[]string{"token", "-publish", "*"}, cli.ExitUsage, "-key is required"},
		{[]string{"token", "-key", "0123456789abcdef0123456789abcdef"}, cli.ExitUsage, "-publish or -subscribe"},
		{[]string{"token", "-key", "short", "-publish", "*"}, cli.ExitFailure, "at least 32"},
		{[]string{"token", "-key", "0123456789abcdef0123456789abcdef", "-subscribe", "a", "-payload", "{user}"}, cli.ExitUsage, "-payload is not valid JSON"},
		{[]string{"version", "extra"}, cli.ExitUsage, "unexpected argument"},
		{[]string{"-colour", "red"}, cli.ExitFailure, "colour"},
		{[]string{"serve", "-queue-size", "0"}, cli.ExitFailure, "queue-size"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := run(t, nil, tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.mention) {
				t.Errorf("exit %d, want %d; stderr does not mention %q?\n%s", r.code, tc.code, tc.mention, r.stderr)
			}
		})
	}
}

// TestHelp checks the usage texts.
func TestHelp(t *testing.T) {
	t.Parallel()
	r := run(t, nil, "help")
	for _, cmd := range []string{"serve", "pub", "sub", "token", "health", "version"} {
		if !strings.Contains(r.stdout, "ssehub "+cmd) && !strings.Contains(r.stdout, "["+cmd+"]") {
			t.Errorf("help does not list %s:\n%s", cmd, r.stdout)
		}
	}
	for cmd, want := range map[string]string{"pub": "-topic", "sub": "-from", "token": "-ttl", "health": "-timeout", "serve": "-heartbeat"} {
		r := run(t, nil, "help", cmd)
		if r.code != cli.ExitOK || !strings.Contains(r.stderr, want) {
			t.Errorf("help %s: exit %d, no %s:\n%s", cmd, r.code, want, r.stderr)
		}
	}
	if r := run(t, nil, "-h"); r.code != cli.ExitOK || !strings.Contains(r.stderr, "Usage: ssehub [serve]") {
		t.Errorf("-h: exit %d\n%s", r.code, r.stderr)
	}
}

// TestHealth checks health against a hub that is up and one that is not.
func TestHealth(t *testing.T) {
	t.Parallel()
	url := hub(t, nil)
	if out := ok(t, nil, "health", "-url", url); !strings.Contains(out, `"status":"ok"`) {
		t.Errorf("health: %q", out)
	}
	ok(t, map[string]string{"SSEHUB_URL": url + "/healthz"}, "health")
	if out := ok(t, nil, "health", "-ready", "-url", url); !strings.Contains(out, `"status":"ready"`) {
		t.Errorf("health -ready: %q", out)
	}
	r := run(t, nil, "health", "-url", url+"/no-such-page")
	if r.code != cli.ExitFailure || !strings.Contains(r.stderr, "404") {
		t.Errorf("health of a wrong URL: exit %d\n%s", r.code, r.stderr)
	}
	r = run(t, nil, "health", "-url", "http://127.0.0.1:1", "-timeout", "2s")
	if r.code != cli.ExitFailure || !strings.Contains(r.stderr, "unhealthy") {
		t.Errorf("health of nothing: exit %d\n%s", r.code, r.stderr)
	}
}

// TestVersionAndServe checks version, -version, and that serve (the
// default command) reads a configuration file and serves until cancelled.
func TestVersionAndServe(t *testing.T) {
	t.Parallel()
	want := "ssehub v9.9.9-test " + runtime.Version()
	for _, args := range [][]string{{"version"}, {"-version"}, {"serve", "-version"}} {
		if out := ok(t, nil, args...); !strings.HasPrefix(out, want) {
			t.Errorf("%v: %q, want %q…", args, out, want)
		}
	}
	if v := cli.Version(""); v == "" {
		t.Error("Version(\"\") is empty")
	}
	if v := cli.Version("v1.2.3"); v != "v1.2.3" {
		t.Errorf("Version(v1.2.3) = %q", v)
	}

	dir := t.TempDir()
	file := filepath.Join(dir, "ssehub.yaml")
	if err := os.WriteFile(file, []byte("addr: 127.0.0.1:0\ndata-dir: \"\"\nlog-level: error\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // serve until ctx ends: at once
	if r := runIn(t, ctx, map[string]string{"SSEHUB_CONFIG": file}, ""); r.code != cli.ExitOK {
		t.Errorf("serve with a config file: exit %d\n%s", r.code, r.stderr)
	}
	if err := os.WriteFile(file, []byte("addr: 127.0.0.1:0\nheartbeat: often\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runIn(t, ctx, nil, "", "serve", "-config", file)
	if r.code != cli.ExitFailure || !strings.Contains(r.stderr, "ssehub.yaml:2: heartbeat") {
		t.Errorf("serve with a bad config file: exit %d\n%s", r.code, r.stderr)
	}
}
