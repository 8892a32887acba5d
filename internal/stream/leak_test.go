package stream_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.uber.org/goleak"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/app/apptest"
)

// TestNoLeaks connects 100 subscribers, has them all leave, and checks that
// their subscriptions are gone and no goroutine is left behind. It does not
// run in parallel, so that other tests' goroutines do not count.
// Streams are served both by the app's own server, which takes subscription
// streams over from net/http, and by a plain one.
func TestNoLeaks(t *testing.T) {
	for _, takeOver := range []bool{true, false} {
		t.Run(fmt.Sprintf("takeOver=%v", takeOver), func(t *testing.T) { testNoLeaks(t, takeOver) })
	}
}

func testNoLeaks(t *testing.T, takeOver bool) {
	ignore := goleak.IgnoreCurrent()
	cfg := app.DefaultConfig()
	cfg.DataDir = t.TempDir()
	a, err := app.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(a.Handler())
	if takeOver {
		srv.Config = a.Server()
	}
	srv.Start()
	tr := &http.Transport{MaxIdleConnsPerHost: 128}
	s := &apptest.Server{App: a, Srv: srv, URL: srv.URL, Client: &http.Client{Transport: tr}}

	const n = 100
	var streams []*apptest.Stream
	for i := range n {
		path := apptest.Query("/.well-known/mercure", "topic", "https://example.com/leak", "topic", "https://example.com/{x}")
		switch i % 4 {
		case 1:
			path = apptest.Query("/events", "topic", "*")
		case 2:
			path = "/gbi/sse/search"
		}
		st, err := s.Dial(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		streams = append(streams, st)
	}
	s.WaitSubscribers(t, n)
	s.Publish(t, "https://example.com/leak", "one")
	for _, st := range streams {
		if ev := st.Next(t); ev.Data != "one" && st.Resp.Request.URL.Path != "/gbi/sse/search" {
			t.Errorf("got %q, want one", ev.Data)
		}
	}
	for _, st := range streams {
		st.Close()
	}
	s.WaitSubscribers(t, 0)

	tr.CloseIdleConnections()
	srv.Close()
	_ = a.Close(context.Background())
	goleak.VerifyNone(t, ignore)
}
