package e2e

import (
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/webhook"
	"github.com/ssehub/ssehub/internal/webhook/webhooktest"
)

// TestWebhookSingleNodeKill: a single node with a data directory is
// killed (SIGKILL: it ends nothing) with two subscribers open and, the
// application being down meanwhile, a start and an end not yet sent;
// started again on the same directory, it sends those first, then the open
// subscribers' subscription.ended (reason node_restarted) and the topics
// they leave vacated, so that the application's presence is empty again,
// as it should be.
func TestWebhookSingleNodeKill(t *testing.T) {
	const secret = "single-webhook-secret-0123456789"
	r := webhooktest.Start(t, []byte(secret))
	dir := t.TempDir()
	args := []string{"-data-dir", dir, "-webhook-url", r.URL, "-webhook-secret", secret}
	node := startBinary(t, args...)
	leaveA := openTopics(t, node.base, "room", "user/a")
	openTopics(t, node.base, "room", "user/b")
	leave := openTopics(t, node.base, "room", "user/c")
	r.Wait(t, 10*time.Second, "3 starts", func(evs []webhook.Event) bool {
		return webhooktest.Count(evs, webhook.SubscriptionStarted) == 3
	})
	leave()
	r.Wait(t, 10*time.Second, "1 end", func(evs []webhook.Event) bool {
		return webhooktest.Count(evs, webhook.SubscriptionEnded) == 1
	})
	// The application goes down: what happens now waits in the queue.
	r.Fail(http.StatusServiceUnavailable)
	openTopics(t, node.base, "user/d")
	leaveA()
	// The node writes its queue and open subscribers down just after the
	// events, off the streams' paths: a kill within that moment would lose
	// them.
	time.Sleep(300 * time.Millisecond)
	_ = node.cmd.Process.Kill()
	_ = node.cmd.Wait()

	r.Fail(0)
	startBinary(t, args...)
	evs := r.Wait(t, 20*time.Second, "the killed run's unsent events and ends", func(evs []webhook.Event) bool {
		return webhooktest.Count(evs, webhook.SubscriptionEnded) == 4 && webhooktest.Count(evs, webhook.TopicVacated) == 5
	})
	p := presenceEmpty(t, evs)
	restarted := 0
	for _, ev := range p.Ended {
		if ev.Reason == webhook.ReasonRestarted {
			restarted++
		}
	}
	if restarted != 2 {
		t.Errorf("%d ends with reason node_restarted, want 2\n%s", restarted, webhooktest.Dump(evs))
	}
	if _, _, bad := r.Counts(); len(bad) > 0 {
		t.Errorf("requests refused: %q", bad)
	}
}

// TestWebhookSingleNodeRestart: a single node stopped gracefully while the
// application is down keeps the events it could not send, the ends of the
// streams its shutdown closed among them; started again on the same
// directory, it sends them, once each, so that the application's presence
// is right without any node_restarted end.
func TestWebhookSingleNodeRestart(t *testing.T) {
	const secret = "single-webhook-secret-0123456789"
	r := webhooktest.Start(t, []byte(secret))
	dir := t.TempDir()
	args := []string{"-data-dir", dir, "-webhook-url", r.URL, "-webhook-secret", secret, "-shutdown-timeout", "1s"}
	node := startBinary(t, args...)
	openTopics(t, node.base, "room", "user/a")
	r.Wait(t, 10*time.Second, "a's start", func(evs []webhook.Event) bool {
		return webhooktest.Count(evs, webhook.SubscriptionStarted) == 1
	})
	r.Fail(http.StatusServiceUnavailable)
	openTopics(t, node.base, "room", "user/b")
	time.Sleep(100 * time.Millisecond) // b's start queued
	_ = node.cmd.Process.Signal(syscall.SIGTERM)
	if err := node.cmd.Wait(); err != nil {
		t.Errorf("the first run ended with %v, want a clean exit (its events are kept)\n%s", err, node.stderr)
	}

	r.Fail(0)
	startBinary(t, args...)
	evs := r.Wait(t, 20*time.Second, "the first run's unsent events", func(evs []webhook.Event) bool {
		return webhooktest.Count(evs, webhook.SubscriptionEnded) == 2 && webhooktest.Count(evs, webhook.TopicVacated) == 3
	})
	p := presenceEmpty(t, evs)
	for _, ev := range p.Ended {
		if ev.Reason != webhook.ReasonDisconnected {
			t.Errorf("%s ended with reason %q, want disconnected (a graceful shutdown)\n%s", ev.Subscriber, ev.Reason, webhooktest.Dump(evs))
		}
	}
	if _, dups, bad := r.Counts(); dups != 0 || len(bad) > 0 {
		t.Errorf("%d events received twice, requests refused: %q", dups, bad)
	}
}

// presenceEmpty replays evs as the application would and fails unless
// nobody is left online and no topic occupied; it returns the replay.
func presenceEmpty(t *testing.T, evs []webhook.Event) webhooktest.Presence {
	t.Helper()
	p, err := webhooktest.Replay(evs)
	if err != nil {
		t.Fatalf("%v\n%s", err, webhooktest.Dump(evs))
	}
	if len(p.Subscribers) != 0 || len(p.Topics) != 0 {
		t.Errorf("after the restart the application still sees %d subscribers and topics %v\n%s", len(p.Subscribers), p.Topics, webhooktest.Dump(evs))
	}
	return p
}
