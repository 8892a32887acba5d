package client_test

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ssehub/ssehub/client"
)

// gate is a transport that can make subscribe requests fail as if the hub
// were unreachable, and reports the failures of those it lets through.
type gate struct {
	base   http.RoundTripper
	mu     sync.Mutex
	shut   bool
	failed chan error
}

func (g *gate) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodGet {
		return g.base.RoundTrip(r)
	}
	g.mu.Lock()
	shut := g.shut
	g.mu.Unlock()
	if shut {
		return nil, errors.New("gate: hub unreachable")
	}
	resp, err := g.base.RoundTrip(r)
	if err != nil {
		select {
		case g.failed <- err:
		default:
		}
	}
	return resp, err
}

func (g *gate) set(shut bool) {
	g.mu.Lock()
	g.shut = shut
	g.mu.Unlock()
}

// TestResumeAcrossRestart stops the hub, starts a new one on the same
// address and data directory, publishes through it while the subscriber is
// still away, and checks the subscriber gets every event once, in order.
func TestResumeAcrossRestart(t *testing.T) {
	tr := transport(t)
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	first := serve(t, cfg, "127.0.0.1:0")
	g := &gate{base: tr, failed: make(chan error, 16)}
	c := newClientWith(t, first.url(), g)
	gaps := make(chan string, 4)
	sub := subscribe(t, c, []string{"t"}, client.OnGap(func(sent string) { gaps <- sent }))

	var want []string
	check := func() {
		t.Helper()
		for _, id := range want {
			if ev := next(t, sub); ev.ID != id || ev.Gap {
				t.Fatalf("event = %+v, want id %s without gap", ev, id)
			}
		}
		want = want[:0]
	}
	for i := range 3 {
		want = append(want, publish(t, c, client.Update{Topics: []string{"t"}, Data: "before " + strconv.Itoa(i)}))
	}
	check()

	first.stop(t)
	// The subscriber finds the hub gone: its reconnections are refused.
	for range 2 {
		select {
		case <-g.failed:
		case <-time.After(wait):
			t.Fatal("the subscriber did not try to reconnect")
		}
	}
	g.set(true) // keep it away until the new hub has published
	second := serve(t, cfg, first.addr)
	for i := range 3 {
		want = append(want, publish(t, c, client.Update{Topics: []string{"t"}, Data: "during " + strconv.Itoa(i)}))
	}
	g.set(false)
	check()
	want = append(want, publish(t, c, client.Update{Topics: []string{"t"}, Data: "after"}))
	check()
	select {
	case ev := <-sub.Events():
		t.Errorf("unexpected event %+v", ev)
	case sent := <-gaps:
		t.Errorf("gap reported after %s: the durable history should have resumed", sent)
	default:
	}
	second.stop(t)
}

// TestGapReported restarts a hub that keeps history in memory: the new hub
// cannot resume after the subscriber's last id and says "earliest".
func TestGapReported(t *testing.T) {
	tr := transport(t)
	first := serve(t, testConfig(), "127.0.0.1:0")
	c := newClientWith(t, first.url(), tr)
	gaps := make(chan string, 4)
	sub := subscribe(t, c, []string{"t"}, client.OnGap(func(sent string) { gaps <- sent }))
	id := publish(t, c, client.Update{Topics: []string{"t"}, Data: "one"})
	if ev := next(t, sub); ev.ID != id || ev.Gap {
		t.Fatalf("event = %+v, want %s without gap", ev, id)
	}
	first.stop(t)
	serve(t, testConfig(), first.addr)
	select {
	case sent := <-gaps:
		if sent != id {
			t.Errorf("OnGap(%q), want the last id %q", sent, id)
		}
	case <-time.After(wait):
		t.Fatal("no gap reported")
	}
	if got := sub.LastEventID(); got != id {
		t.Errorf("LastEventID after the gap = %q, want still %q", got, id)
	}
	ids := []string{
		publish(t, c, client.Update{Topics: []string{"t"}, Data: "two"}),
		publish(t, c, client.Update{Topics: []string{"t"}, Data: "three"}),
	}
	for i, id := range ids {
		ev := next(t, sub)
		if ev.ID != id || ev.Gap != (i == 0) {
			t.Errorf("event %d = %+v, want %s with Gap %v", i, ev, id, i == 0)
		}
	}
}

func TestGapReportedOnFirstConnection(t *testing.T) {
	tr := transport(t)
	hub := serve(t, testConfig(), "127.0.0.1:0")
	c := newClientWith(t, hub.url(), tr)
	var sent []string // OnGap runs on the goroutine calling Subscribe here
	sub := subscribe(t, c, []string{"t"}, client.FromID("an id the hub never saw"),
		client.OnGap(func(id string) { sent = append(sent, id) }))
	if len(sent) != 1 || sent[0] != "an id the hub never saw" {
		t.Errorf("OnGap calls = %q, want the id sent", sent)
	}
	id := publish(t, c, client.Update{Topics: []string{"t"}})
	if ev := next(t, sub); ev.ID != id || !ev.Gap {
		t.Errorf("event = %+v, want %s with Gap", ev, id)
	}
}

// TestRetryHonoured drops the stream of a hub asking for a 300 ms
// reconnection time and measures when the subscriber comes back.
func TestRetryHonoured(t *testing.T) {
	tr := transport(t)
	cfg := testConfig()
	cfg.Retry = 300
	rec := newRecorder(nil)
	hub := serveWrapped(t, cfg, rec.wrap)
	c := newClientWith(t, hub.url(), tr, client.WithBackoff(time.Millisecond, 5*time.Second))
	sub := subscribe(t, c, []string{"t"})
	conn := rec.arrived(t)
	id := publish(t, c, client.Update{Topics: []string{"t"}})
	if ev := next(t, sub); ev.ID != id {
		t.Fatalf("event = %+v, want %s", ev, id)
	}
	dropped := time.Now()
	conn.drop()
	back := rec.arrived(t)
	// The wait is the 300 ms asked for plus up to as much jitter, far
	// above the 1 ms minimum the client would otherwise use.
	if d := back.at.Sub(dropped); d < 300*time.Millisecond || d > 3*time.Second {
		t.Errorf("reconnected %v after the drop, want about 300-600ms", d)
	}
	id = publish(t, c, client.Update{Topics: []string{"t"}})
	if ev := next(t, sub); ev.ID != id {
		t.Fatalf("event after the reconnection = %+v, want %s", ev, id)
	}
}

// TestStalledStreamReplaced serves a hub whose heartbeat never comes: the
// client drops the silent connection after its idle timeout and resumes.
func TestStalledStreamReplaced(t *testing.T) {
	tr := transport(t)
	cfg := testConfig()
	cfg.Heartbeat = time.Hour
	rec := newRecorder(nil)
	hub := serveWrapped(t, cfg, rec.wrap)
	c := newClientWith(t, hub.url(), tr, client.WithIdleTimeout(200*time.Millisecond))
	sub := subscribe(t, c, []string{"t"})
	first := rec.arrived(t)
	id := publish(t, c, client.Update{Topics: []string{"t"}})
	if ev := next(t, sub); ev.ID != id {
		t.Fatalf("event = %+v, want %s", ev, id)
	}
	again := rec.arrived(t)
	if d := again.at.Sub(first.at); d < 200*time.Millisecond {
		t.Errorf("reconnected %v after connecting, before the idle timeout", d)
	}
	id = publish(t, c, client.Update{Topics: []string{"t"}})
	if ev := next(t, sub); ev.ID != id || ev.Gap {
		t.Fatalf("event = %+v, want %s", ev, id)
	}
}
