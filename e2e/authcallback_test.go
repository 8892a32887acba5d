package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ssehub/ssehub/client"
	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/auth/authtest"
)

// thinkPHPRouter stands in for ThinkPHP under php-cli's built-in server:
// the request (param() reads the query, the form and a JSON body, as
// ThinkPHP does), Response, the session helper and facade over PHP's own
// session, env(), json() and redirect(); it routes /sse/<action> to the
// example controller's action and sends what it returns.
const thinkPHPRouter = `<?php
declare(strict_types=1);

namespace think {
    class Request {
        private array $params;
        public function __construct() {
            $json = [];
            if (str_starts_with($_SERVER['CONTENT_TYPE'] ?? '', 'application/json')) {
                $json = json_decode((string) file_get_contents('php://input'), true);
            }
            $this->params = array_merge($_GET, $_POST, is_array($json) ? $json : []);
        }
        public function param(string $name, $default = null) { return $this->params[$name] ?? $default; }
    }
    class Response {
        public function __construct(public string $body, public int $code = 200, public array $headers = []) {}
    }
}

namespace think\facade {
    class Session {
        public static function regenerate(bool $delete = true): void {
            if (session_status() !== PHP_SESSION_ACTIVE) { session_start(); }
            session_regenerate_id($delete);
        }
    }
}

namespace app {
    abstract class BaseController {
        public function __construct(protected \think\Request $request) {}
    }
}

namespace {
    function env(string $name, $default = null) { $v = getenv($name); return $v === false ? $default : $v; }
    function json($data, int $code = 200) {
        return new think\Response(json_encode($data, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES), $code,
            ['Content-Type' => 'application/json; charset=utf-8']);
    }
    function redirect(string $url, int $code = 302) { return new think\Response('', $code, ['Location' => $url]); }
    function session($name = '', $value = '') {
        if (session_status() !== PHP_SESSION_ACTIVE) { session_start(); }
        if ($value === '') { return $_SESSION[$name] ?? null; }
        if ($value === null) { unset($_SESSION[$name]); return null; }
        $_SESSION[$name] = $value;
        return null;
    }

    require getenv('SSE_CONTROLLER');
    $path = (string) parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);
    $request = new think\Request();
    $controller = new app\gbi\controller\SseController($request);
    if (!preg_match('#^/sse/([a-z]+)$#', $path, $m) || !method_exists($controller, $m[1]) || in_array($m[1], ['receive', 'publish'], true)) {
        http_response_code(404);
        echo 'no such page';
        return true;
    }
    $result = $controller->{$m[1]}($request);
    if ($result instanceof think\Response) {
        http_response_code($result->code);
        foreach ($result->headers as $name => $value) { header("$name: $value"); }
        echo $result->body;
    } else {
        header('Content-Type: text/html; charset=utf-8');
        echo $result;
    }
    return true;
}
`

// exampleApp is one of the example apps whose session authorizes
// subscriptions, and its pages.
type exampleApp struct {
	origin string // http://127.0.0.1:port
	page   string // path of the live page
	auth   string // URL of the authorization callback
}

