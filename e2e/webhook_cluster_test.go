package e2e

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/redis/redistest"
	"github.com/ssehub/ssehub/internal/webhook"
	"github.com/ssehub/ssehub/internal/webhook/webhooktest"
)

// openTopics opens an event stream of topics on base, until the test ends
// or cancel is called.
func openTopics(t *testing.T, base string, topics ...string) (close func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	q := ""
	for _, tp := range topics {
		q += "&topic=" + tp
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/events?"+q[1:], nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", req.URL, resp.StatusCode)
	}
	return func() { cancel(); resp.Body.Close() }
}

// userTopic is the topic only subscriber i of node n has: it names the
// subscriber in the events.
func userTopic(n, i int) string { return fmt.Sprintf("user/%d-%d", n, i) }

// TestWebhookClusterKill runs three real nodes on a real Redis with four
// subscribers each, all on one room, each node's also on a topic of its
// own. The application goes down for 5 seconds; meanwhile subscribers
// leave and join on every node and node 0, the first started and so the
// one sending the webhooks, is killed (SIGKILL: it ends nothing and tells
// no one) with its batch undelivered. Once the application is back it
// must have, correctly signed, every start and end (node 0's subscribers
// ended by the others, reason node_lost), and every topic's occupied and
// vacated in alternation, leaving exactly the topics of the subscribers
// still there.
func TestWebhookClusterKill(t *testing.T) {
	const (
		secret = "cluster-webhook-secret-0123456789"
		killed = 0
	)
	r := webhooktest.Start(t, []byte(secret))
	srv := redistest.Start(t)
	var nodes []*process
	for range 3 {
		nodes = append(nodes, startBinary(t, "-redis", srv.URL(), "-redis-node-timeout", "2s",
			"-webhook-url", r.URL, "-webhook-secret", secret, "-max-connections-per-ip", "0"))
	}
	streams := map[string]func(){} // by user topic: the live subscribers
	for n, node := range nodes {
		for i := range 4 {
			streams[userTopic(n, i)] = openTopics(t, node.base, "room", fmt.Sprintf("node/%d", n), userTopic(n, i))
		}
	}
	r.Wait(t, 20*time.Second, "12 starts", func(evs []webhook.Event) bool {
		return webhooktest.Count(evs, webhook.SubscriptionStarted) == 12
	})

	r.Down()
	began := time.Now()
	for n, node := range nodes {
		streams[userTopic(n, 0)]()
		delete(streams, userTopic(n, 0))
		streams[userTopic(n, 4)] = openTopics(t, node.base, "room", fmt.Sprintf("node/%d", n), userTopic(n, 4))
	}
	_ = nodes[killed].cmd.Process.Kill()
	_ = nodes[killed].cmd.Wait()
	for i := range 5 {
		delete(streams, userTopic(killed, i)) // gone with their node
	}
	time.Sleep(5*time.Second - time.Since(began)) // the application's outage, the scenario itself
	r.Up(t)

	evs := r.Wait(t, 60*time.Second, "every end", func(evs []webhook.Event) bool {
		// 15 subscribers; 3 left, and the killed node's 4 live ones were lost.
		return webhooktest.Count(evs, webhook.SubscriptionStarted) == 15 && webhooktest.Count(evs, webhook.SubscriptionEnded) == 7
	})
	p, err := webhooktest.Replay(evs)
	if err != nil {
		t.Fatalf("%v\n%s", err, webhooktest.Dump(evs))
	}
	var live []string
	for _, ev := range p.Subscribers {
		live = append(live, ev.Topics[2])
	}
	var want []string
	for topic := range streams {
		want = append(want, topic)
	}
	slices.Sort(live)
	slices.Sort(want)
	if !slices.Equal(live, want) {
		t.Errorf("present after the kill: %q, want %q", live, want)
	}
	lost := fmt.Sprintf("user/%d-", killed)
	for _, ev := range p.Ended {
		// The one that left just before the kill may have been told by its
		// node, or ended by the others.
		if strings.HasPrefix(ev.Topics[2], lost) && ev.Topics[2] != userTopic(killed, 0) && ev.Reason != webhook.ReasonNodeLost {
			t.Errorf("%s of the killed node ended with reason %q, want node_lost", ev.Topics[2], ev.Reason)
		}
		if !strings.HasPrefix(ev.Topics[2], lost) && ev.Reason != webhook.ReasonDisconnected {
			t.Errorf("%s ended with reason %q, want disconnected", ev.Topics[2], ev.Reason)
		}
	}
	wantTopics := append([]string{"room", "node/1", "node/2"}, want...)
	var topics []string
	for topic := range p.Topics {
		topics = append(topics, topic)
	}
	slices.Sort(topics)
	slices.Sort(wantTopics)
	if !slices.Equal(topics, wantTopics) {
		t.Errorf("topics occupied after the kill: %q, want %q", topics, wantTopics)
	}
	requests, dups, bad := r.Counts()
	if len(bad) > 0 {
		t.Errorf("requests refused: %q", bad)
	}
	t.Logf("%d events in %d requests, %d received twice; all delivered %v after the application came back",
		len(evs), requests, dups, time.Since(began)-5*time.Second)
}
