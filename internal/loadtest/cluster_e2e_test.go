package loadtest

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/redis/redistest"
)

// TestRunCluster runs the tool against two ssehub nodes sharing a real
// redis-server: every event, published through either node, reaches every
// subscriber of its topic on both nodes once, in order.
func TestRunCluster(t *testing.T) {
	tests := []struct {
		name                      string
		topics, publishers, procs int
	}{
		{"one topic, one process", 1, 4, 1},
		{"three topics, two child processes", 3, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := redistest.Start(t)
			node := func(c *app.Config) { c.Redis.URL = srv.URL() }
			cfg := testConfig(startHub(t, node), startHub(t, node))
			cfg.Subscribers, cfg.Events = 60, 300
			cfg.Topics, cfg.Publishers, cfg.Procs = tt.topics, tt.publishers, tt.procs
			res, err := Run(t.Context(), cfg, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			want := expectedDeliveries(cfg)
			if res.Hubs != 2 || !reflect.DeepEqual(res.ConnByHub, []int{30, 30}) || res.Failed != 0 || res.StreamErrors != 0 ||
				res.Published != 300 || res.PublishErrors != 0 {
				t.Fatalf("hubs %d, connections by hub %v, failed %d, stream errors %d, published %d, publish errors %d; errors %v",
					res.Hubs, res.ConnByHub, res.Failed, res.StreamErrors, res.Published, res.PublishErrors, res.Errors)
			}
			if res.Lost != 0 || res.Duplicates != 0 || res.OutOfOrder != 0 || res.Delivered != want || res.Expected != want ||
				!reflect.DeepEqual(res.LostByHub, []int64{0, 0}) {
				t.Errorf("delivered %d of %d expected (want %d): lost %d %v, duplicates %d, out of order %d",
					res.Delivered, res.Expected, want, res.Lost, res.LostByHub, res.Duplicates, res.OutOfOrder)
			}
			if res.TimedOut || res.LatencyP50ms <= 0 {
				t.Errorf("timed out %v, p50 %v ms", res.TimedOut, res.LatencyP50ms)
			}
		})
	}
}

// TestRunReconnectsAfterANodeIsKilled runs -reconnect against two nodes
// on a real redis-server, publishing through the first only, and kills
// the second (a process of its own, SIGKILL) mid-run: its subscribers
// reconnect to the first with the Last-Event-ID of the last event they
// read, and miss nothing, receive nothing twice.
func TestRunReconnectsAfterANodeIsKilled(t *testing.T) {
	srv := redistest.Start(t)
	node := func(c *app.Config) { c.Redis.URL = srv.URL() }
	second, kill := startNodeProcess(t, srv.URL())
	cfg := testConfig(startHub(t, node), second)
	cfg.Subscribers, cfg.Events, cfg.Publishers, cfg.Rate = 40, 400, 4, 400
	cfg.Reconnect, cfg.PublishVia = true, 1
	go func() {
		time.Sleep(cfg.Warmup + 500*time.Millisecond) // about half of the events published
		kill()
	}()
	res, err := Run(t.Context(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := expectedDeliveries(cfg)
	if res.Published != 400 || res.Reconnects < 20 || res.StreamErrors != 0 {
		t.Fatalf("published %d, reconnects %d (want the 20 of the second node at least), stream errors %d; errors %v",
			res.Published, res.Reconnects, res.StreamErrors, res.Errors)
	}
	if res.Lost != 0 || res.Duplicates != 0 || res.OutOfOrder != 0 || res.Delivered != want {
		t.Errorf("delivered %d (want %d): lost %d %v, duplicates %d, out of order %d",
			res.Delivered, want, res.Lost, res.LostByHub, res.Duplicates, res.OutOfOrder)
	}
}

// nodeEnv, set, makes the test binary serve a hub node (serveNode):
// "ADDR REDIS-URL DATA-DIR".
const nodeEnv = "SSEHUB_BENCH_TEST_NODE"

// serveNode serves a cluster node as spec says until the process is
// killed; it exits on a failure to start.
func serveNode(spec string) {
	f := strings.Fields(spec)
	cfg := app.DefaultConfig()
	cfg.Redis.URL, cfg.DataDir = f[1], f[2]
	cfg.Limits.PublishRate, cfg.Limits.MaxConnectionsPerIP = 0, 0
	a, err := app.New(cfg, slog.New(slog.DiscardHandler))
	if err == nil {
		var ln net.Listener
		if ln, err = net.Listen("tcp", f[0]); err == nil {
			err = (&http.Server{Handler: a.Handler()}).Serve(ln)
		}
	}
	fmt.Fprintln(os.Stderr, "node:", err)
	os.Exit(2)
}

// startNodeProcess starts a cluster node on the Redis at redisURL in a
// process of its own (this test binary, serveNode) and returns its URL and
// a function that kills it.
func startNodeProcess(t *testing.T, redisURL string) (string, func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(os.Args[0], "-test.run", "^$")
	cmd.Env = append(os.Environ(), nodeEnv+"="+addr+" "+redisURL+" "+t.TempDir())
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	kill := func() { _ = cmd.Process.Kill() }
	t.Cleanup(func() { kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node on %s did not start: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond) // polling another process
	}
	return "http://" + addr + "/.well-known/mercure", kill
}