// startPHPApp serves the ThinkPHP example controller with php-cli's
// built-in server on addr, its page connecting to the hub at hub.
func startPHPApp(t *testing.T, addr, hub string) exampleApp {
	t.Helper()
	php := needProgram(t, "php")
	dir := t.TempDir()
	router := filepath.Join(dir, "router.php")
	if err := os.WriteFile(router, []byte(thinkPHPRouter), 0o600); err != nil {
		t.Fatal(err)
	}
	sessions := filepath.Join(dir, "sessions")
	if err := os.Mkdir(sessions, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(php, "-d", "session.save_path="+sessions, "-d", "display_errors=stderr", "-S", addr, router)
	cmd.Env = hermeticEnv("SSE_CONTROLLER="+examplePath(t, "php", "SseController.php"), "SSEHUB_PUBLIC_URL="+hub)
	startApp(t, cmd, "http://"+addr+"/sse/page")
	return exampleApp{origin: "http://" + addr, page: "/sse/page", auth: "http://" + addr + "/sse/auth"}
}

// startNodeApp runs examples/node/auth-app.mjs on addr, its page connecting
// to the hub at hub.
func startNodeApp(t *testing.T, addr, hub string) exampleApp {
	t.Helper()
	node := needProgram(t, "node")
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(node, examplePath(t, "node", "auth-app.mjs"))
	cmd.Env = hermeticEnv("PORT="+port, "SSEHUB_PUBLIC_URL="+hub)
	startApp(t, cmd, "http://"+addr+"/")
	return exampleApp{origin: "http://" + addr, page: "/", auth: "http://" + addr + "/sse/auth"}
}

// startApp starts cmd, an example app, until the test ends, and waits
// until ready answers 200. What the app writes goes to the test's log.
func startApp(t *testing.T, cmd *exec.Cmd, ready string) {
	t.Helper()
	cmd.Stdout, cmd.Stderr = t.Output(), t.Output()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(ready)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		select {
		case <-exited:
			t.Fatalf("%s exited before answering %s", cmd.Path, ready)
		case <-time.After(20 * time.Millisecond): // polling a process that is starting
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer %s: %v", cmd.Path, ready, err)
		}
	}
}

// load runs actions that load another page (a form's submission), and
// waits until it has loaded.
func (tb *tab) load(what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if _, err := chromedp.RunResponse(tb.ctx, actions...); err != nil {
		tb.t.Fatalf("tab %s: %s: %v%s", tb.name, what, err, tb.dump())
	}
}

// TestExampleAuthCallback runs each example app (the ThinkPHP controller
// under php-cli's built-in server, the Node.js one) as the authority of a
// hub on another port of the same host, and its page in Chromium: logged
// out, the page's stream is refused with the app's 401; logged in (the
// app's session cookie), the page's EventSource, withCredentials, gets
// the private updates the app allows and no other user's; logged out
// again, refused again.
func TestExampleAuthCallback(t *testing.T) {
	for _, ex := range []struct {
		name  string
		start func(t *testing.T, addr, hub string) exampleApp
	}{{"ThinkPHP", startPHPApp}, {"Node.js", startNodeApp}} {
		t.Run(ex.name, func(t *testing.T) {
			keys := authtest.NewKeys(t)
			appAddr := freeAddr(t)
			srv := startServer(t, serverOptions{configure: func(c *app.Config) {
				c.JWTKey = string(keys.Secret)
				c.AppAuth.URL = "http://" + appAddr + "/sse/auth"
				c.CORSOrigins = "http://" + appAddr
			}})
			a := ex.start(t, appAddr, srv.URL)
			if want := srv.Listener.Addr().(*net.TCPAddr).IP.String(); !strings.HasPrefix(a.origin, "http://"+want+":") {
				t.Fatalf("the app %s and the hub %s are not on the same host", a.origin, srv.URL)
			}
			pub, err := client.New(srv.URL+"/.well-known/mercure", client.WithToken(keys.HS256(t, authtest.Claims([]string{"*"}, nil, time.Time{}))))
			if err != nil {
				t.Fatal(err)
			}
			publish := func(topic, data string, private bool) {
				t.Helper()
				if _, err := pub.Publish(context.Background(), client.Update{Topics: []string{topic}, Data: data, Private: private}); err != nil {
					t.Fatal(err)
				}
			}
			b := newBrowser(t)
			tb := b.tab("orders")
			status := `document.getElementById('status')`
			tb.do("open the page logged out", chromedp.Navigate(a.origin+a.page))
			tb.waitFor("the hub's refusal", status+`.dataset.state === 'refused'`)
			if got := eval[string](tb, status+`.textContent`); got != "401 the app refused: not logged in" {
				t.Errorf("logged out, the page says %q", got)
			}

			tb.do("fill the name", chromedp.SetValue(chromedp.ID("name"), "alice"))
			tb.load("log in", chromedp.Submit(chromedp.ID("login")))
			tb.waitFor("logged in", `document.getElementById('user')?.textContent === 'alice'`)
			tb.waitFor("the stream", status+`.dataset.state === 'open'`)
			publish("orders/bob", "bob's order", true)
			publish("orders/alice", "alice's order", true)
			tb.waitFor("alice's order", `document.querySelectorAll('#events li').length === 1`)
			if got := eval[string](tb, `document.querySelector('#events li').textContent`); got != "alice's order" {
				t.Errorf("alice's page shows %q", got)
			}

			// A second tab of alice's subscribes to bob's orders: it gets their
			// public updates only.
			bob := b.tab("bob's orders")
			bob.do("open bob's orders", chromedp.Navigate(a.origin+a.page+"?topic=orders/bob"))
			bob.waitFor("the stream", status+`.dataset.state === 'open'`)
			publish("orders/bob", "bob's private order", true)
			publish("orders/bob", "bob's public news", false)
			bob.waitFor("the public update", `document.querySelectorAll('#events li').length >= 1`)
			if got := eval[string](bob, `[...document.querySelectorAll('#events li')].map((li) => li.textContent).join('|')`); got != "bob's public news" {
				t.Errorf("alice's page of bob's orders shows %q, want only the public update", got)
			}

			tb.load("log out", chromedp.Submit(chromedp.ID("logout")))
			tb.waitFor("logged out", `document.getElementById('login') !== null`)
			tb.waitFor("the refusal", status+`.dataset.state === 'refused'`)
			if got := eval[string](tb, status+`.textContent`); got != "401 the app refused: not logged in" {
				t.Errorf("logged out again, the page says %q", got)
			}
		})
	}
}

