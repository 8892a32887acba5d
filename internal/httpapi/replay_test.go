package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/app/apptest"
	"github.com/ssehub/ssehub/internal/hub"
)

// TestReplaySeam disconnects a subscriber while a publisher keeps going and
// reconnects it with its last event id: what it got before and after must be
// exactly the published sequence, with no gap and no duplicate.
func TestReplaySeam(t *testing.T) {
	t.Parallel()
	const topic = "https://example.com/seam"
	base := apptest.Query("/.well-known/mercure", "topic", topic)
	tests := []struct {
		name   string
		resume func(last string) (path string, hdr http.Header)
	}{
		{"header", func(last string) (string, http.Header) {
			return base, apptest.Header("Last-Event-ID", last)
		}},
		{"query parameter", func(last string) (string, http.Header) {
			return base + "&" + url.Values{"lastEventID": {last}}.Encode(), nil
		}},
		{"header wins over query", func(last string) (string, http.Header) {
			return base + "&lastEventID=" + hub.Earliest, apptest.Header("Last-Event-ID", last)
		}},
		{"events route", func(last string) (string, http.Header) {
			return apptest.Query("/events", "topic", topic), apptest.Header("Last-Event-ID", last)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const k = 30
			s := newServer(t, nil)
			first := s.OpenStream(t, base, nil)
			s.WaitSubscribers(t, 1)

			pub := startPublisher(s, topic)
			defer func() { _, _ = pub.stop() }()
			got, err := first.Read(k)
			if err != nil {
				t.Fatal(err)
			}
			last := first.Parser.LastEventID()
			if last != got[k-1].ID {
				t.Fatalf("parser's last event id %q, want %q", last, got[k-1].ID)
			}
			first.Close()
			// Let updates pile up while it is away, then reconnect while the
			// publisher is still going.
			apptest.WaitFor(t, "updates while away", func() bool { return s.App.Hub().Stats().Published >= k+100 })
			path, hdr := tc.resume(last)
			second := s.OpenStream(t, path, hdr)
			if h := second.Resp.Header.Get("Last-Event-ID"); h != last {
				t.Errorf("Last-Event-ID response header = %q, want %q", h, last)
			}
			seen := s.App.Hub().Stats().Published
			apptest.WaitFor(t, "updates after reconnecting", func() bool { return s.App.Hub().Stats().Published >= seen+50 })
			want, err := pub.stop()
			if err != nil {
				t.Fatal(err)
			}
			for {
				ev := second.Next(t)
				got = append(got, ev)
				if ev.Data == "end" || len(got) > len(want) {
					break
				}
			}
			if d := apptest.DiffIDs(apptest.IDs(got), want); d != "" {
				t.Errorf("events before and after reconnecting differ from the published sequence: %s", d)
			}
		})
	}
}

// publisher publishes numbered updates to a topic until stopped, then one
// whose data is "end".
type publisher struct {
	s      *server
	done   chan struct{}
	finish sync.Once
	wg     sync.WaitGroup
	ids    []string
	err    error
}

func startPublisher(s *server, topic string) *publisher {
	p := &publisher{s: s, done: make(chan struct{})}
	p.wg.Go(func() {
		ctx := context.Background()
		for i := 0; ; i++ {
			data := strconv.Itoa(i)
			select {
			case <-p.done:
				data = "end"
			default:
			}
			var (
				status int
				body   string
				err    error
			)
			if i%2 == 0 {
				status, body, err = s.PublishForm(ctx, "/.well-known/mercure", url.Values{"topic": {topic}, "data": {data}})
			} else {
				status, body, err = s.PublishJSON(ctx, "/publish", map[string]any{"topic": topic, "data": data})
			}
			if err == nil && status != http.StatusOK {
				err = fmt.Errorf("status %d: %s", status, body)
			}
			if err != nil {
				p.err = fmt.Errorf("publish %d: %w", i, err)
				return
			}
			p.ids = append(p.ids, body)
			if data == "end" {
				return
			}
		}
	})
	return p
}

// stop stops the publisher and returns the ids it published, in order,
// and the error that stopped it early, if any.
func (p *publisher) stop() ([]string, error) {
	p.finish.Do(func() { close(p.done) })
	p.wg.Wait()
	return p.ids, p.err
}

