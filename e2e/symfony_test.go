package e2e

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/client"
	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/auth/authtest"
)

// symfonyMercure is where Debian's php-symfony-mercure puts the library's
// autoloader (scripts/deps.sh installs it).
const symfonyMercure = "/usr/share/php/Symfony/Component/Mercure/autoload.php"

// symfonyHub is a hub with a JWT key and what a test of
// examples/php/symfony-mercure.php needs to run it.
type symfonyHub struct {
	php, script string
	keys        *authtest.Keys
	url         string
}

// newSymfonyHub starts a hub whose publishers sign with an HMAC key. It
// skips without php or the symfony/mercure library, or fails under
// CI=true.
func newSymfonyHub(t *testing.T) symfonyHub {
	t.Helper()
	php := needProgram(t, "php")
	if _, err := os.Stat(symfonyMercure); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("symfony/mercure is required under CI (make deps installs php-symfony-mercure): %v", err)
		}
		t.Skipf("symfony/mercure not installed (make deps installs php-symfony-mercure): %v", err)
	}
	keys := authtest.NewKeys(t)
	srv := startServer(t, serverOptions{configure: func(c *app.Config) { c.JWTKey = string(keys.Secret) }})
	return symfonyHub{php: php, script: examplePath(t, "php", "symfony-mercure.php"), keys: keys, url: srv.URL}
}

// env is the example's environment: the hub's URL and key.
func (h symfonyHub) env(vars ...string) []string {
	return append([]string{"SSEHUB_URL=" + h.url, "SSEHUB_JWT_KEY=" + string(h.keys.Secret)}, vars...)
}

// TestSymfonyMercure publishes with symfony/mercure, the PHP library of
// Symfony's MercureBundle and Laravel's Mercure broadcasters, through
// examples/php/symfony-mercure.php: as a command, and as a library with
// every field of its Update; a wrong key gets the hub's 401 through the
// library's exception.
func TestSymfonyMercure(t *testing.T) {
	h := newSymfonyHub(t)
	php, script := h.php, h.script
	sub := goSubscribe(t, h.url, []string{"orders", "https://example.com/books/{id}"},
		client.WithToken(h.keys.HS256(t, authtest.Claims(nil, []string{"*"}, time.Time{}))))
	env := h.env("SCRIPT=" + script)

	data := `{"id":42,"item":"茶"}`
	out, stderr, err := runProgram(t, env, php, script, "orders", data, "notification")
	if err != nil {
		t.Fatalf("php symfony-mercure.php: %v\n%s", err, stderr)
	}
	if ev := nextClientEvent(t, sub); ev.ID != strings.TrimSpace(out) || ev.Type != "notification" || ev.Data != data {
		t.Errorf("event %+v, printed id %q", ev, out)
	}

	lib := `require getenv('SCRIPT');
$topics = ['https://example.com/books/1', 'orders'];
$hub = new Symfony\Component\Mercure\Hub(getenv('SSEHUB_URL') . '/.well-known/mercure',
    new Symfony\Component\Mercure\Jwt\StaticTokenProvider(mercure_publisher_jwt(getenv('SSEHUB_JWT_KEY'), $topics)));
echo $hub->publish(new Symfony\Component\Mercure\Update($topics, "line 1\nline 2 & more", true, 'book-1', 'update', 1500));`
	out, stderr, err = runProgram(t, env, php, "-r", lib)
	if err != nil || out != "book-1" {
		t.Fatalf("library publish: %q %v\n%s", out, err, stderr)
	}
	ev := nextClientEvent(t, sub)
	if ev.ID != "book-1" || ev.Type != "update" || ev.Data != "line 1\nline 2 & more" || ev.Retry != 1500*time.Millisecond {
		t.Errorf("library event %+v", ev)
	}

	bad := []string{"SSEHUB_URL=" + h.url, "SSEHUB_JWT_KEY=not-the-hub-key"}
	_, stderr, err = runProgram(t, bad, php, script, "orders", "x")
	if err == nil || !strings.Contains(stderr, "401") || !strings.Contains(stderr, `"field":"Authorization"`) {
		t.Errorf("publish with a wrong key: %v\n%s", err, stderr)
	}
}

// TestSymfonyMercurePrivate checks that a private update published with
// symfony/mercure reaches only subscribers allowed its topic.
func TestSymfonyMercurePrivate(t *testing.T) {
	h := newSymfonyHub(t)
	php, script := h.php, h.script
	allowed := goSubscribe(t, h.url, []string{"inbox/7"},
		client.WithToken(h.keys.HS256(t, authtest.Claims(nil, []string{"inbox/7"}, time.Time{}))))
	anonymous := goSubscribe(t, h.url, []string{"inbox/7"})
	env := h.env()

	if _, stderr, err := runProgram(t, env, php, script, "inbox/7", "secret", "", "private"); err != nil {
		t.Fatalf("private publish: %v\n%s", err, stderr)
	}
	if _, stderr, err := runProgram(t, env, php, script, "inbox/7", "public"); err != nil {
		t.Fatalf("public publish: %v\n%s", err, stderr)
	}
	if ev := nextClientEvent(t, allowed); ev.Data != "secret" {
		t.Errorf("allowed subscriber got %+v first", ev)
	}
	if ev := nextClientEvent(t, anonymous); ev.Data != "public" {
		t.Errorf("anonymous subscriber got %+v, not the public update", ev)
	}
}