// flakyApp is an app whose authorization callback misbehaves on demand,
// on a fixed loopback address, so that it can go down and come back.
type flakyApp struct {
	addr  string
	mode  atomic.Value // "ok", "slow", "500" or "garbage"
	calls atomic.Int64
	srv   *http.Server
	done  chan struct{}
}

// start serves the app on its address until stop.
func (f *flakyApp) start(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		t.Fatalf("the app cannot listen on %s again: %v", f.addr, err)
	}
	f.srv = &http.Server{Handler: http.HandlerFunc(f.serve)}
	f.done = make(chan struct{})
	go func() { defer close(f.done); _ = f.srv.Serve(ln) }()
}

// stop closes the app's listener and connections and waits for it.
func (f *flakyApp) stop() {
	_ = f.srv.Close()
	<-f.done
}

func (f *flakyApp) serve(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	_, _ = io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "application/json")
	switch f.mode.Load() {
	case "slow":
		<-r.Context().Done()
	case "500":
		w.WriteHeader(500)
	case "garbage":
		_, _ = io.WriteString(w, "<h1>It works!</h1>")
	default:
		if c, err := r.Cookie("sid"); err != nil || c.Value == "" {
			w.WriteHeader(401)
			_, _ = io.WriteString(w, `{"error":"not logged in"}`)
			return
		}
		_, _ = io.WriteString(w, `{"subscribe":["orders/alice"],"user":"alice"}`)
	}
}

