package webhook_test

import (
	"context"
	"encoding/json"
	"strings"
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
}

// TestRestartEndsWhatACrashLeftOpen: the subscribers a crashed process
// left in the register get subscription.ended (node_restarted), oldest
// first, then their topics topic.vacated, before any new event; the
// register forgets them.
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
	evs := r.Wait(t, 5*time.Second, "5 events", func(evs []webhook.Event) bool { return len(evs) >= 6 })
	var got []string
	for _, ev := range evs {
		got = append(got, strings.TrimSpace(ev.Type+" "+ev.Subscriber+ev.Topic+" "+ev.Reason))
	}
	want := []string{"subscription.ended urn:uuid:old node_restarted", "subscription.ended urn:uuid:new node_restarted",
		"topic.vacated chat/1", "topic.vacated chat/2", "subscription.started urn:uuid:next", "topic.occupied chat/1"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if evs[0].Since == nil || evs[0].Since.Sub(older.Since).Abs() > time.Millisecond {
		t.Errorf("the ended event's since %v, want %v", evs[0].Since, older.Since)
	}
	eventually(t, "only the new subscriber left in the register", func() bool {
		open, _ := reg.Open()
		return len(open) == 1 && open["urn:uuid:next"] != nil
	})
}
