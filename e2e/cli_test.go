package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/auth/authtest"
)

// cliResult is what one run of the binary did.
type cliResult struct {
	code           int
	stdout, stderr string
}

// hermeticEnv is the test's environment without SSEHUB_* variables, plus vars.
func hermeticEnv(vars ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SSEHUB_") {
			env = append(env, kv)
		}
	}
	return append(env, vars...)
}

// ssehub runs the real binary with args and the environment variables vars
// ("NAME=value"), for at most 30 seconds.
func ssehub(t *testing.T, vars []string, args ...string) cliResult {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = hermeticEnv(vars...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	code := 0
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("ssehub %s: %v", strings.Join(args, " "), err)
	}
	return cliResult{code, stdout.String(), stderr.String()}
}

// mustRun runs the binary and fails the test unless it succeeds.
func mustRun(t *testing.T, vars []string, args ...string) string {
	t.Helper()
	r := ssehub(t, vars, args...)
	if r.code != 0 {
		t.Fatalf("ssehub %s: exit %d\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// lines starts the binary with args and returns its standard output line
// by line; the command is killed when the test ends. wait reports its exit.
func lines(t *testing.T, args ...string) (out <-chan string, wait func() cliResult) {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = hermeticEnv()
	return startLines(t, cmd)
}

// startLines starts cmd and returns its standard output line by line; the
// command is killed when the test ends. wait waits for its exit.
func startLines(t *testing.T, cmd *exec.Cmd) (out <-chan string, wait func() cliResult) {
	t.Helper()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ch := make(chan string, 100)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		defer close(ch)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			ch <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		for range ch { // let the scanner finish
		}
		<-scanned
		_ = cmd.Wait()
	})
	return ch, func() cliResult {
		for range ch {
			t.Errorf("%s: more output than expected", cmd.Path)
		}
		<-scanned
		err := cmd.Wait()
		var exit *exec.ExitError
		code := 0
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		}
		return cliResult{code: code, stderr: stderr.String()}
	}
}

// nextLine waits for the next line of out.
func nextLine(t *testing.T, out <-chan string, what string) string {
	t.Helper()
	select {
	case l, ok := <-out:
		if !ok {
			t.Fatalf("%s: the command ended", what)
		}
		return l
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: no line in 20s", what)
		return ""
	}
}

// served is a running "ssehub serve".
type served struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once the process has been waited for
}

// kill ends the process with SIGKILL and waits for it.
func (s served) kill(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-s.exited
}

// serveCLI runs "ssehub serve args…" with vars until the test ends and
// waits until addr answers /healthz.
func serveCLI(t *testing.T, addr string, vars []string, args ...string) served {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"serve"}, args...)...)
	cmd.Env = hermeticEnv(vars...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			return served{cmd: cmd, exited: exited}
		}
		select {
		case <-exited:
			t.Fatalf("ssehub serve exited:\n%s", stderr.String())
		case <-time.After(20 * time.Millisecond): // polling a process that is starting
		}
		if time.Now().After(deadline) {
			t.Fatalf("ssehub serve did not start: %v\n%s", err, stderr.String())
		}
	}
}

