package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ssehub/ssehub/client"
	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/auth/authtest"
)

// needProgram returns the path of a program the test needs. Without it the test
// skips, or fails under CI=true (scripts/deps.sh installs it).
func needProgram(t *testing.T, program string) string {
	t.Helper()
	p, err := exec.LookPath(program)
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/" + program); serr == nil {
			return "/usr/sbin/" + program
		}
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI (make deps installs it): %v", program, err)
		}
		t.Skipf("%s not installed (make deps installs it): %v", program, err)
	}
	return p
}

// examplePath is the path of a file of examples/.
func examplePath(t *testing.T, parts ...string) string {
	return filepath.Join(append([]string{repoRoot(t), "examples"}, parts...)...)
}

// goSubscribe subscribes to topics of the hub at base with the Go client.
func goSubscribe(t *testing.T, base string, topics []string, opts ...client.Option) *client.Subscription {
	t.Helper()
	c, err := client.New(base+"/.well-known/mercure", opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	sub, err := c.Subscribe(ctx, topics)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Close)
	return sub
}

// nextClientEvent waits for the subscription's next event.
func nextClientEvent(t *testing.T, sub *client.Subscription) client.Event {
	t.Helper()
	select {
	case ev, ok := <-sub.Events():
		if !ok {
			t.Fatalf("subscription ended: %v", sub.Err())
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event in 10s")
		return client.Event{}
	}
}

// runProgram runs a program with extra environment variables for at most 30
// seconds, returning its standard output, standard error and error.
func runProgram(t *testing.T, vars []string, name string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = hermeticEnv(vars...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// TestExamplePHPPublish runs examples/php/publish.php with php-cli: as a
// script, and as a library, in open development mode and with a JWT.
func TestExamplePHPPublish(t *testing.T) {
	php := needProgram(t, "php")
	script := examplePath(t, "php", "publish.php")

	t.Run("open development mode", func(t *testing.T) {
		srv := startServer(t, serverOptions{})
		sub := goSubscribe(t, srv.URL, []string{"orders", "b"})
		data := `{"id":42,"item":"茶"}`
		out, stderr, err := runProgram(t, []string{"SSEHUB_URL=" + srv.URL}, php, script, "orders", data, "notification")
		if err != nil {
			t.Fatalf("php publish.php: %v\n%s", err, stderr)
		}
		ev := nextClientEvent(t, sub)
		if ev.ID != strings.TrimSpace(out) || ev.Type != "notification" || ev.Data != data {
			t.Errorf("event %+v, printed id %q", ev, out)
		}
		lib := `require getenv('SCRIPT'); echo ssehub_publish(getenv('SSEHUB_URL'), ['b', 'c'], "x&y=z\nline 2", ['id' => 'php-1', 'retry' => 1500]);`
		out, stderr, err = runProgram(t, []string{"SSEHUB_URL=" + srv.URL, "SCRIPT=" + script}, php, "-r", lib)
		if err != nil || out != "php-1" {
			t.Fatalf("ssehub_publish: %q %v\n%s", out, err, stderr)
		}
		if ev := nextClientEvent(t, sub); ev.ID != "php-1" || ev.Data != "x&y=z\nline 2" || ev.Retry != 1500*time.Millisecond {
			t.Errorf("library event %+v", ev)
		}
	})

	t.Run("JWT", func(t *testing.T) {
		keys := authtest.NewKeys(t)
		srv := startServer(t, serverOptions{configure: func(c *app.Config) { c.JWTKey = string(keys.Secret) }})
		sub := goSubscribe(t, srv.URL, []string{"private"}, client.WithToken(keys.HS256(t, authtest.Claims(nil, []string{"*"}, time.Time{}))))
		tok := keys.HS256(t, authtest.Claims([]string{"private"}, nil, time.Now().Add(time.Hour)))
		lib := `require getenv('SCRIPT'); echo ssehub_publish(getenv('SSEHUB_URL'), ['private'], 'for you', ['private' => true, 'token' => getenv('SSEHUB_TOKEN')]);`
		out, stderr, err := runProgram(t, []string{"SSEHUB_URL=" + srv.URL, "SSEHUB_TOKEN=" + tok, "SCRIPT=" + script}, php, "-r", lib)
		if err != nil {
			t.Fatalf("private publish: %v\n%s", err, stderr)
		}
		if ev := nextClientEvent(t, sub); ev.ID != out || ev.Data != "for you" {
			t.Errorf("event %+v, id %q", ev, out)
		}
		_, stderr, err = runProgram(t, []string{"SSEHUB_URL=" + srv.URL}, php, script, "private", "x")
		if err == nil || !strings.Contains(stderr, "status 401") {
			t.Errorf("publish without a token: %v\n%s", err, stderr)
		}
	})
}

// thinkPHPHarness stands in for ThinkPHP: a Request with param(), the
// BaseController, and the env() and json() helpers. It runs the
// controller's receive() with eventType and message from its arguments and
// prints what the controller returned as JSON.
const thinkPHPHarness = `<?php
declare(strict_types=1);

namespace think {
    class Request {
        public function __construct(private array $params) {}
        public function param(string $name, $default = null) { return $this->params[$name] ?? $default; }
    }
}

namespace app {
    abstract class BaseController {
        public function __construct(protected \think\Request $request) {}
    }
}

namespace {
    function env(string $name, $default = null) { $v = getenv($name); return $v === false ? $default : $v; }
    function json($data, int $code = 200) { return ['status' => $code, 'body' => $data]; }

    require $argv[1];
    $request = new think\Request(['eventType' => $argv[2], 'message' => $argv[3]]);
    $controller = new app\gbi\controller\SseController($request);
    echo json_encode($controller->receive($request), JSON_UNESCAPED_UNICODE), "\n";
}
`

// TestExampleThinkPHPController runs the ThinkPHP controller's receive()
// in a stand-in of the framework: the event reaches the seed's topic.
func TestExampleThinkPHPController(t *testing.T) {
	php := needProgram(t, "php")
	harness := filepath.Join(t.TempDir(), "harness.php")
	if err := os.WriteFile(harness, []byte(thinkPHPHarness), 0o600); err != nil {
		t.Fatal(err)
	}
	controller := examplePath(t, "php", "SseController.php")
	srv := startServer(t, serverOptions{})
	sub := goSubscribe(t, srv.URL, []string{"gbi/sse"})

	out, stderr, err := runProgram(t, []string{"SSEHUB_URL=" + srv.URL}, php, harness, controller, "alert", "磁盘告警")
	if err != nil {
		t.Fatalf("harness: %v\n%s", err, stderr)
	}
	var got struct {
		Status int
		Body   struct {
			Code      int
			EventType string
			Data      string
			ID        string
		}
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("controller answered %q: %v", out, err)
	}
	if got.Status != 200 || got.Body.Code != 200 || got.Body.EventType != "alert" || got.Body.Data != "磁盘告警" || got.Body.ID == "" {
		t.Errorf("controller answered %+v", got)
	}
	ev := nextClientEvent(t, sub)
	var data struct{ Message string }
	if ev.ID != got.Body.ID || ev.Type != "alert" || json.Unmarshal([]byte(ev.Data), &data) != nil || data.Message != "磁盘告警" {
		t.Errorf("event %+v", ev)
	}

	// A hub that cannot be reached: the controller answers 502.
	out, stderr, err = runProgram(t, []string{"SSEHUB_URL=http://127.0.0.1:1"}, php, harness, controller, "message", "x")
	if err != nil || !strings.Contains(out, `"status":502`) {
		t.Errorf("unreachable hub: %q %v\n%s", out, err, stderr)
	}
}

// TestExampleNode runs examples/node/subscribe.mjs with the pinned npm
// eventsource package against a hub that wants a subscriber token: it
// replays the history, then prints live events, and stops at its count.
// nodeExample returns node and a copy of the example examples/node/name
// beside the test's node_modules, as a user runs it after npm install.
func nodeExample(t *testing.T, name string) (node, script string) {
	t.Helper()
	node = needProgram(t, "node")
	modules := filepath.Join(repoRoot(t), "e2e", "node", "node_modules")
	if _, err := os.Stat(filepath.Join(modules, "eventsource")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("e2e/node/node_modules/eventsource missing under CI (run make deps): %v", err)
		}
		t.Skipf("e2e/node/node_modules/eventsource missing (run make deps): %v", err)
	}
	checkPinned(t)
	dir := t.TempDir()
	src, err := os.ReadFile(examplePath(t, "node", name))
	if err != nil {
		t.Fatal(err)
	}
	script = filepath.Join(dir, name)
	if err := os.WriteFile(script, src, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(modules, filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	return node, script
}

func TestExampleNode(t *testing.T) {
	node, script := nodeExample(t, "subscribe.mjs")
	keys := authtest.NewKeys(t)
	srv := startServer(t, serverOptions{configure: func(c *app.Config) {
		c.JWTKey, c.AnonymousSubscribe = string(keys.Secret), false
	}})
	c, err := client.New(srv.URL+"/.well-known/mercure", client.WithToken(keys.HS256(t, authtest.Claims([]string{"*"}, nil, time.Time{}))))
	if err != nil {
		t.Fatal(err)
	}
	publish := func(typ, data string) string {
		id, err := c.Publish(context.Background(), client.Update{Topics: []string{"news"}, Type: typ, Data: data})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	want := []map[string]string{
		{"id": publish("notification", "before 1"), "type": "notification", "data": "before 1"},
		{"id": publish("", "before\n2"), "type": "message", "data": "before\n2"},
	}

	env := []string{"SSEHUB_URL=" + srv.URL, "SSEHUB_LAST_EVENT_ID=earliest", "SSEHUB_COUNT=4",
		"SSEHUB_TOKEN=" + keys.HS256(t, authtest.Claims(nil, []string{"news"}, time.Now().Add(time.Hour)))}
	got, log := nodeSubscribe(t, node, script, env, []string{"news"}, func() {
		want = append(want,
			map[string]string{"id": publish("alert", `{"level":"high"}`), "type": "alert", "data": `{"level":"high"}`},
			map[string]string{"id": publish("", "live 2"), "type": "message", "data": "live 2"})
	})
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("node printed\n%v\nwant\n%v\nstderr:\n%s", got, want, log)
	}

	// Without a token the hub refuses, and the example says so.
	_, errOut, err := runProgram(t, []string{"SSEHUB_URL=" + srv.URL}, node, script, "news")
	if err == nil || !strings.Contains(errOut, "401") {
		t.Errorf("without a token: %v\n%s", err, errOut)
	}
}

// nodeSubscribe runs the Node.js subscribe example on topics with env
// (besides a hermetic environment), for at most 30 s; live runs once the
// example reports its subscription. It returns the events the example
// printed, one JSON object each, and what it wrote to its standard error.
func nodeSubscribe(t *testing.T, node, script string, env, topics []string, live func()) ([]map[string]string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{script}, topics...)...)
	cmd.Env = hermeticEnv(env...)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	var log strings.Builder
	for sc.Scan() && !strings.HasPrefix(sc.Text(), "subscribed to") {
		fmt.Fprintln(&log, sc.Text())
	}
	live()
	for sc.Scan() {
		fmt.Fprintln(&log, sc.Text())
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("node %s: %v\n%s", filepath.Base(script), err, log.String())
	}
	var got []map[string]string
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var ev map[string]string
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("node printed %.200q: %v", line, err)
		}
		got = append(got, ev)
	}
	return got, log.String()
}

