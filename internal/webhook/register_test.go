package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/bolt"
	"github.com/ssehub/ssehub/internal/webhook"
	"github.com/ssehub/ssehub/internal/webhook/webhooktest"
)

// openRegister opens the register of dir, closed when the test ends.
func openRegister(t *testing.T, dir string) *bolt.Register {
	t.Helper()
	reg, err := bolt.OpenRegister(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Close() })
	return reg
}

// TestRegisterFollowsSubscribers: one node writes its open subscribers
// down as they start and end, each with what its end event needs, and has
// none left once closed after their ends.
func TestRegisterFollowsSubscribers(t *testing.T) {
	r := webhooktest.Start(t, secret)
	reg := openRegister(t, t.TempDir())
	d := start(t, r.URL, func(c *webhook.Config) { c.Register = reg })
	alice := sub("urn:uuid:a", "books/1", "books/{id}")
	alice.User = "alice"
	d.Started(alice)
	d.Started(sub("urn:uuid:b", "books/1"))
	eventually(t, "two subscribers written down", func() bool { open, _ := reg.Open(); return len(open) == 2 })
	open, _ := reg.Open()
	var rec struct {
		Subscriber, User string
		Topics           []string
	}
	if err := json.Unmarshal(open["urn:uuid:a"], &rec); err != nil || rec.Subscriber != "urn:uuid:a" || rec.User != "alice" || len(rec.Topics) != 2 {
		t.Fatalf("alice's record %s: %+v, %v", open["urn:uuid:a"], rec, err)
	}
	d.Ended(alice)
	eventually(t, "alice forgotten", func() bool { open, _ := reg.Open(); return len(open) == 1 && open["urn:uuid:b"] != nil })
	d.Ended(sub("urn:uuid:b", "books/1"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if open, err := reg.Open(); err != nil || len(open) != 0 {
		t.Fatalf("after every end and a clean close: %d open, %v", len(open), err)
	}
	if keys, _, err := reg.Queued(); err != nil || len(keys) != 0 {
		t.Fatalf("after every event sent and a clean close: %d queued, %v", len(keys), err)
	}
}

// TestRestartEndsWhatACrashLeftOpen: the events a crashed process had not
// sent go first, under their ids; then the subscribers it left in the
// register get subscription.ended (node_restarted), oldest first, then
// their topics topic.vacated, before any new event; the register forgets
// them.
func TestRestartEndsWhatACrashLeftOpen(t *testing.T) {
	dir := t.TempDir()
	crashed, err := bolt.OpenRegister(dir)
	if err != nil {
		t.Fatal(err)
	}
	crashedRun := webhook.New(webhook.Config{URL: "http://127.0.0.1:1/unused", Secret: secret, Register: crashed,
		Types: []string{webhook.SubscriptionStarted}}) // its own events never sent
	older := sub("urn:uuid:old", "chat/1", "chat/2")
	older.Since = time.Now().Add(-time.Hour)
	crashedRun.Started(older)
	crashedRun.Started(sub("urn:uuid:new", "chat/2"))
	eventually(t, "the crashed run's subscribers written down", func() bool { open, _ := crashed.Open(); return len(open) == 2 })
	// The crash: the process ends without ending its subscribers; its
	// goroutines are stopped here only so that the test leaks none.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = crashedRun.Close(ctx)
	if err := crashed.Close(); err != nil {
		t.Fatal(err)
	}

	r := webhooktest.Start(t, secret)
	reg := openRegister(t, dir)
	d := start(t, r.URL, func(c *webhook.Config) { c.Register = reg })
	d.Started(sub("urn:uuid:next", "chat/1"))
	evs := r.Wait(t, 5*time.Second, "8 events", func(evs []webhook.Event) bool { return len(evs) >= 8 })
	var got []string
	for _, ev := range evs {
		got = append(got, strings.TrimSpace(ev.Type+" "+ev.Subscriber+ev.Topic+" "+ev.Reason))
	}
	want := []string{"subscription.started urn:uuid:old", "subscription.started urn:uuid:new",
		"subscription.ended urn:uuid:old node_restarted", "subscription.ended urn:uuid:new node_restarted",
		"topic.vacated chat/1", "topic.vacated chat/2", "subscription.started urn:uuid:next", "topic.occupied chat/1"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if evs[2].Since == nil || evs[2].Since.Sub(older.Since).Abs() > time.Millisecond {
		t.Errorf("the ended event's since %v, want %v", evs[2].Since, older.Since)
	}
	if prefix := func(id string) string { return id[:strings.LastIndexByte(id, '_')] }; prefix(evs[0].ID) != prefix(evs[1].ID) ||
		prefix(evs[0].ID) == prefix(evs[2].ID) {
		t.Errorf("ids %s, %s (the crashed run's), %s (the next run's)", evs[0].ID, evs[1].ID, evs[2].ID)
	}
	eventually(t, "only the new subscriber left in the register", func() bool {
		open, _ := reg.Open()
		return len(open) == 1 && open["urn:uuid:next"] != nil
	})
}

// TestShutdownKeepsWhatItCouldNotSend: a node shut down while the
// application is down keeps its unsent events; the next start sends them
// first, once, under the same ids, and the register holds none once they
// were sent.
func TestShutdownKeepsWhatItCouldNotSend(t *testing.T) {
	dir := t.TempDir()
	r := webhooktest.Start(t, secret)
	r.Fail(http.StatusServiceUnavailable)
	reg, err := bolt.OpenRegister(dir)
	if err != nil {
		t.Fatal(err)
	}
	first := webhook.New(webhook.Config{URL: r.URL, Secret: secret, Register: reg, MinBackoff: 20 * time.Millisecond})
	alice := sub("urn:uuid:alice", "room")
	first.Started(alice)
	first.Started(sub("urn:uuid:bob", "room"))
	first.Ended(alice)
	eventually(t, "a refused request", func() bool { return first.Stats().Failures > 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := first.Close(ctx); err != nil {
		t.Fatalf("close with the application down: %v, want none (the events are kept)", err)
	}
	if err := reg.Close(); err != nil {
		t.Fatal(err)
	}

	r.Fail(0)
	reg = openRegister(t, dir)
	if keys, _, err := reg.Queued(); err != nil || len(keys) != 4 {
		t.Fatalf("queued before the next start: %d, %v", len(keys), err)
	}
	next := start(t, r.URL, func(c *webhook.Config) { c.Register = reg })
	evs := r.Wait(t, 5*time.Second, "the kept events and bob's end", func(evs []webhook.Event) bool { return len(evs) >= 6 })
	var got []string
	for _, ev := range evs {
		got = append(got, strings.TrimSpace(ev.Type+" "+ev.Subscriber+ev.Topic+" "+ev.Reason))
	}
	want := []string{"subscription.started urn:uuid:alice", "topic.occupied room", "subscription.started urn:uuid:bob",
		"subscription.ended urn:uuid:alice disconnected", "subscription.ended urn:uuid:bob node_restarted", "topic.vacated room"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	if err := next.Close(ctx2); err != nil {
		t.Fatal(err)
	}
	if keys, _, err := reg.Queued(); err != nil || len(keys) != 0 {
		t.Fatalf("queued once sent: %d, %v", len(keys), err)
	}
	if _, dups, bad := r.Counts(); dups != 0 || len(bad) > 0 {
		t.Errorf("%d events received twice, refused requests %q", dups, bad)
	}
}

// TestKeptQueueBounded: with the application down, the register keeps no
// more than the queue's size, the newest; the next start sends those.
func TestKeptQueueBounded(t *testing.T) {
	dir := t.TempDir()
	reg, err := bolt.OpenRegister(dir)
	if err != nil {
		t.Fatal(err)
	}
	down := webhook.New(webhook.Config{URL: "http://127.0.0.1:1/down", Secret: secret, Register: reg, QueueSize: 5,
		Types: []string{webhook.SubscriptionStarted}, MinBackoff: 20 * time.Millisecond})
	for i := range 12 {
		down.Started(sub(fmt.Sprintf("urn:uuid:%02d", i), "t"))
	}
	eventually(t, "the newest 5 kept", func() bool {
		keys, _, _ := reg.Queued()
		return len(keys) == 5 && keys[0] == 8
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = down.Close(ctx)
	if err := reg.Close(); err != nil {
		t.Fatal(err)
	}

	r := webhooktest.Start(t, secret)
	reg = openRegister(t, dir)
	start(t, r.URL, func(c *webhook.Config) { c.Register = reg; c.Types = []string{webhook.SubscriptionStarted} })
	evs := r.Wait(t, 5*time.Second, "5 events", func(evs []webhook.Event) bool { return len(evs) >= 5 })
	if len(evs) != 5 || evs[0].Subscriber != "urn:uuid:07" || evs[4].Subscriber != "urn:uuid:11" {
		t.Fatalf("events after the restart:\n%s", webhooktest.Dump(evs))
	}
}

// TestUnreadableQueuedRecord: a queued record that is not an event (a
// register written by hand, or damaged) is skipped, counted in the start's
// warning, and the events around it are sent.
func TestUnreadableQueuedRecord(t *testing.T) {
	dir := t.TempDir()
	reg, err := bolt.OpenRegister(dir)
	if err != nil {
		t.Fatal(err)
	}
	good := func(id string) []byte {
		b, _ := json.Marshal(webhook.Event{ID: id, Type: webhook.TopicOccupied, Time: time.Now().UTC(), Topic: "t"})
		return b
	}
	if err := reg.Queue([]uint64{1, 2, 3}, [][]byte{good("evt_a_1"), []byte("not json"), good("evt_a_3")}, 0, 10); err != nil {
		t.Fatal(err)
	}
	if err := reg.Close(); err != nil {
		t.Fatal(err)
	}
	r := webhooktest.Start(t, secret)
	reg = openRegister(t, dir)
	var logs strings.Builder
	var mu sync.Mutex
	start(t, r.URL, func(c *webhook.Config) {
		c.Register = reg
		c.Logger = slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			return logs.Write(p)
		}), nil))
	})
	evs := r.Wait(t, 5*time.Second, "the two readable events", func(evs []webhook.Event) bool { return len(evs) >= 2 })
	if evs[0].ID != "evt_a_1" || evs[1].ID != "evt_a_3" {
		t.Fatalf("events %s, %s; want evt_a_1, evt_a_3", evs[0].ID, evs[1].ID)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "unreadable=1") {
		t.Errorf("the start's log does not count the unreadable record:\n%s", logs.String())
	}
}

// writerFunc is an io.Writer of a function.
type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
