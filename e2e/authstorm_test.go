package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A reconnect storm against the authorization callback: every browser of
// a page comes back at once (a deploy, a network blip), each asking the
// hub, which asks the app. The hub must ask the app about each session
// once, not once per browser, and open the streams quickly all the same.

// stormStreams and stormSessions are the storm of issue #23: 10,000
// streams opening at once, 50 distinct sessions among them.
const (
	stormStreams  = 10000
	stormSessions = 50
)

// stormApp is an app that takes appDelay to answer each call, like a PHP
// app reading its session, and counts the calls. It runs in a process of
// its own, as an app does: in the storm's process it would wait for a CPU
// behind the storm's 10,000 goroutines.
type stormApp struct {
	URL string
}

const appDelay = 10 * time.Millisecond

// stormAppEnv names the address a test binary started as the storm's app
// serves on (see TestStormAppProcess).
const stormAppEnv = "SSEHUB_E2E_STORM_APP"

func newStormApp(tb testing.TB) *stormApp {
	tb.Helper()
	needOpenFiles(tb, stormStreams+1000)
	addr := freeAddr(tb)
	cmd := exec.Command(os.Args[0], "-test.run=^TestStormAppProcess$")
	cmd.Env = append(hermeticEnv(), stormAppEnv+"="+addr)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	a := &stormApp{URL: "http://" + addr}
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := a.calls(); err == nil {
			return a
		} else if time.Now().After(deadline) {
			tb.Fatalf("the storm's app did not start: %v", err)
		}
		time.Sleep(20 * time.Millisecond) // polling a process that is starting
	}
}

// calls returns how many calls the app answered.
func (a *stormApp) calls() (int64, error) {
	resp, err := http.Get(a.URL + "/calls")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var n int64
	err = json.NewDecoder(resp.Body).Decode(&n)
	return n, err
}

