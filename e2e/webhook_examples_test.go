package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/client"
	hook "github.com/ssehub/ssehub/client/webhook"
	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/auth/authtest"
	"github.com/ssehub/ssehub/internal/webhook"
)

// webhookRouter stands in for ThinkPHP under php -S: a Request with
// param(), header() and getContent(), the BaseController, env() and
// json(); it routes /webhook and /online to the controller's actions of
// those names and writes what they return as the response.
const webhookRouter = `<?php
declare(strict_types=1);

namespace think {
    class Request {
        public function __construct(private array $params, private array $headers, private string $body) {}
        public function param(string $name, $default = null) { return $this->params[$name] ?? $default; }
        public function header(string $name, $default = null) { return $this->headers[strtolower($name)] ?? $default; }
        public function getContent(): string { return $this->body; }
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

    require getenv('CONTROLLER');
    $action = trim((string) parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH), '/');
    if (!in_array($action, ['webhook', 'online'], true)) {
        http_response_code(404);
        return;
    }
    $request = new think\Request($_GET, array_change_key_case(getallheaders(), CASE_LOWER), (string) file_get_contents('php://input'));
    $out = (new app\gbi\controller\SseController($request))->$action($request);
    http_response_code($out['status']);
    header('Content-Type: application/json');
    echo json_encode($out['body'], JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
}
`

// exampleReceiver is an example's webhook receiver, running.
type exampleReceiver struct {
	base string // its root URL
}

// webhookURL is where the hub posts.
func (r exampleReceiver) webhookURL() string { return r.base + "/webhook" }

// startPHPReceiver serves examples/php/SseController.php's webhook and
// online actions with php-cli's built-in server.
func startPHPReceiver(t *testing.T, secret string) exampleReceiver {
	t.Helper()
	php := needProgram(t, "php")
	dir := t.TempDir()
	router := filepath.Join(dir, "router.php")
	if err := os.WriteFile(router, []byte(webhookRouter), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cmd := exec.Command(php, "-S", addr, "-t", dir, router)
	cmd.Env = hermeticEnv("CONTROLLER="+examplePath(t, "php", "SseController.php"),
		"SSEHUB_WEBHOOK_SECRET="+secret, "SSEHUB_PRESENCE_FILE="+filepath.Join(dir, "presence.json"))
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("php -S:\n%s", logs.String())
		}
	})
	r := exampleReceiver{base: "http://" + addr}
	r.waitUp(t)
	return r
}

// startNodeReceiver runs examples/node/webhook.mjs on a free port.
func startNodeReceiver(t *testing.T, secret string) exampleReceiver {
	t.Helper()
	node := needProgram(t, "node")
	return startListeningReceiver(t, "webhook.mjs", exec.Command(node, examplePath(t, "node", "webhook.mjs")), secret)
}

// startGoReceiver builds and runs examples/go/webhook, the receiver made
// with the Go package client/webhook.
func startGoReceiver(t *testing.T, secret string) exampleReceiver {
	t.Helper()
	root, err := findRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "webhook")
	build := exec.Command("go", "build", "-o", bin, "./examples/go/webhook")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/go/webhook: %v\n%s", err, out)
	}
	return startListeningReceiver(t, "examples/go/webhook", exec.Command(bin), secret)
}

// startListeningReceiver runs an example receiver that prints
// {"listening": "<its webhook URL>"} first, and returns it.
func startListeningReceiver(t *testing.T, name string, cmd *exec.Cmd, secret string) exampleReceiver {
	t.Helper()
	cmd.Env = hermeticEnv("SSEHUB_WEBHOOK_SECRET="+secret, "PORT=0", "HOST=127.0.0.1")
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("%s stderr:\n%s", name, stderr.String())
		}
	})
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		t.Fatalf("%s printed nothing: %s", name, stderr.String())
	}
	var first struct{ Listening string }
	if err := json.Unmarshal(lines.Bytes(), &first); err != nil || first.Listening == "" {
		t.Fatalf("%s printed %q", name, lines.Text())
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }() // the events it prints; ends with the process
	return exampleReceiver{base: strings.TrimSuffix(first.Listening, "/webhook")}
}