// TestResumeCases covers the other resume points: "earliest", an unknown id,
// a publisher's own id, and ids that history has evicted.
func TestResumeCases(t *testing.T) {
	t.Parallel()
	const topic = "https://example.com/resume"
	sub := apptest.Query("/events", "topic", topic)

	publishN := func(t *testing.T, s *server, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = s.Publish(t, topic, "u"+strconv.Itoa(i))
		}
		return out
	}
	// expect reads want, then checks the next event is a fresh sentinel so
	// nothing else was queued.
	expect := func(t *testing.T, s *server, st *apptest.Stream, want []string) {
		t.Helper()
		got, err := st.Read(len(want))
		if err != nil {
			t.Fatal(err)
		}
		if d := apptest.DiffIDs(apptest.IDs(got), want); d != "" {
			t.Fatalf("replayed ids: %s", d)
		}
		end := s.Publish(t, topic, "sentinel")
		if ev := st.Next(t); ev.ID != end {
			t.Fatalf("after the expected events got %q (%q), want the sentinel %q", ev.ID, ev.Data, end)
		}
	}

	t.Run("earliest replays everything", func(t *testing.T) {
		t.Parallel()
		s := newServer(t, nil)
		all := publishN(t, s, 20)
		st := s.OpenStream(t, sub+"&lastEventID=earliest", nil)
		if h := st.Resp.Header.Get("Last-Event-ID"); h != hub.Earliest {
			t.Errorf("Last-Event-ID = %q, want %q", h, hub.Earliest)
		}
		expect(t, s, st, all)
	})
	t.Run("unknown id gives only live events", func(t *testing.T) {
		t.Parallel()
		s := newServer(t, nil)
		publishN(t, s, 5)
		st := s.OpenStream(t, sub, apptest.Header("Last-Event-ID", "no-such-event"))
		if h := st.Resp.Header.Get("Last-Event-ID"); h != hub.Earliest {
			t.Errorf("Last-Event-ID = %q, want %q", h, hub.Earliest)
		}
		s.WaitSubscribers(t, 1)
		expect(t, s, st, publishN(t, s, 3))
	})
	t.Run("publisher id", func(t *testing.T) {
		t.Parallel()
		s := newServer(t, nil)
		live := s.OpenStream(t, sub, nil)
		s.WaitSubscribers(t, 1)
		before := publishN(t, s, 2)
		if id := s.Publish(t, topic, "mine", "id", "book-1"); id != "book-1" {
			t.Fatalf("publish with id=book-1 answered %q", id)
		}
		after := publishN(t, s, 3)
		expect(t, s, live, append(append(before, "book-1"), after...))

		st := s.OpenStream(t, sub, apptest.Header("Last-Event-ID", "book-1"))
		if h := st.Resp.Header.Get("Last-Event-ID"); h != "book-1" {
			t.Errorf("Last-Event-ID = %q, want book-1", h)
		}
		got, err := st.Read(len(after))
		if err != nil {
			t.Fatal(err)
		}
		if d := apptest.DiffIDs(apptest.IDs(got), after); d != "" {
			t.Errorf("resumed after book-1: %s", d)
		}
	})
	t.Run("bounded history", func(t *testing.T) {
		t.Parallel()
		s := newServer(t, func(c *app.Config) { c.HistoryEvents = 10 })
		all := publishN(t, s, 30)

		evicted := s.OpenStream(t, sub, apptest.Header("Last-Event-ID", all[4]))
		if h := evicted.Resp.Header.Get("Last-Event-ID"); h != hub.Earliest {
			t.Errorf("resuming from evicted %q: Last-Event-ID = %q, want %q", all[4], h, hub.Earliest)
		}
		retained := s.OpenStream(t, sub, apptest.Header("Last-Event-ID", all[24]))
		if h := retained.Resp.Header.Get("Last-Event-ID"); h != all[24] {
			t.Errorf("resuming from retained %q: Last-Event-ID = %q", all[24], h)
		}
		s.WaitSubscribers(t, 2)
		got, err := evicted.Read(10)
		if err != nil {
			t.Fatal(err)
		}
		if d := apptest.DiffIDs(apptest.IDs(got), all[20:]); d != "" {
			t.Errorf("resumed from an evicted id: %s", d)
		}
		expect(t, s, retained, all[25:])
	})
}

// TestReplayLargerThanQueue resumes from "earliest" with far more history
// than a subscriber's queue holds: a replay must not count as overflowing.
func TestReplayLargerThanQueue(t *testing.T) {
	t.Parallel()
	const topic = "https://example.com/backlog"
	s := newServer(t, func(c *app.Config) { c.QueueSize = 16 })
	var want []string
	for i := range 200 {
		want = append(want, s.Publish(t, topic, strconv.Itoa(i)))
	}
	st := s.OpenStream(t, apptest.Query("/events", "topic", topic, "lastEventID", hub.Earliest), nil)
	got, err := st.Read(len(want))
	if err != nil {
		t.Fatal(err)
	}
	if d := apptest.DiffIDs(apptest.IDs(got), want); d != "" {
		t.Errorf("replay: %s", d)
	}
	if cut := s.App.Hub().Stats().SlowCut; cut != 0 {
		t.Errorf("Stats().SlowCut = %d after a replay, want 0", cut)
	}
}

// TestPrivateUpdates checks that, without authorization, private updates
// reach no subscriber, live or replayed.
func TestPrivateUpdates(t *testing.T) {
	t.Parallel()
	const topic = "https://example.com/secret"
	s := newServer(t, nil)
	live := []*apptest.Stream{
		s.OpenStream(t, apptest.Query("/events", "topic", topic), nil),
		s.OpenStream(t, apptest.Query("/events", "topic", "*"), nil),
		s.OpenStream(t, apptest.Query("/events", "topic", "https://example.com/{x}"), nil),
	}
	s.WaitSubscribers(t, len(live))
	s.Publish(t, topic, "hidden", "private", "on")
	status, body, err := s.PublishJSON(context.Background(), "/publish", map[string]any{"topic": topic, "data": "hidden too", "private": true})
	if err != nil || status != http.StatusOK {
		t.Fatalf("JSON private publish: %d %q %v", status, body, err)
	}
	public := s.Publish(t, topic, "public")
	replayed := s.OpenStream(t, apptest.Query("/events", "topic", topic, "lastEventID", hub.Earliest), nil)
	for i, st := range append(live, replayed) {
		if ev := st.Next(t); ev.ID != public {
			t.Errorf("subscriber %d got %q (%q), want only the public update %q", i, ev.ID, ev.Data, public)
		}
	}
}