// checkPinned checks that examples/node pins the eventsource package, and
// its dependency, at the versions the tests install in e2e/node.
func checkPinned(t *testing.T) {
	t.Helper()
	versions := func(dir string) string {
		b, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
		if err != nil {
			t.Fatal(err)
		}
		var lock struct {
			Packages map[string]struct{ Version string }
		}
		if err := json.Unmarshal(b, &lock); err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		return lock.Packages["node_modules/eventsource"].Version + " " + lock.Packages["node_modules/eventsource-parser"].Version
	}
	ex, e2e := versions(examplePath(t, "node")), versions(filepath.Join(repoRoot(t), "e2e", "node"))
	if strings.HasPrefix(ex, " ") || ex != e2e {
		t.Errorf("examples/node locks eventsource and eventsource-parser at %q, e2e/node at %q: keep them equal", ex, e2e)
	}
}

// readmeBlock returns the first fenced code block of the README, of the
// given language, after the line holding marker.
func readmeBlock(t *testing.T, marker, lang string) string {
	t.Helper()
	return fencedBlock(t, "README.md", marker, lang)
}

// fencedBlock returns the first fenced code block of the repository's file
// name, of the given language, after the line holding marker.
func fencedBlock(t *testing.T, name, marker, lang string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), name))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	i := strings.Index(text, marker)
	if i < 0 {
		t.Fatalf("%s has no %q", name, marker)
	}
	text = text[i:]
	start := strings.Index(text, "```"+lang+"\n")
	if start < 0 {
		t.Fatalf("%s has no ```%s block after %q", name, lang, marker)
	}
	text = text[start+len(lang)+4:]
	return text[:strings.Index(text, "```")]
}

