package appauth_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/appauth"
)

// TestSlowApp checks that a call to an app that does not answer, or
// answers too slowly, fails at Timeout for the caller and every request
// merged with it, and that the app's request is abandoned then: no
// goroutine of the hub is left waiting for it (TestMain checks).
func TestSlowApp(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"no answer", "headers, then nothing"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			abandoned := make(chan struct{}, 1)
			a := newApp(t, func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body) // then net/http notices the hub hanging up
				if how != "no answer" {
					w.WriteHeader(200)
					io.WriteString(w, `{"subscribe":`)
					w.(http.Flusher).Flush()
				}
				<-r.Context().Done() // the hub hung up
				abandoned <- struct{}{}
			})
			const timeout = 200 * time.Millisecond
			c := newClient(t, appauth.Config{URL: a.URL, Timeout: timeout})
			start := time.Now()
			var wg sync.WaitGroup
			for range 50 {
				wg.Go(func() {
					_, err := c.Authorize(context.Background(), request("sid=alice"))
					var f *appauth.Failure
					if !errors.As(err, &f) || f.Kind != appauth.FailTimeout {
						t.Errorf("got %v, want a timeout", err)
					}
				})
			}
			wg.Wait()
			if d := time.Since(start); d < timeout || d > timeout+2*time.Second {
				t.Errorf("the requests failed after %v, want about %v", d, timeout)
			}
			select {
			case <-abandoned:
			case <-time.After(10 * time.Second):
				t.Fatal("the app's request is still open")
			}
			if n := a.calls.Load(); n != 1 {
				t.Errorf("%d calls, want 1", n)
			}
		})
	}
}

// TestUnreachable checks a closed port: a failure of kind unreachable.
func TestUnreachable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := newClient(t, appauth.Config{URL: "http://" + addr + "/auth"})
	_, err = c.Authorize(context.Background(), request("sid=alice"))
	var f *appauth.Failure
	if !errors.As(err, &f) || f.Kind != appauth.FailUnreachable {
		t.Errorf("got %v, want unreachable", err)
	}
	if st := c.Stats(); st.Failures[appauth.FailUnreachable] != 1 || st.Calls != 1 {
		t.Errorf("stats %+v", st)
	}
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Split(strings.TrimSpace(s.b.String()), "\n")
}

// TestFailureLog checks that a run of failures logs one line per kind of
// failure, naming the app's URL and its status, and that the app
// answering again is logged once.
func TestFailureLog(t *testing.T) {
	t.Parallel()
	var mode atomic.Value
	mode.Store("500")
	a := newApp(t, func(w http.ResponseWriter, r *http.Request) {
		switch mode.Load() {
		case "500":
			fixed(500, `oops`)(w, r)
		case "garbage":
			fixed(200, `oops`)(w, r)
		default:
			fixed(200, `{}`)(w, r)
		}
	})
	var logs syncBuffer
	c := newClient(t, appauth.Config{URL: a.URL + "/auth", Cache: -1, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	for _, m := range []string{"500", "garbage"} {
		mode.Store(m)
		for i := range 20 {
			if _, err := c.Authorize(context.Background(), request(fmt.Sprintf("sid=%d", i))); !errors.Is(err, appauth.ErrUnavailable) {
				t.Fatalf("%s: %v", m, err)
			}
		}
	}
	mode.Store("ok")
	for range 3 {
		if _, err := c.Authorize(context.Background(), request("sid=1")); err != nil {
			t.Fatal(err)
		}
	}
	lines := logs.lines()
	if len(lines) != 3 {
		t.Fatalf("%d log lines, want 3 (one per kind of failure, one for the recovery):\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for i, want := range []string{"kind=status status=500", "kind=malformed status=200", "answers again"} {
		if !strings.Contains(lines[i], want) || !strings.Contains(lines[i], "url="+a.URL+"/auth") {
			t.Errorf("line %d: %s\nwant %q and the URL", i, lines[i], want)
		}
	}
	if !strings.Contains(lines[2], "failures=40") {
		t.Errorf("the recovery line does not count the 40 failures: %s", lines[2])
	}
	st := c.Stats()
	if st.Failures[appauth.FailStatus] != 20 || st.Failures[appauth.FailMalformed] != 20 || st.Granted != 3 || st.Calls != 43 {
		t.Errorf("stats %+v", st)
	}
	var observed uint64
	for _, n := range st.Latency.Counts {
		observed += n
	}
	if observed != 43 || st.Latency.Sum <= 0 || len(st.Latency.Counts) != len(st.Latency.Bounds)+1 {
		t.Errorf("latency %+v, want 43 observations", st.Latency)
	}
}

// TestStaleConnection checks that a call the app drops, unanswered, on a
// connection kept alive from an earlier call (its keepalive timeout, a
// restart) is made again on a new connection rather than failing.
func TestStaleConnection(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns, requests atomic.Int64
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			first := conns.Add(1) == 1
			wg.Go(func() {
				defer conn.Close()
				br := bufio.NewReader(conn)
				for i := 0; ; i++ {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					requests.Add(1)
					if first && i == 1 {
						return // the second call on the first connection: dropped
					}
					io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
				}
			})
		}
	})
	c := newClient(t, appauth.Config{URL: "http://" + ln.Addr().String()})
	for _, sid := range []string{"sid=alice", "sid=bob"} {
		if _, err := c.Authorize(context.Background(), request(sid)); err != nil {
			t.Fatalf("%s: %v", sid, err)
		}
	}
	if n, r := conns.Load(), requests.Load(); n != 2 || r != 3 {
		t.Errorf("%d connections and %d requests, want bob's call dropped once and made again on a second connection", n, r)
	}
}