// TestCLIPubSub publishes with "ssehub pub" and reads with "ssehub sub" in
// each format, from history and live, against the real binary serving.
func TestCLIPubSub(t *testing.T) {
	p := startBinary(t, "-data-dir", t.TempDir())
	u := p.base
	id1 := strings.TrimSpace(mustRun(t, nil, "pub", "-url", u, "-topic", "chat", "-data", "one", "-type", "note"))
	id2 := strings.TrimSpace(mustRun(t, []string{"SSEHUB_URL=" + u}, "pub", "-topic", "chat", "-topic", "alt", "-data", "two\nlines", "-id", "id-2"))
	id3 := strings.TrimSpace(mustRun(t, nil, "pub", "-url", u+"/.well-known/mercure", "-topic", "chat", "-data", `{"n":3}`))
	if id1 == "" || id2 != "id-2" || id3 == "" || id1 == id3 {
		t.Fatalf("ids %q %q %q", id1, id2, id3)
	}

	out := mustRun(t, nil, "sub", "-url", u, "-topic", "chat", "-from", "earliest", "-n", "3", "-format", "json")
	type event struct{ ID, Type, Data string }
	var got []event
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev event
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("sub -format json printed %q: %v", l, err)
		}
		got = append(got, ev)
	}
	want := []event{{id1, "note", "one"}, {"id-2", "message", "two\nlines"}, {id3, "message", `{"n":3}`}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("sub -format json\n got %v\nwant %v", got, want)
	}
	if raw := mustRun(t, nil, "sub", "-url", u, "-topic", "alt", "-from", "earliest", "-n", "1"); raw != "id: id-2\ndata: two\ndata: lines\n\n" {
		t.Errorf("sub -format raw: %q", raw)
	}

	// Live: events published after sub started, then sub stops at -n.
	live, wait := lines(t, "sub", "-url", u, "-topic", "chat", "-from", id3, "-n", "2", "-format", "data")
	mustRun(t, nil, "pub", "-url", u, "-topic", "chat", "-data", "four")
	mustRun(t, nil, "pub", "-url", u, "-topic", "chat", "-data", "five")
	if a, b := nextLine(t, live, "live 1"), nextLine(t, live, "live 2"); a != "four" || b != "five" {
		t.Errorf("live events %q %q", a, b)
	}
	if r := wait(); r.code != 0 {
		t.Errorf("sub -n 2: exit %d\n%s", r.code, r.stderr)
	}
}

// TestCLISubReconnects kills the hub under a running "ssehub sub" and
// restarts it: sub reconnects by itself and resumes with no gap.
func TestCLISubReconnects(t *testing.T) {
	addr, dir := freeAddr(t), t.TempDir()
	args := []string{"-addr", addr, "-data-dir", dir, "-retry", "100", "-log-level", "warn"}
	srv := serveCLI(t, addr, nil, args...)
	u := "http://" + addr
	start := strings.TrimSpace(mustRun(t, nil, "pub", "-url", u, "-topic", "r", "-data", "a"))
	out, wait := lines(t, "sub", "-url", u, "-topic", "r", "-from", start, "-n", "4", "-format", "json", "-v")
	mustRun(t, nil, "pub", "-url", u, "-topic", "r", "-data", "b")
	mustRun(t, nil, "pub", "-url", u, "-topic", "r", "-data", "c")
	got := []string{nextLine(t, out, "b"), nextLine(t, out, "c")}

	srv.kill(t)
	serveCLI(t, addr, nil, args...)
	mustRun(t, nil, "pub", "-url", u, "-topic", "r", "-data", "d")
	mustRun(t, nil, "pub", "-url", u, "-topic", "r", "-data", "e")
	got = append(got, nextLine(t, out, "d"), nextLine(t, out, "e"))
	var data []string
	for _, l := range got {
		var ev struct {
			Data string
			Gap  bool
		}
		if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.Gap {
			t.Errorf("event %q: %v (a gap?)", l, err)
		}
		data = append(data, ev.Data)
	}
	if strings.Join(data, "") != "bcde" {
		t.Errorf("events %v, want b c d e", data)
	}
	if r := wait(); r.code != 0 || !strings.Contains(r.stderr, "reconnecting") {
		t.Errorf("sub: exit %d; no reconnection logged with -v?\n%s", r.code, r.stderr)
	}
}

