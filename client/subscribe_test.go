package client_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ssehub/ssehub/client"
)

func TestRoundTrip(t *testing.T) {
	tr := transport(t)
	hub := serve(t, testConfig(), "127.0.0.1:0")
	c := newClientWith(t, hub.url(), tr)
	sub := subscribe(t, c, []string{"chat"})
	var ids []string
	for _, data := range []string{"hello", "world", `{"message":"hi"}`} {
		ids = append(ids, publish(t, c, client.Update{Topics: []string{"chat"}, Data: data, Type: "message"}))
		ev := next(t, sub)
		if ev.ID != ids[len(ids)-1] || ev.Data != data || ev.Type != "message" || ev.Gap {
			t.Errorf("event = %+v, want id %s data %q", ev, ids[len(ids)-1], data)
		}
	}
	sub.Close()
	closed(t, sub, wait)
	if err := sub.Err(); err != nil {
		t.Errorf("Err after Close = %v, want nil", err)
	}
	if got := sub.LastEventID(); got != ids[2] {
		t.Errorf("LastEventID = %q, want %q", got, ids[2])
	}
	sub.Close() // a second Close is harmless
}

func TestSeveralTopics(t *testing.T) {
	tr := transport(t)
	hub := serve(t, testConfig(), "127.0.0.1:0")
	c := newClientWith(t, hub.url(), tr)
	sub := subscribe(t, c, []string{"a", "b", "books/{id}"})
	updates := []struct {
		topics []string
		wanted bool
	}{
		{[]string{"a"}, true},
		{[]string{"c"}, false},
		{[]string{"b"}, true},
		{[]string{"c", "a"}, true}, // an alternate topic matches
		{[]string{"a", "b"}, true}, // delivered once although both match
		{[]string{"books/7"}, true},
		{[]string{"books/7/pages"}, false},
		{[]string{"b"}, true},
	}
	var want []string
	for i, u := range updates {
		id := publish(t, c, client.Update{Topics: u.topics, Data: string(rune('0' + i))})
		if u.wanted {
			want = append(want, id)
		}
	}
	for i, id := range want {
		if ev := next(t, sub); ev.ID != id {
			t.Fatalf("event %d = %+v, want id %s", i, ev, id)
		}
	}
	select {
	case ev := <-sub.Events():
		t.Errorf("unexpected event %+v", ev)
	default:
	}
}

func TestResumeFromEarliestAndFromID(t *testing.T) {
	tr := transport(t)
	hub := serve(t, testConfig(), "127.0.0.1:0")
	c := newClientWith(t, hub.url(), tr)
	publish(t, c, client.Update{Topics: []string{"other"}, Data: "not ours"})
	var ids []string
	for _, data := range []string{"one", "two", "three"} {
		ids = append(ids, publish(t, c, client.Update{Topics: []string{"t"}, Data: data}))
	}
	tests := []struct {
		name string
		opts []client.SubscribeOption
		from string // LastEventID before any event
		want []string
	}{
		{"earliest", []client.SubscribeOption{client.FromEarliest()}, client.Earliest, ids},
		{"after the first", []client.SubscribeOption{client.FromID(ids[0])}, ids[0], ids[1:]},
		{"after the last", []client.SubscribeOption{client.FromID(ids[2])}, ids[2], nil},
		{"no option", nil, "", nil},
	}
	newest := ids[2]
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			liveTopic := "live/" + tt.name
			sub := subscribe(t, c, []string{"t", liveTopic}, tt.opts...)
			start := newest // with no option: the hub's newest id
			if tt.opts != nil {
				start = tt.from
			}
			if got := sub.LastEventID(); got != start {
				t.Errorf("LastEventID before any event = %q, want %q", got, start)
			}
			for _, id := range tt.want {
				if ev := next(t, sub); ev.ID != id || ev.Gap {
					t.Fatalf("event = %+v, want id %s without gap", ev, id)
				}
			}
			newest = publish(t, c, client.Update{Topics: []string{liveTopic}, Data: "live"})
			if ev := next(t, sub); ev.ID != newest {
				t.Fatalf("event = %+v, want the live one %s", ev, newest)
			}
		})
	}
}

func TestContextCancelEndsEverything(t *testing.T) {
	tr := transport(t)
	hub := serve(t, testConfig(), "127.0.0.1:0")
	c := newClientWith(t, hub.url(), tr)
	publish(t, c, client.Update{Topics: []string{"t"}, Data: "warm up the connection pool"})
	tr.CloseIdleConnections()
	before := goleak.IgnoreCurrent()

	ctx, cancel := context.WithCancel(context.Background())
	sub, err := c.Subscribe(ctx, []string{"t"})
	if err != nil {
		t.Fatal(err)
	}
	publish(t, c, client.Update{Topics: []string{"t"}, Data: "left unread"})
	start := time.Now()
	cancel()
	closed(t, sub, 2*time.Second)
	if d := time.Since(start); d > time.Second {
		t.Errorf("Events closed %v after the cancel", d)
	}
	if err := sub.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("Err = %v, want context.Canceled", err)
	}
	sub.Close()
	tr.CloseIdleConnections()
	goleak.VerifyNone(t, before)
}

func TestCancelWhileConnecting(t *testing.T) {
	tr := transport(t)
	rec := newRecorder(func(_ int, w http.ResponseWriter) bool {
		refuse(w, http.StatusServiceUnavailable, "", "3600") // come back in an hour
		return true
	})
	hub := serveWrapped(t, testConfig(), rec.wrap)
	c := newClientWith(t, hub.url(), tr)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := c.Subscribe(ctx, []string{"t"})
		errc <- err
	}()
	rec.arrived(t)
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Subscribe = %v, want context.Canceled", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Subscribe did not return after the cancel")
	}
	if n := rec.count(); n != 1 {
		t.Errorf("%d subscribe requests, want 1 (Retry-After is an hour)", n)
	}
}

func TestSlowConsumerIsBoundedAndResumes(t *testing.T) {
	tr := transport(t)
	cfg := testConfig()
	cfg.QueueSize = 4
	cfg.HistoryBytes = 256 << 20
	cfg.HistoryTotal = 512 << 20
	cfg.HistoryEvents = 100000
	hub := serveWrapped(t, cfg, func(h http.Handler) http.Handler { return h })
	c := newClientWith(t, hub.url(), tr)
	sub := subscribe(t, c, []string{"t"})

	// Publish, not reading, until the hub cuts the subscriber off: the
	// client must not have buffered what the hub could not send.
	data := strings.Repeat("x", 32<<10)
	var ids []string
	for hub.app.Hub().Stats().SlowCut == 0 {
		if len(ids) == 4000 {
			t.Fatal("the hub never cut the unread subscriber off")
		}
		ids = append(ids, publish(t, c, client.Update{Topics: []string{"t"}, Data: data}))
	}
	ids = append(ids, publish(t, c, client.Update{Topics: []string{"t"}, Data: "after the cut"}))
	for i, id := range ids {
		ev := next(t, sub)
		if ev.ID != id || ev.Gap {
			t.Fatalf("event %d of %d = id %s gap %v, want %s without gap", i, len(ids), ev.ID, ev.Gap, id)
		}
	}
}