// TestExampleREADME runs the README's curl commands and its PHP snippet
// against a hub, as a reader would paste them.
func TestExampleREADME(t *testing.T) {
	needProgram(t, "curl")
	srv := startServer(t, serverOptions{})
	var cmds []string
	for _, c := range strings.Split(strings.ReplaceAll(readmeBlock(t, "From a shell:", "sh"), "\\\n", " "), "\n") {
		if c = strings.TrimSpace(c); c != "" && !strings.HasPrefix(c, "#") {
			cmds = append(cmds, strings.ReplaceAll(c, "http://localhost:8080", srv.URL))
		}
	}
	if len(cmds) != 4 || !strings.Contains(cmds[0], " -N ") || !strings.Contains(cmds[3], " -N ") {
		t.Fatalf("the README's shell block changed: %q", cmds)
	}
	stream := func(cmd string) <-chan string {
		out, _ := startLines(t, exec.Command("bash", "-c", "exec "+cmd))
		return out
	}
	// until reads lines until every one of want has been seen.
	until := func(out <-chan string, what string, want ...string) {
		t.Helper()
		missing := map[string]bool{}
		for _, w := range want {
			missing[w] = true
		}
		for len(missing) > 0 {
			delete(missing, nextLine(t, out, what))
		}
	}
	live := stream(cmds[0])
	until(live, "the subscription opening", "retry: 3000")
	var ids []string
	for _, c := range cmds[1:3] {
		out, stderr, err := runProgram(t, nil, "bash", "-c", c)
		if err != nil || strings.TrimSpace(out) == "" {
			t.Fatalf("%s: %q %v\n%s", c, out, err, stderr)
		}
		ids = append(ids, "id: "+strings.TrimSpace(out))
	}
	events := []string{"event: notification", "data: hello", "event: alert", `data: {"message":"disk 91% full"}`}
	until(live, "the published events", append(events, ids...)...)
	until(stream(cmds[3]), "the replayed events", append(events, ids...)...)

	// The PHP snippet.
	php := needProgram(t, "php")
	sub := goSubscribe(t, srv.URL, []string{"chat"})
	code := strings.ReplaceAll(readmeBlock(t, "From PHP", "php"), "http://localhost:8080", srv.URL) + "echo $id;"
	out, stderr, err := runProgram(t, nil, php, "-r", code)
	if err != nil || out == "" {
		t.Fatalf("the README's PHP: %q %v\n%s", out, err, stderr)
	}
	ev := nextClientEvent(t, sub)
	var data struct{ Message string }
	if ev.ID != out || ev.Type != "notification" || json.Unmarshal([]byte(ev.Data), &data) != nil || data.Message != "新订单" {
		t.Errorf("PHP published %+v, id %q", ev, out)
	}
}