// TestAuthCallbackAppFailures runs the real binary against an app that is
// down, slow, answering 500 or garbage: each subscription gets 503 with
// Retry-After and no stream, the hub logs one line per kind of failure
// naming the callback's URL (and the status), and once the app is back
// streams open again and the hub says so.
func TestAuthCallbackAppFailures(t *testing.T) {
	keys := authtest.NewKeys(t)
	f := &flakyApp{addr: freeAddr(t)}
	f.mode.Store("ok")
	f.start(t)
	t.Cleanup(func() { f.stop() })
	authURL := "http://" + f.addr + "/sse/auth"
	p := startBinary(t, "-data-dir", t.TempDir(), "-log-level", "info", "-jwt-key", string(keys.Secret),
		"-auth-url", authURL, "-auth-timeout", "300ms", "-auth-cache", "0") // no cached answer hides the outage
	hc := &http.Client{Timeout: 10 * time.Second}
	get := func() *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, p.base+"/events?topic=orders/alice", nil)
		req.Header.Set("Cookie", "sid=alice")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	// lines waits until the hub's log has n lines holding every one of
	// parts, and returns them.
	lines := func(n int, parts ...string) []string {
		t.Helper()
		var found []string
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			found = found[:0]
			for _, l := range strings.Split(p.stderr.String(), "\n") {
				if containsAll(l, parts) {
					found = append(found, l)
				}
			}
			if len(found) >= n {
				break
			}
			time.Sleep(10 * time.Millisecond) // polling the log of another process
		}
		if len(found) != n {
			t.Fatalf("%d log lines with %q, want %d:\n%s", len(found), parts, n, p.stderr)
		}
		return found
	}
	open := func(what string) {
		t.Helper()
		resp := get()
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d, want the stream", what, resp.StatusCode)
		}
	}
	open("the app up")

	for _, tc := range []struct {
		mode string
		log  []string // what its one log line says
	}{
		{"down", []string{"kind=unreachable"}},
		{"slow", []string{"kind=timeout"}},
		{"500", []string{"kind=status", "status=500"}},
		{"garbage", []string{"kind=malformed", "status=200", "JSON object"}},
	} {
		if tc.mode == "down" {
			f.stop()
		} else {
			f.mode.Store(tc.mode)
		}
		for range 3 {
			resp := get()
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "2" || !strings.Contains(string(body), "nothing is granted") {
				t.Errorf("app %s: %d (Retry-After %q) %s, want 503 with Retry-After", tc.mode, resp.StatusCode, resp.Header.Get("Retry-After"), body)
			}
		}
		line := lines(1, append([]string{"authorization callback failed", "url=" + authURL}, tc.log...)...)
		t.Logf("app %s: %s", tc.mode, line[0])
		if tc.mode == "down" {
			f.start(t)
		}
		f.mode.Store("ok")
		open("the app back after " + tc.mode)
	}
	lines(4, "authorization callback answers again", "url="+authURL)
}

// containsAll reports whether s contains every one of parts.
func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// TestExampleREADMEAuth runs the README's PHP authorization callback, as
// written, under php-cli's built-in server: a browser-like client logged
// in to the PHP app (its session cookie, kept in a jar) subscribes to the
// hub and gets its user's private update; without the session the hub
// answers the app's 401.
func TestExampleREADMEAuth(t *testing.T) {
	php := needProgram(t, "php")
	snippet := readmeBlock(t, "decided by your app's own session", "php")
	if !strings.Contains(snippet, "-auth-url http://127.0.0.1:8000/auth.php") {
		t.Fatalf("the README's callback does not say how to run ssehub with it:\n%s", snippet)
	}
	dir := t.TempDir()
	for name, code := range map[string]string{
		"auth.php": snippet,
		// What the README leaves to the app: logging in.
		"login.php": `<?php session_start(); session_regenerate_id(true); $_SESSION['user'] = $_GET['user']; echo 'ok';`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(code), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	sessions := filepath.Join(dir, "sessions")
	if err := os.Mkdir(sessions, 0o700); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cmd := exec.Command(php, "-d", "session.save_path="+sessions, "-S", addr, "-t", dir)
	cmd.Env = hermeticEnv()
	startApp(t, cmd, "http://"+addr+"/login.php?user=nobody")

	keys := authtest.NewKeys(t)
	srv := startServer(t, serverOptions{configure: func(c *app.Config) {
		c.JWTKey = string(keys.Secret)
		c.AppAuth.URL = "http://" + addr + "/auth.php"
	}})
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	browser := &http.Client{Jar: jar}
	resp, err := browser.Get("http://" + addr + "/login.php?user=alice")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	sub := goSubscribe(t, srv.URL, []string{"orders/alice"}, client.WithHTTPClient(browser))
	pub, err := client.New(srv.URL+"/.well-known/mercure", client.WithToken(keys.HS256(t, authtest.Claims([]string{"*"}, nil, time.Time{}))))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Publish(context.Background(), client.Update{Topics: []string{"orders/alice"}, Data: "for alice", Private: true}); err != nil {
		t.Fatal(err)
	}
	if ev := nextClientEvent(t, sub); ev.Data != "for alice" {
		t.Errorf("alice got %+v", ev)
	}

	resp, err = http.Get(srv.URL + "/events?topic=orders/alice")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(string(body), `"the app refused: not logged in"`) {
		t.Errorf("without the session: %d %s, want the app's 401", resp.StatusCode, body)
	}
}