// mustCalls is calls, failing the test on an error.
func (a *stormApp) mustCalls(tb testing.TB) int64 {
	tb.Helper()
	n, err := a.calls()
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// TestStormAppProcess is the storm's app when the test binary is started
// as one (see newStormApp); otherwise it does nothing. It serves until
// killed.
func TestStormAppProcess(t *testing.T) {
	addr := os.Getenv(stormAppEnv)
	if addr == "" {
		return
	}
	var calls atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /calls", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(calls.Load())
	})
	mux.HandleFunc("POST /sse/auth", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		time.Sleep(appDelay) // the app's own work, not a wait for an event
		c, err := r.Cookie("sid")
		if err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"subscribe":["orders/%s"],"user":%q,"expires_in":300}`, c.Value, c.Value)
	})
	t.Fatal(http.ListenAndServe(addr, mux))
}

// startStormHub starts the binary asking app, without the per-client
// limit (every stream comes from 127.0.0.1). The callback's timeout is
// longer than the default's 2 s: on a machine shared with other work (or
// the race detector) the app itself may be that slow to get a CPU, and the
// storm is about how often it is asked.
func startStormHub(tb testing.TB, app *stormApp) *process {
	return startBinary(tb, "-data-dir", "", "-max-connections-per-ip", "0", "-auth-url", app.URL+"/sse/auth", "-auth-timeout", "10s")
}

// needOpenFiles skips the test (fails it under CI=true) unless this
// process, and so the hub it starts, may open n files.
func needOpenFiles(tb testing.TB, n uint64) {
	tb.Helper()
	if limit := openFileLimit(); limit < n {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("the storm needs %d open files, the limit is %d (ulimit -n)", n, limit)
		}
		tb.Skipf("the storm needs %d open files, the limit is %d (ulimit -n)", n, limit)
	}
}

// storm opens n streams on the hub at base, all at once, the i-th with
// the cookie of session prefix+(i mod sessions), and returns how long each
// took to open: from its dial to the answer's 200 and the stream's first
// bytes. The streams stay open until every one has opened, then close.
func storm(tb testing.TB, base string, n, sessions int, prefix string) []time.Duration {
	tb.Helper()
	addr := strings.TrimPrefix(base, "http://")
	took := make([]time.Duration, n)
	conns := make([]net.Conn, n)
	errs := make(chan error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			user := fmt.Sprintf("%s%d", prefix, i%sessions)
			t0 := time.Now()
			conn, err := net.DialTimeout("tcp", addr, 30*time.Second)
			if err != nil {
				errs <- err
				return
			}
			conns[i] = conn
			_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
			fmt.Fprintf(conn, "GET /events?topic=orders/%s HTTP/1.1\r\nHost: %s\r\nCookie: sid=%s\r\nAccept: text/event-stream\r\n\r\n", user, addr, user)
			if err := readOpening(conn); err != nil {
				errs <- fmt.Errorf("stream %d: %w", i, err)
				return
			}
			took[i] = time.Since(t0)
		})
	}
	close(start)
	wg.Wait()
	for _, c := range conns {
		if c != nil {
			c.(*net.TCPConn).SetLinger(0) // no TIME_WAIT left to use up ports
			c.Close()
		}
	}
	close(errs)
	failed := 0
	for err := range errs {
		if failed++; failed <= 3 {
			tb.Error(err)
		}
	}
	if failed > 0 {
		tb.Fatalf("%d of %d streams did not open", failed, n)
	}
	return took
}

// readOpening reads a stream's answer until its head and first bytes
// have come, checking its status is 200: the hub sends both at once. It
// reads into a small buffer with no HTTP parser, so that the storm's own
// CPU, on the hub's machine, stays small.
func readOpening(conn net.Conn) error {
	var buf [1024]byte
	n := 0
	for {
		m, err := conn.Read(buf[n:])
		n += m
		head := buf[:n]
		if end := bytes.Index(head, []byte("\r\n\r\n")); end >= 0 && n > end+4 {
			if !bytes.HasPrefix(head, []byte("HTTP/1.1 200 ")) {
				line, _, _ := bytes.Cut(head, []byte("\r\n"))
				return fmt.Errorf("answered %q", line)
			}
			return nil
		}
		if err != nil {
			return err
		}
		if n == len(buf) {
			return fmt.Errorf("no stream in the first %d bytes: %q", n, head)
		}
	}
}

// percentile returns the p-th percentile (0 < p ≤ 100) of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// waitNoStreams polls the hub's health until it holds no subscriber.
func waitNoStreams(tb testing.TB, base string) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var h struct{ Subscribers int }
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&h)
			resp.Body.Close()
		}
		if err == nil && h.Subscribers == 0 {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the hub still has %d subscribers (%v)", h.Subscribers, err)
		}
		time.Sleep(50 * time.Millisecond) // polling another process
	}
}

// TestAuthCallbackStorm opens 10,000 streams at once, 50 sessions among
// them, on the real binary asking an app: every stream opens, and the app
// is asked once per session, not once per stream. The time to open is
// logged; BenchmarkAuthCallbackStorm measures it.
func TestAuthCallbackStorm(t *testing.T) {
	app := newStormApp(t)
	hub := startStormHub(t, app)
	took := storm(t, hub.base, stormStreams, stormSessions, "u")
	if n := app.mustCalls(t); n > 300 {
		t.Errorf("%d streams of %d sessions made %d calls to the app, want a few hundred at most (one per session: %d)", stormStreams, stormSessions, n, stormSessions)
	}
	slices.Sort(took)
	t.Logf("%d streams, %d sessions: %d calls to the app; time to open p50 %v, p99 %v, max %v",
		stormStreams, stormSessions, app.mustCalls(t), percentile(took, 50), percentile(took, 99), took[len(took)-1])
}

// BenchmarkAuthCallbackStorm measures the storm: each iteration opens
// 10,000 streams at once with 50 new sessions (so no cached answer helps)
// and reports the time to open them and the calls made to the app; the
// same storm of anonymous streams on a hub without the callback is the
// baseline, what the machine takes to open 10,000 streams at once.
//
//	go test -run '^$' -bench AuthCallbackStorm -benchtime 5x ./e2e/
func BenchmarkAuthCallbackStorm(b *testing.B) {
	b.Run("anonymous", func(b *testing.B) {
		needOpenFiles(b, stormStreams+1000)
		benchStorm(b, nil, startBinary(b, "-data-dir", "", "-max-connections-per-ip", "0"))
	})
	b.Run("callback", func(b *testing.B) {
		app := newStormApp(b)
		benchStorm(b, app, startStormHub(b, app))
	})
}

// benchStorm runs storms on hub, asking app unless it is nil.
func benchStorm(b *testing.B, app *stormApp, hub *process) {
	var all []time.Duration
	round := 0
	for b.Loop() {
		round++
		all = append(all, storm(b, hub.base, stormStreams, stormSessions, fmt.Sprintf("r%du", round))...)
		b.StopTimer()
		waitNoStreams(b, hub.base)
		b.StartTimer()
	}
	slices.Sort(all)
	b.ReportMetric(float64(percentile(all, 50).Microseconds())/1000, "p50-open-ms")
	b.ReportMetric(float64(percentile(all, 99).Microseconds())/1000, "p99-open-ms")
	b.ReportMetric(float64(all[len(all)-1].Microseconds())/1000, "max-open-ms")
	if app != nil {
		b.ReportMetric(float64(app.mustCalls(b))/float64(round), "app-calls/op")
	}
}