// TestExampleBrowser opens examples/browser/index.html from another origin
// in Chromium: it connects, shows events published with the Go client, and
// publishes from its form.
func TestExampleBrowser(t *testing.T) {
	srv := startServer(t, serverOptions{})
	page := httptest.NewServer(http.FileServer(http.Dir(examplePath(t, "browser"))))
	t.Cleanup(page.Close)
	tb := newBrowser(t).tab("example")
	tb.do("open the page", chromedp.Navigate(page.URL+"/index.html?connect=1&topic=web&hub="+url.QueryEscape(srv.URL)))
	tb.waitFor("connected", `document.getElementById('status').dataset.state === 'open'`)

	c, err := client.New(srv.URL + "/.well-known/mercure")
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.Publish(context.Background(), client.Update{Topics: []string{"web"}, Type: "notification", Data: `{"message":"hi"}`})
	if err != nil {
		t.Fatal(err)
	}
	tb.waitFor("the published event", `document.querySelectorAll('#eventLog li').length === 1`)
	got := eval[string](tb, `(() => { const li = document.querySelector('#eventLog li'); return li.dataset.type + ' ' + li.dataset.id + ' ' + li.textContent; })()`)
	if want := fmt.Sprintf(`notification %s notification #%s  {"message":"hi"}`, id, id); got != want {
		t.Errorf("page shows %q, want %q", got, want)
	}

	sub := goSubscribe(t, srv.URL, []string{"web"})
	tb.do("publish from the page",
		chromedp.SetValue(chromedp.ID("type"), "alert"),
		chromedp.SetValue(chromedp.ID("message"), "from the page"),
		chromedp.Click(chromedp.ID("send")))
	tb.waitFor("its event", `document.querySelectorAll('#eventLog li[data-type="alert"]').length === 1`)
	ev := nextClientEvent(t, sub)
	if ev.Type != "alert" || !strings.Contains(ev.Data, `"message":"from the page"`) {
		t.Errorf("the page published %+v", ev)
	}
	tb.waitFor("the publish answer", `document.getElementById('sent').textContent.startsWith('published ')`)
	if sent := eval[string](tb, `document.getElementById('sent').textContent`); sent != "published "+ev.ID {
		t.Errorf("the page says %q, want published %s", sent, ev.ID)
	}
}