// TestCLITokenAndConfigFile starts the binary with a configuration file
// that sets a JWT key, and uses tokens minted by "ssehub token".
func TestCLITokenAndConfigFile(t *testing.T) {
	keys := authtest.NewKeys(t)
	addr := freeAddr(t)
	conf := filepath.Join(t.TempDir(), "ssehub.yaml")
	text := fmt.Sprintf("# the hub of this test\naddr: %q\njwt-key: %q\nanonymous-subscribe: false\ndata-dir: %q\nlog-level: warn\n",
		addr, keys.SecretFile, t.TempDir())
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	serveCLI(t, addr, []string{"SSEHUB_CONFIG=" + conf})
	u := "http://" + addr

	tok := strings.TrimSpace(mustRun(t, []string{"SSEHUB_JWT_KEY=" + string(keys.Secret)}, "token", "-publish", "*", "-subscribe", "*", "-ttl", "10m"))
	if strings.Count(tok, ".") != 2 {
		t.Fatalf("token %q is not a JWT", tok)
	}
	r := ssehub(t, nil, "pub", "-url", u, "-topic", "t", "-data", "x")
	if r.code != 1 || !strings.Contains(r.stderr, "401") || !strings.Contains(r.stderr, "-token") {
		t.Errorf("pub without a token: exit %d\n%s", r.code, r.stderr)
	}
	mustRun(t, []string{"SSEHUB_TOKEN=" + tok}, "pub", "-url", u, "-topic", "t", "-data", "public")
	mustRun(t, nil, "pub", "-url", u, "-token", tok, "-topic", "t", "-data", "private", "-private")
	r = ssehub(t, nil, "sub", "-url", u, "-topic", "t", "-from", "earliest", "-n", "1")
	if r.code != 1 || !strings.Contains(r.stderr, "401") {
		t.Errorf("sub without a token on a hub that wants one: exit %d\n%s", r.code, r.stderr)
	}
	out := mustRun(t, nil, "sub", "-url", u, "-token", tok, "-topic", "t", "-from", "earliest", "-n", "2", "-format", "data")
	if out != "public\nprivate\n" {
		t.Errorf("sub with the token: %q", out)
	}
	other := authtest.NewKeys(t)
	forged := strings.TrimSpace(mustRun(t, nil, "token", "-key", string(other.Secret), "-publish", "*"))
	if r := ssehub(t, nil, "pub", "-url", u, "-token", forged, "-topic", "t", "-data", "x"); r.code != 1 || !strings.Contains(r.stderr, "401") {
		t.Errorf("pub with a token of another key: exit %d\n%s", r.code, r.stderr)
	}
}

// TestCLIStartupErrors checks that the binary refuses bad configuration
// files with the file, line and key, and prints its version.
func TestCLIStartupErrors(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "bad.yaml")
	for text, mentions := range map[string][]string{
		"addr: \"127.0.0.1:0\"\nheartbeat: often\n": {"bad.yaml:2:", "heartbeat", "duration"},
		"hearbeat: 5s\n": {"bad.yaml:1:", `unknown key "hearbeat"`, `did you mean "heartbeat"`},
	} {
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		r := ssehub(t, nil, "-config", conf)
		for _, m := range mentions {
			if r.code != 1 || !strings.Contains(r.stderr, m) {
				t.Errorf("config %q: exit %d, want 1 and %q in\n%s", text, r.code, m, r.stderr)
			}
		}
	}
	if out := mustRun(t, nil, "-version"); !regexp.MustCompile(`^ssehub \S+ go1\.\d+`).MatchString(out) {
		t.Errorf("-version: %q", out)
	}
}

// TestCLIHealthcheck runs the HEALTHCHECK command of deploy/Dockerfile
// against a hub, and against none.
func TestCLIHealthcheck(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)HEALTHCHECK .*?CMD (\[[^\]]*\])`).FindSubmatch(b)
	var args []string
	if m == nil || json.Unmarshal(m[1], &args) != nil || len(args) < 2 || args[0] != "/ssehub" {
		t.Fatalf("no HEALTHCHECK CMD [\"/ssehub\", …] in deploy/Dockerfile")
	}
	p := startBinary(t, "-data-dir", t.TempDir())
	addr := strings.TrimPrefix(p.base, "http://")
	up := strings.Split(strings.ReplaceAll(strings.Join(args[1:], "\x00"), "127.0.0.1:8080", addr), "\x00")
	if out := mustRun(t, nil, up...); !strings.Contains(out, `"status":"ok"`) {
		t.Errorf("healthcheck: %q", out)
	}
	down := strings.Split(strings.ReplaceAll(strings.Join(args[1:], "\x00"), "127.0.0.1:8080", freeAddr(t)), "\x00")
	if r := ssehub(t, nil, down...); r.code != 1 {
		t.Errorf("healthcheck of no hub: exit %d\n%s", r.code, r.stderr)
	}
}
