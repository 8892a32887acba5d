package loadtest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/app/apptest"
	"github.com/ssehub/ssehub/internal/auth/authtest"
	"github.com/ssehub/ssehub/internal/tlstest"
)

// TestMain runs the test binary as a child process of a run when the
// parent (TestRunChildren) re-executes it, as a cluster node to kill when
// TestRunReconnectsAfterANodeIsKilled starts it, and otherwise fails the package
// if a test leaves a goroutine behind.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(Main(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
	}
	if spec := os.Getenv(nodeEnv); spec != "" {
		serveNode(spec) // until killed
	}
	goleak.VerifyTestMain(m)
}

// startHub serves an in-process ssehub with durable history in a temporary
// directory and returns its mercure URL; edit, when not nil, changes its
// configuration first.
func startHub(t *testing.T, edit func(*app.Config)) string {
	return startHubTLS(t, edit, false)
}

// startHubTLS is startHub, serving HTTPS with a self-signed certificate
// when useTLS.
func startHubTLS(t *testing.T, edit func(*app.Config), useTLS bool) string {
	t.Helper()
	cfg := app.DefaultConfig()
	cfg.DataDir = t.TempDir()
	// The tests publish from one address as fast as the hub acknowledges.
	cfg.Limits.PublishRate, cfg.Limits.MaxConnectionsPerIP = 0, 0
	// Models far faster than the real one, under -race on shared cores,
	// publish late by the hub's measure: only -llm-max-running refuses here.
	cfg.LLMMaxLateness = 0
	cfg.LLMMaxPerClient = 0 // every generation comes from one address
	if edit != nil {
		edit(&cfg)
	}
	a, err := app.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(a.Handler())
	if useTLS {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(func() {
		srv.Close()
		if err := a.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return srv.URL + "/.well-known/mercure"
}

func testConfig(urls ...string) Config {
	cfg := DefaultConfig()
	cfg.URLs = urls
	cfg.Warmup = 0
	cfg.Timeout = 60 * time.Second
	cfg.ServerPIDs = []int{os.Getpid()} // the hubs run in this process
	return cfg
}

// TestRunSsehub runs the tool against ssehub: every event reaches every
// subscriber of its topic once, in order.
func TestRunSsehub(t *testing.T) {
	tests := []struct {
		name                      string
		topics, publishers, procs int
		goroutines                bool // -goroutine-readers rather than epoll
	}{
		{"one topic, one publisher", 1, 1, 1, false},
		{"five topics, four publishers", 5, 4, 1, false},
		{"two child processes", 3, 2, 2, false},
		{"a goroutine per stream", 5, 4, 1, true},
		{"a goroutine per stream, two child processes", 3, 2, 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.goroutines {
				defer waitReceiveTimes(t)() // every delivery then has its arrival time
			}
			cfg := testConfig(startHub(t, nil))
			cfg.Subscribers, cfg.Events = 50, 200
			cfg.Topics, cfg.Publishers, cfg.Procs = tt.topics, tt.publishers, tt.procs
			cfg.NoPoll = tt.goroutines
			res, err := Run(t.Context(), cfg, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			want := expectedDeliveries(cfg)
			if res.Connections != 50 || res.Failed != 0 || res.StreamErrors != 0 || res.Published != 200 || res.PublishErrors != 0 {
				t.Fatalf("connections %d, failed %d, stream errors %d, published %d, publish errors %d; errors %v",
					res.Connections, res.Failed, res.StreamErrors, res.Published, res.PublishErrors, res.Errors)
			}
			if res.Lost != 0 || res.Duplicates != 0 || res.OutOfOrder != 0 || res.Delivered != want || res.Expected != want {
				t.Errorf("delivered %d of %d expected (want %d): lost %d, duplicates %d, out of order %d",
					res.Delivered, res.Expected, want, res.Lost, res.Duplicates, res.OutOfOrder)
			}
			if res.DeliveriesPerS <= 0 || res.LatencyP50ms <= 0 || res.LatencyMaxms < res.LatencyP99ms || res.ServerRSSAfterKiB <= 0 {
				t.Errorf("implausible figures: %+v", res)
			}
			// The epoll readers also measure when the bytes reached the
			// socket, which is never after they were read.
			wantArrivals := want
			if tt.goroutines || runtime.GOOS != "linux" {
				wantArrivals = 0
			}
			if res.ArrivalCount != wantArrivals || res.ArrivalP50ms > res.LatencyP50ms || res.ArrivalP99ms > res.LatencyP99ms || res.ArrivalMaxms > res.LatencyMaxms {
				t.Errorf("arrival: %d measured (want %d), p50 %.3f, p99 %.3f, max %.3f ms; read: p50 %.3f, p99 %.3f, max %.3f ms",
					res.ArrivalCount, wantArrivals, res.ArrivalP50ms, res.ArrivalP99ms, res.ArrivalMaxms, res.LatencyP50ms, res.LatencyP99ms, res.LatencyMaxms)
			}
			if res.TimedOut {
				t.Error("timed out")
			}
		})
	}
}

// TestRunTLS runs the tool against ssehub over HTTPS.
func TestRunTLS(t *testing.T) {
	url := startHubTLS(t, nil, true)
	if !strings.HasPrefix(url, "https://127.0.0.1:") {
		t.Fatalf("hub URL %s", url)
	}
	cfg := testConfig(url)
	cfg.Subscribers, cfg.Events = 10, 20
	res, err := Run(t.Context(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if res.Connections != 10 || res.Published != 20 || res.Delivered != 200 || res.Lost != 0 {
		t.Errorf("connections %d, published %d, delivered %d, lost %d; want 10, 20, 200, 0 (errors %v)",
			res.Connections, res.Published, res.Delivered, res.Lost, res.Errors)
	}
}

// TestRunH2 runs the tool with -h2 against ssehub's own HTTP/2 (the app
// served with its certificate, as the binary is): every subscriber on an
// HTTP/2 connection of its own, the publishers on theirs; events of 100
// bytes and of 40 KB (several frames, each larger than a read).
func TestRunH2(t *testing.T) {
	acfg := app.DefaultConfig()
	acfg.DataDir, acfg.Addr, acfg.ShutdownTimeout = t.TempDir(), "127.0.0.1:0", 2*time.Second
	acfg.Limits.PublishRate, acfg.Limits.MaxConnectionsPerIP = 0, 0
	acfg.TLSCert, acfg.TLSKey, _ = tlstest.SelfSigned(t)
	s := apptest.Serve(t, acfg, "https", &http.Transport{})
	cfg := testConfig(s.URL + "/.well-known/mercure")
	cfg.H2 = true
	cfg.Subscribers, cfg.Events, cfg.Publishers = 20, 50, 4
	res, err := Run(t.Context(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if res.Connections != 20 || res.Published != 50 || res.Delivered != 1000 || res.Lost != 0 || res.Duplicates != 0 {
		t.Errorf("connections %d, published %d, delivered %d, lost %d, duplicates %d; want 20, 50, 1000, 0, 0 (errors %v)",
			res.Connections, res.Published, res.Delivered, res.Lost, res.Duplicates, res.Errors)
	}
	// Events larger than a read: a DATA frame's rest is read later.
	cfg.Subscribers, cfg.Events, cfg.Payload = 5, 20, 40<<10
	if res, err = Run(t.Context(), cfg, io.Discard); err != nil {
		t.Fatal(err)
	}
	if res.Delivered != 100 || res.Lost != 0 || res.Duplicates != 0 {
		t.Errorf("40 KB events: delivered %d, lost %d, duplicates %d; want 100, 0, 0 (errors %v)",
			res.Delivered, res.Lost, res.Duplicates, res.Errors)
	}
	cfg.URLs = []string{"http://127.0.0.1:1/.well-known/mercure"}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "-h2 needs https://") {
		t.Errorf("-h2 with an http:// hub: %v, want it refused", err)
	}
}

// TestRunJWT runs the tool against an ssehub that requires tokens: with
// -jwt every event arrives; without, the refusals are counted.
func TestRunJWT(t *testing.T) {
	keys := authtest.NewKeys(t)
	url := startHub(t, func(c *app.Config) {
		c.JWTKey, c.AnonymousSubscribe = string(keys.Secret), false
	})
	token := keys.HS256(t, authtest.Claims([]string{"*"}, []string{"*"}, time.Now().Add(time.Hour)))
	cfg := testConfig(url)
	cfg.Subscribers, cfg.Events, cfg.JWT = 10, 20, token
	res, err := Run(t.Context(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if res.Connections != 10 || res.Published != 20 || res.Delivered != 200 || res.Lost != 0 {
		t.Errorf("with a token: connections %d, published %d, delivered %d, lost %d; want 10, 20, 200, 0 (errors %v)",
			res.Connections, res.Published, res.Delivered, res.Lost, res.Errors)
	}
	cfg.JWT = ""
	if res, err = Run(t.Context(), cfg, io.Discard); err != nil {
		t.Fatal(err)
	}
	if res.Failed != 10 || res.PublishErrors != 20 || res.Errors["status 401"] != 10 || res.Errors["publish: status 401"] != 20 {
		t.Errorf("without a token: failed %d, publish errors %d, errors %v; want 10 and 20 refused with 401",
			res.Failed, res.PublishErrors, res.Errors)
	}
}

// expectedDeliveries counts the events each subscriber's topic gets.
func expectedDeliveries(cfg Config) int64 {
	var n int64
	for i := range cfg.Subscribers {
		k := i % cfg.Topics
		n += int64((cfg.Events - k + cfg.Topics - 1) / cfg.Topics)
	}
	return n
}

// TestRunHangingHub checks that a hub that accepts connections and never
// answers costs failed connections, not a run past its timeout.
func TestRunHangingHub(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 100)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for c := range accepted {
			c.Close()
		}
	})
	cfg := testConfig("http://" + ln.Addr().String() + "/.well-known/mercure")
	cfg.ServerPIDs = nil
	cfg.Subscribers, cfg.Events, cfg.Timeout, cfg.ConnectTimeout = 10, 100, 2*time.Second, 300*time.Millisecond
	start := time.Now()
	res, err := Run(t.Context(), cfg, io.Discard)
	if took := time.Since(start); took > cfg.Timeout+500*time.Millisecond {
		t.Errorf("the run took %v with a %v timeout", took, cfg.Timeout)
	}
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed != 10 || res.Connections != 0 || !res.TimedOut || res.Published != 0 {
		t.Errorf("failed %d, connections %d, timed out %v, published %d; want 10, 0, true, 0",
			res.Failed, res.Connections, res.TimedOut, res.Published)
	}
}

// TestRunBrokenStreams checks that streams the hub ends early are counted
// with their missing events as lost, and do not hold up the run.
func TestRunBrokenStreams(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			_, _ = io.WriteString(w, "urn:uuid:1")
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, ": hello\n\n")
		w.(http.Flusher).Flush()
		if strings.HasSuffix(r.URL.Query().Get("topic"), "-1") {
			<-r.Context().Done() // topic bench-1's streams stay open
		}
	}))
	defer srv.Close()
	cfg := testConfig(srv.URL)
	cfg.ServerPIDs = nil
	cfg.Subscribers, cfg.Topics, cfg.Events, cfg.Drain = 6, 2, 10, 200*time.Millisecond
	res, err := Run(t.Context(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	// 3 streams of bench-0 break; all 6 streams miss their topic's 5 events.
	if res.Connections != 6 || res.StreamErrors != 3 || res.Published != 10 || res.Expected != 30 || res.Lost != 30 || res.TimedOut {
		t.Errorf("connections %d, stream errors %d, published %d, expected %d, lost %d, timed out %v; want 6, 3, 10, 30, 30, false",
			res.Connections, res.StreamErrors, res.Published, res.Expected, res.Lost, res.TimedOut)
	}
}

// TestMainExitCodes runs the command's entry point: one JSON line with
// -json, and the documented exit codes.
func TestMainExitCodes(t *testing.T) {
	url := startHub(t, nil)
	var stdout, stderr strings.Builder
	args := []string{"-url", url, "-subscribers", "3", "-events", "5", "-warmup", "0", "-json"}
	if code := Main(t.Context(), args, strings.NewReader(""), &stdout, &stderr, noenv); code != 0 {
		t.Fatalf("exit code %d; stderr %s", code, stderr.String())
	}
	var res Result
	if err := json.Unmarshal([]byte(stdout.String()), &res); err != nil || strings.Count(stdout.String(), "\n") != 1 {
		t.Fatalf("stdout %q is not one JSON line: %v", stdout.String(), err)
	}
	if res.Delivered != 15 || res.Lost != 0 || stderr.Len() != 0 {
		t.Errorf("delivered %d, lost %d, stderr %q; want 15, 0, nothing", res.Delivered, res.Lost, stderr.String())
	}
	tests := []struct {
		args []string
		code int
	}{
		{[]string{"-h"}, 0},
		{[]string{"-url", "http://192.0.2.1/"}, 2},
		{[]string{"-subscribers", "0"}, 2},
		{[]string{"-url", "http://127.0.0.1:1/", "-subscribers", "2", "-events", "0", "-warmup", "0", "-json"}, 1}, // nothing listens
	}
	for _, tt := range tests {
		if code := Main(t.Context(), tt.args, strings.NewReader(""), io.Discard, io.Discard, noenv); code != tt.code {
			t.Errorf("%q: exit code %d, want %d", tt.args, code, tt.code)
		}
	}
}