// TestExampleSystemdUnit checks deploy/ssehub.service with systemd-analyze
// (when installed) and that its command line parses.
func TestExampleSystemdUnit(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "ssehub.service"))
	if err != nil {
		t.Fatal(err)
	}
	unit := string(b)
	for _, want := range []string{"DynamicUser=yes", "StateDirectory=ssehub", "LimitNOFILE=65536", "Restart=on-failure", "ProtectSystem=strict", "NoNewPrivileges=yes"} {
		if !strings.Contains(unit, "\n"+want+"\n") {
			t.Errorf("the unit has no %s", want)
		}
	}
	m := regexp.MustCompile(`\nExecStart=/usr/local/bin/ssehub (.*)\n`).FindStringSubmatch(unit)
	if m == nil {
		t.Fatal("no ExecStart=/usr/local/bin/ssehub … in the unit")
	}
	// The command line, with the example config file in place of /etc/ssehub/ssehub.yaml.
	args := strings.Fields(strings.ReplaceAll(m[1], "/etc/ssehub/ssehub.yaml", filepath.Join(repoRoot(t), "deploy", "ssehub.example.yaml")))
	if len(args) == 0 || args[0] != "serve" {
		t.Fatalf("ExecStart runs %q, want serve", args)
	}
	if _, err := app.ParseFlags(args[1:], func(string) string { return "" }, io.Discard); err != nil {
		t.Errorf("ExecStart's flags: %v", err)
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skipf("systemd-analyze not installed: %v", err)
	}
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "ssehub.service")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(unit, "/usr/local/bin/ssehub", bin)), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || strings.Contains(string(out), "ssehub.service:") {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
