package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/cli"
)

// TestMain fails the package if a command leaves a goroutine behind.
func TestMain(m *testing.M) {
	code := m.Run()
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines left behind:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// hub serves ssehub in memory on 127.0.0.1 until the test ends.
func hub(t *testing.T, configure func(*app.Config)) string {
	t.Helper()
	cfg := app.DefaultConfig()
	cfg.DataDir = ""
	if configure != nil {
		configure(&cfg)
	}
	a, err := app.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() {
		a.Close(context.Background())
		srv.Close()
	})
	return srv.URL
}

// result is what a command did.
type result struct {
	code           int
	stdout, stderr string
}

// run runs the command line args with the environment vars.
func run(t *testing.T, vars map[string]string, args ...string) result {
	t.Helper()
	return runIn(t, context.Background(), vars, "", args...)
}

func runIn(t *testing.T, ctx context.Context, vars map[string]string, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := cli.Run(ctx, args, cli.Env{
		Stdin: strings.NewReader(stdin), Stdout: &stdout, Stderr: &stderr,
		Getenv: func(k string) string { return vars[k] }, Version: "v9.9.9-test",
	})
	return result{code, stdout.String(), stderr.String()}
}

// ok runs args and fails the test unless the command succeeds.
func ok(t *testing.T, vars map[string]string, args ...string) string {
	t.Helper()
	r := run(t, vars, args...)
	if r.code != cli.ExitOK {
		t.Fatalf("ssehub %s: exit %d\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// TestPubSub publishes with pub and reads the events back with sub in
// every format.
func TestPubSub(t *testing.T) {
	t.Parallel()
	url := hub(t, nil)
	id1 := strings.TrimSpace(ok(t, nil, "pub", "-url", url, "-topic", "chat", "-data", "hello", "-type", "note"))
	id2 := strings.TrimSpace(ok(t, nil, "pub", "-url", url, "-topic", "chat", "-data", "two\nlines", "-id", "custom-2", "-retry", "2s"))
	id3 := strings.TrimSpace(runIn(t, context.Background(), map[string]string{"SSEHUB_URL": url}, "from stdin\n",
		"publish", "-topic", "other", "-topic", "chat", "-data", "-").stdout)
	if id1 == "" || id2 != "custom-2" || id3 == "" {
		t.Fatalf("ids %q %q %q", id1, id2, id3)
	}

	raw := ok(t, nil, "sub", "-url", url+"/.well-known/mercure", "-topic", "chat", "-from", "earliest", "-n", "3")
	wantRaw := fmt.Sprintf("id: %s\nevent: note\ndata: hello\n\nid: custom-2\nretry: 2000\ndata: two\ndata: lines\n\nid: %s\ndata: from stdin\n\n", id1, id3)
	if raw != wantRaw {
		t.Errorf("raw output\n%q\nwant\n%q", raw, wantRaw)
	}

	out := ok(t, map[string]string{"SSEHUB_URL": url}, "subscribe", "-topic", "chat", "-from", id1, "-n", "2", "-format", "json")
	var got []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("json line %q: %v", line, err)
		}
		got = append(got, ev)
	}
	if len(got) != 2 || got[0]["id"] != "custom-2" || got[0]["data"] != "two\nlines" || got[0]["type"] != "message" ||
		got[0]["retry"] != float64(2000) || got[1]["id"] != id3 {
		t.Errorf("json output %v", got)
	}

	data := ok(t, nil, "sub", "-url", url, "-topic", "*", "-from", "earliest", "-n", "2", "-format", "data")
	if data != "hello\ntwo\nlines\n" {
		t.Errorf("data output %q", data)
	}
}

// TestSubLive tails a topic while updates are published, and stops at -n.
func TestSubLive(t *testing.T) {
	t.Parallel()
	url := hub(t, nil)
	start := strings.TrimSpace(ok(t, nil, "pub", "-url", url, "-topic", "live", "-data", "before"))
	var (
		wg  sync.WaitGroup
		res result
	)
	wg.Go(func() {
		res = run(t, nil, "sub", "-url", url, "-topic", "live", "-from", start, "-n", "3", "-format", "data")
	})
	for i := range 3 {
		ok(t, nil, "pub", "-url", url, "-topic", "live", "-data", fmt.Sprint("live ", i))
	}
	wg.Wait()
	if res.code != 0 || res.stdout != "live 0\nlive 1\nlive 2\n" {
		t.Errorf("sub: exit %d, output %q\n%s", res.code, res.stdout, res.stderr)
	}
}

// TestSubStopsWithContext checks that sub ends cleanly when interrupted.
func TestSubStopsWithContext(t *testing.T) {
	t.Parallel()
	url := hub(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan result, 1)
	go func() { done <- runIn(t, ctx, nil, "", "sub", "-url", url, "-topic", "quiet", "-v") }()
	waitSubscribers(t, url, 1)
	cancel()
	select {
	case r := <-done:
		if r.code != cli.ExitOK || !strings.Contains(r.stderr, "stopped after 0 events") {
			t.Errorf("interrupted sub: exit %d\n%s", r.code, r.stderr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sub did not stop")
	}
}

// waitSubscribers waits until the hub's /healthz counts n subscribers.
func waitSubscribers(t *testing.T, url string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var h struct{ Subscribers int }
		if err := json.Unmarshal([]byte(ok(t, nil, "health", "-url", url)), &h); err != nil {
			t.Fatal(err)
		}
		if h.Subscribers >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d subscribers, want %d", h.Subscribers, n)
		}
		time.Sleep(10 * time.Millisecond) // polling the hub's count: no event to wait on
	}
}