func (r exampleReceiver) waitUp(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(r.base + "/online")
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("receiver at %s not up: %v", r.base, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// onlineAnswer is what the examples' /online answers.
type onlineAnswer struct {
	Subscribers []struct {
		Subscriber string
		User       string
		Topics     []string
		Payload    map[string]string
		ClientIP   string `json:"client_ip"`
	}
	Topics []string
}

func (r exampleReceiver) online(t *testing.T) onlineAnswer {
	t.Helper()
	resp, err := http.Get(r.base + "/online")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var o onlineAnswer
	if err := json.NewDecoder(resp.Body).Decode(&o); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /online: %d %v", resp.StatusCode, err)
	}
	return o
}

// waitOnline polls /online until cond holds.
func (r exampleReceiver) waitOnline(t *testing.T, what string, cond func(onlineAnswer) bool) onlineAnswer {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		o := r.online(t)
		if cond(o) {
			return o
		}
		if time.Now().After(deadline) {
			t.Fatalf("the example never showed %s: %+v", what, o)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// post sends body with the signature header given and returns the status.
func (r exampleReceiver) post(t *testing.T, body, signature string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, r.webhookURL(), strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if signature != "" {
		req.Header.Set(hook.SignatureHeader, signature)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestExampleWebhookReceivers runs the examples' receivers, the ThinkPHP
// controller's webhook action under php -S and webhook.mjs under node:
// they accept what the hub signs, refuse a wrong secret, a stale or
// missing signature and a changed body, ignore an event delivered again,
// and, behind a real hub, show who is online as subscribers come and go.
func TestExampleWebhookReceivers(t *testing.T) {
	const secret = "example-webhook-secret-0123456789"
	for name, start := range map[string]func(*testing.T, string) exampleReceiver{
		"php":  startPHPReceiver,
		"node": startNodeReceiver,
		"go":   startGoReceiver,
	} {
		t.Run(name, func(t *testing.T) {
			r := start(t, secret)
			checkSignatures(t, r, secret)
			checkPresence(t, r, secret)
		})
	}
}

func batchOf(id, typ, topic string) string {
	return fmt.Sprintf(`{"events":[{"id":%q,"type":%q,"time":"2026-01-02T03:04:05Z","topic":%q}]}`, id, typ, topic)
}

func checkSignatures(t *testing.T, r exampleReceiver, secret string) {
	now := time.Now()
	occupied := batchOf("evt_t_1", webhook.TopicOccupied, "probe")
	vacated := batchOf("evt_t_2", webhook.TopicVacated, "probe")
	sign := func(key, body string, at time.Time) string { return hook.Sign([]byte(key), []byte(body), at) }
	for _, tc := range []struct {
		name, body, signature string
		want                  int
	}{
		{"wrong secret", vacated, sign("another-secret-0123456789", vacated, now), http.StatusUnauthorized},
		{"no signature", vacated, "", http.StatusUnauthorized},
		{"stale", vacated, sign(secret, vacated, now.Add(-10*time.Minute)), http.StatusUnauthorized},
		{"changed body", strings.Replace(vacated, "probe", "other", 1), sign(secret, vacated, now), http.StatusUnauthorized},
		{"valid", occupied, sign(secret, occupied, now), http.StatusOK},
		{"wrong secret after", vacated, sign("another-secret-0123456789", vacated, now), http.StatusUnauthorized},
		{"not a batch", `{"hello":1}`, sign(secret, `{"hello":1}`, now), http.StatusBadRequest},
	} {
		if got := r.post(t, tc.body, tc.signature); got != tc.want && (tc.want != http.StatusOK || got/100 != 2) {
			t.Errorf("%s: status %d, want %d", tc.name, got, tc.want)
		}
	}
	if o := r.online(t); !slices.Equal(o.Topics, []string{"probe"}) {
		t.Fatalf("topics %q after the valid batch and the refused ones, want probe", o.Topics)
	}
	// The same vacated event twice, then the occupied again (its id was
	// seen): one change, the topic stays vacated.
	for range 2 {
		if got := r.post(t, vacated, sign(secret, vacated, now)); got/100 != 2 {
			t.Fatalf("vacated: %d", got)
		}
	}
	if got := r.post(t, occupied, sign(secret, occupied, now)); got/100 != 2 {
		t.Fatalf("occupied again: %d", got)
	}
	if o := r.online(t); len(o.Topics) != 0 {
		t.Errorf("topics %q: an event delivered again was applied again", o.Topics)
	}
}

// checkPresence runs a hub sending its webhooks to r: alice and bob
// subscribe, the example shows them; they leave, it shows nobody.
func checkPresence(t *testing.T, r exampleReceiver, secret string) {
	keys := authtest.NewKeys(t)
	srv := startServer(t, serverOptions{configure: func(c *app.Config) {
		c.JWTKey = string(keys.Secret)
		c.Webhook.URL, c.Webhook.Secret = r.webhookURL(), secret
	}})
	user := func(name string) client.Option {
		claims := authtest.Claims(nil, []string{"books/{id}"}, time.Now().Add(time.Hour))
		claims["sub"] = name
		claims["mercure"].(map[string]any)["payload"] = map[string]string{"name": strings.ToUpper(name[:1]) + name[1:]}
		return client.WithToken(keys.HS256(t, claims))
	}
	alice := goSubscribe(t, srv.URL, []string{"books/1"}, user("alice"))
	bob := goSubscribe(t, srv.URL, []string{"books/1", "books/2"}, user("bob"))
	o := r.waitOnline(t, "alice and bob", func(o onlineAnswer) bool { return len(o.Subscribers) == 2 })
	users := map[string]bool{}
	for _, s := range o.Subscribers {
		users[s.User] = true
		if s.ClientIP != "127.0.0.1" || s.Payload["name"] == "" || !slices.Contains(s.Topics, "books/1") {
			t.Errorf("subscriber %+v", s)
		}
	}
	slices.Sort(o.Topics)
	if !users["alice"] || !users["bob"] || !slices.Equal(o.Topics, []string{"books/1", "books/2"}) {
		t.Errorf("online %+v", o)
	}
	bob.Close()
	o = r.waitOnline(t, "bob gone", func(o onlineAnswer) bool { return len(o.Subscribers) == 1 })
	if o.Subscribers[0].User != "alice" || !slices.Equal(o.Topics, []string{"books/1"}) {
		t.Errorf("after bob left: %+v", o)
	}
	alice.Close()
	r.waitOnline(t, "nobody", func(o onlineAnswer) bool { return len(o.Subscribers) == 0 && len(o.Topics) == 0 })
}

// docBlock returns the first fenced code block of docs/api.md, of the
// given language, after the line holding marker.
func docBlock(t *testing.T, marker, lang string) string {
	t.Helper()
	return fencedBlock(t, filepath.Join("docs", "api.md"), marker, lang)
}

// TestDocWebhookVerify runs the verification code of docs/api.md's
// Webhooks section, in PHP and in Node, on requests the hub signs: a
// valid one passes; a wrong secret, a changed body, a stale or a missing
// signature fail.
func TestDocWebhookVerify(t *testing.T) {
	secret := "doc-webhook-secret-0123456789"
	body := `{"events":[{"id":"evt_1","type":"topic.occupied","time":"2026-01-02T03:04:05Z","topic":"books/1"}]}`
	now := time.Now()
	type check struct {
		Body, Header, Secret string
		Want                 bool
	}
	checks := []check{
		{body, hook.Sign([]byte(secret), []byte(body), now), secret, true},
		{body, hook.Sign([]byte(secret), []byte(body), now) + ",v1=00", secret, true},
		{body, hook.Sign([]byte("a wrong secret of the app"), []byte(body), now), secret, false},
		{strings.Replace(body, "books/1", "books/2", 1), hook.Sign([]byte(secret), []byte(body), now), secret, false},
		{body, hook.Sign([]byte(secret), []byte(body), now.Add(-6*time.Minute)), secret, false},
		{body, "", secret, false},
	}
	cases, _ := json.Marshal(checks)
	harnesses := map[string]struct {
		program, file, code string
	}{
		"php": {"php", "verify.php", "<?php\n" + docBlock(t, "PHP:\n", "php") + `
foreach (json_decode(file_get_contents('php://stdin'), true) as $c) {
    echo ssehub_verify($c['Body'], $c['Header'], $c['Secret']) ? "1" : "0";
}
`},
		"node": {"node", "verify.mjs", docBlock(t, "Node.js (`node:crypto`):\n", "js") + `
let input = '';
for await (const chunk of process.stdin) input += chunk;
process.stdout.write(JSON.parse(input).map((c) => (ssehubVerify(Buffer.from(c.Body), c.Header, c.Secret) ? '1' : '0')).join(''));
`},
	}
	var want strings.Builder
	for _, c := range checks {
		want.WriteString(map[bool]string{true: "1", false: "0"}[c.Want])
	}
	for name, h := range harnesses {
		t.Run(name, func(t *testing.T) {
			prog := needProgram(t, h.program)
			file := filepath.Join(t.TempDir(), h.file)
			if err := os.WriteFile(file, []byte(h.code), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(prog, file)
			cmd.Stdin = strings.NewReader(string(cases))
			out, err := cmd.CombinedOutput()
			if err != nil || string(out) != want.String() {
				t.Errorf("the documentation's %s verification: %q %v, want %q (one digit per check: valid, valid with a second v1, wrong secret, changed body, stale, missing)", name, out, err, want.String())
			}
		})
	}
}
