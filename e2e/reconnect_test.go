package e2e

import (
	"context"
	"log/slog"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ssehub/ssehub/internal/app"
)

// serveOn runs the app of cfg with App.Serve on ln; stop (also called when
// the test ends) shuts it down gracefully and waits for Serve to return.
func serveOn(t *testing.T, cfg app.Config, ln net.Listener) (stop func()) {
	t.Helper()
	a, err := app.New(cfg, slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- a.Serve(ctx, ln) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-errc; err != nil {
				t.Errorf("Serve: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// TestBrowsersReconnectSpreadOut: a hub shutting down tells each stream
// when to come back (-retry plus a random part of -reconnect-spread), and
// Chromium's EventSources, all cut at the same moment, reconnect to the hub
// started in its place over that span rather than all at once.
func TestBrowsersReconnectSpreadOut(t *testing.T) {
	cfg := app.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.Retry, cfg.ReconnectSpread = 200, 3*time.Second
	cfg.ShutdownTimeout = 5 * time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	stopFirst := serveOn(t, cfg, ln)

	b := newBrowser(t)
	tb := b.tab("streams")
	tb.do("open a page of the hub", chromedp.Navigate("http://"+addr+"/healthz"))
	// Five streams: Chromium opens at most six HTTP/1.1 connections to a host.
	const streams = 5
	eval[bool](tb, `(() => {
		window.opens = [];
		for (let i = 0; i < 5; i++) {
			const es = new EventSource('/events?topic=spread' + i);
			es.onopen = () => window.opens.push([i, performance.now()]);
		}
		return true;
	})()`)
	tb.waitFor("the streams open", `window.opens.length === 5`)

	stopFirst()
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen again on %s: %v", addr, err)
	}
	serveOn(t, cfg, ln)
	tb.waitFor("the streams back", `window.opens.length === 10`)

	back := eval[[][]float64](tb, `window.opens.slice(5)`)
	var who []int
	var at []float64
	for _, o := range back {
		who, at = append(who, int(o[0])), append(at, o[1])
	}
	slices.Sort(who)
	if !slices.Equal(who, []int{0, 1, 2, 3, 4}) {
		t.Errorf("streams back: %v, want each of the %d once", who, streams)
	}
	// Told nothing, all five come back within a few milliseconds of each
	// other (12 ms when measured); told 200 ms plus up to 3 s each, they
	// spread: five draws within 150 ms of each other happen about once in
	// 30,000 runs.
	if span := slices.Max(at) - slices.Min(at); span < 150 {
		t.Errorf("the streams came back within %.0f ms of each other (at %v), want them spread", span, at)
	}
}
