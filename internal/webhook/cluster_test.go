package webhook_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/redis"
	"github.com/ssehub/ssehub/internal/redis/redistest"
	"github.com/ssehub/ssehub/internal/subscriptions"
	"github.com/ssehub/ssehub/internal/webhook"
	"github.com/ssehub/ssehub/internal/webhook/webhooktest"
)

// cut is a node's link to the cluster, which the test can sever: every
// call then fails, as for a node that crashed or lost Redis.
type cut struct {
	webhook.Cluster
	off atomic.Bool
}

var errCut = errors.New("cut off by the test")

func (c *cut) ApplyPresence(ctx context.Context, node string, cs []webhook.Change, p webhook.Policy) (int, error) {
	if c.off.Load() {
		return 0, errCut
	}
	return c.Cluster.ApplyPresence(ctx, node, cs, p)
}

func (c *cut) Heartbeat(ctx context.Context, node string, ttl time.Duration) (bool, error) {
	if c.off.Load() {
		return false, errCut
	}
	return c.Cluster.Heartbeat(ctx, node, ttl)
}

func (c *cut) Recorded(ctx context.Context, node string) ([]string, error) {
	if c.off.Load() {
		return nil, errCut
	}
	return c.Cluster.Recorded(ctx, node)
}

func (c *cut) Reap(ctx context.Context, max int, p webhook.Policy) (string, int, int, error) {
	if c.off.Load() {
		return "", 0, 0, errCut
	}
	return c.Cluster.Reap(ctx, max, p)
}

func (c *cut) Leave(ctx context.Context, node string) error {
	if c.off.Load() {
		return errCut
	}
	return c.Cluster.Leave(ctx, node)
}

func (c *cut) Lead(ctx context.Context, node string, ttl time.Duration) (bool, error) {
	if c.off.Load() {
		return false, errCut
	}
	return c.Cluster.Lead(ctx, node, ttl)
}

func (c *cut) ReadOutbox(ctx context.Context, max int, wait time.Duration) ([]webhook.Entry, error) {
	if c.off.Load() {
		return nil, errCut
	}
	return c.Cluster.ReadOutbox(ctx, max, wait)
}

func (c *cut) AckOutbox(ctx context.Context, node string, ids []string) (bool, error) {
	if c.off.Load() {
		return false, errCut
	}
	return c.Cluster.AckOutbox(ctx, node, ids)
}

func (c *cut) Unlead(ctx context.Context, node string) error {
	if c.off.Load() {
		return errCut
	}
	return c.Cluster.Unlead(ctx, node)
}

// clusterNode is a dispatcher on its own connection to the shared Redis.
type clusterNode struct {
	*webhook.Dispatcher
	link *cut
}

func startNodes(t *testing.T, n int, url string, change ...func(*webhook.Config)) []clusterNode {
	t.Helper()
	srv := redistest.Start(t)
	var nodes []clusterNode
	for range n {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, err := redis.Open(ctx, redis.Options{URL: srv.URL()})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() }) // after the dispatcher's Close: cleanups run last first
		link := &cut{Cluster: st}
		d := start(t, url, func(c *webhook.Config) {
			c.Cluster, c.NodeTimeout = link, time.Second
			c.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
			for _, f := range change {
				f(c)
			}
		})
		nodes = append(nodes, clusterNode{d, link})
	}
	return nodes
}

// kill severs a node from the cluster and stops it without its shutdown
// path: it ends no subscriber and leaves nothing in order.
func (n clusterNode) kill() {
	n.link.off.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = n.Close(ctx)
}

// TestClusterChurn: subscribers come and go concurrently on three nodes,
// on topics they share; the application gets the events of all from one
// sender at a time: each subscriber's start before its end, each topic's
// occupied and vacated alternating over the whole cluster.
func TestClusterChurn(t *testing.T) {
	r := webhooktest.Start(t, secret)
	nodes := startNodes(t, 3, r.URL)
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			for i := range 100 {
				// A subscriber starts on one node and ends there; the next
				// one on the same topics is on another node.
				d := nodes[(g+i)%3]
				s := sub(fmt.Sprintf("%d-%d", g, i), fmt.Sprintf("room/%d", i%4), "lobby")
				d.Started(s)
				d.Ended(s)
			}
		})
	}
	wg.Wait()
	evs := r.Wait(t, 30*time.Second, "600 ends and every topic vacated", func(evs []webhook.Event) bool {
		return webhooktest.Count(evs, webhook.SubscriptionEnded) == 600 && webhooktest.Count(evs, webhook.TopicVacated) == webhooktest.Count(evs, webhook.TopicOccupied)
	})
	p, err := webhooktest.Replay(evs)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Subscribers) != 0 || len(p.Topics) != 0 {
		t.Errorf("left present: %d subscribers, topics %v", len(p.Subscribers), p.Topics)
	}
	_, dups, bad := r.Counts()
	if len(bad) > 0 {
		t.Errorf("refused: %q", bad)
	}
	var sent uint64
	for _, n := range nodes {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := n.Close(ctx); err != nil {
			t.Error(err)
		}
		cancel()
		sent += n.Stats().Sent
	}
	if sent > uint64(len(evs)+dups) {
		t.Errorf("the nodes sent %d events, the application got %d (and %d again): sent by several nodes", sent, len(evs), dups)
	}
	t.Logf("%d events from 3 nodes, %d occupied/vacated pairs, %d received twice", len(evs), webhooktest.Count(evs, webhook.TopicOccupied), dups)
}

// TestClusterNodeLost: a node dies with subscribers; once its lease
// lapses, the others end them (node_lost) and vacate the topics only they
// held, and only those.
func TestClusterNodeLost(t *testing.T) {
	r := webhooktest.Start(t, secret)
	nodes := startNodes(t, 3, r.URL)
	nodes[0].Started(sub("a", "shared", "only-a"))
	for i := range 3 {
		nodes[2].Started(sub(fmt.Sprintf("c%d", i), "shared", "only-c", fmt.Sprintf("c/%d", i)))
	}
	r.Wait(t, 10*time.Second, "every start", func(evs []webhook.Event) bool {
		return webhooktest.Count(evs, webhook.SubscriptionStarted) == 4
	})
	nodes[2].kill()
	evs := r.Wait(t, 15*time.Second, "the lost node's ends", func(evs []webhook.Event) bool {
		return webhooktest.Count(evs, webhook.SubscriptionEnded) == 3 && webhooktest.Count(evs, webhook.TopicVacated) == 4
	})
	p, err := webhooktest.Replay(evs)
	if err != nil {
		t.Fatal(err)
	}
	for id, ev := range p.Ended {
		if ev.Reason != webhook.ReasonNodeLost || len(ev.Topics) != 3 {
			t.Errorf("%s ended %+v, want reason node_lost and its 3 topics", id, ev)
		}
	}
	if len(p.Subscribers) != 1 || !p.Topics["shared"] || !p.Topics["only-a"] || len(p.Topics) != 2 {
		t.Errorf("present after the loss: %v, topics %v; want a, on shared and only-a", p.Subscribers, p.Topics)
	}
}

// TestClusterNodeBack: a node cut off from Redis longer than its lease is
// presumed dead and its subscribers ended; once back, it starts them
// again, and ends in order those that left meanwhile.
func TestClusterNodeBack(t *testing.T) {
	r := webhooktest.Start(t, secret)
	nodes := startNodes(t, 2, r.URL)
	stay, leave := sub("stay", "t"), sub("leave", "t")
	nodes[1].Started(stay)
	nodes[1].Started(leave)
	r.Wait(t, 10*time.Second, "2 starts", func(evs []webhook.Event) bool { return webhooktest.Count(evs, webhook.SubscriptionStarted) == 2 })
	nodes[1].link.off.Store(true)
	r.Wait(t, 15*time.Second, "the ends of the cut node", func(evs []webhook.Event) bool { return webhooktest.Count(evs, webhook.SubscriptionEnded) == 2 })
	nodes[1].Ended(leave) // while cut off
	nodes[1].link.off.Store(false)
	evs := r.Wait(t, 15*time.Second, "stay started again", func(evs []webhook.Event) bool { return webhooktest.Count(evs, webhook.SubscriptionStarted) == 3 })
	p, err := webhooktest.Replay(evs)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.Subscribers["stay"]; !ok || len(p.Subscribers) != 1 || !p.Topics["t"] {
		t.Errorf("present after the node came back: %v, topics %v; want stay on t\n%s", p.Subscribers, p.Topics, webhooktest.Dump(evs))
	}
}

// TestClusterQueueOverflow: a flood of subscribers coming and going while
// Redis is unreachable overflows the node's queue of changes; the oldest
// are dropped and counted, and once Redis is back the node records
// exactly its live subscribers again, so the application ends with the
// right list.
func TestClusterQueueOverflow(t *testing.T) {
	r := webhooktest.Start(t, secret)
	n := startNodes(t, 1, r.URL, func(c *webhook.Config) { c.QueueSize = 20 })[0]
	n.link.off.Store(true)
	for i := range 100 {
		s := sub(fmt.Sprint(i), fmt.Sprintf("t/%d", i%10))
		n.Started(s)
		if i%5 != 0 {
			n.Ended(s)
		}
	}
	if st := n.Stats(); st.Dropped < 100 {
		t.Errorf("stats %+v: want most of the 180 changes dropped (20 wait, 20 are retried)", st)
	}
	n.link.off.Store(false)
	evs := r.Wait(t, 15*time.Second, "the 20 live subscribers", func(evs []webhook.Event) bool {
		p, err := webhooktest.Replay(evs)
		return err == nil && len(p.Subscribers) == 20 && len(p.Topics) == 2
	})
	p, _ := webhooktest.Replay(evs)
	for id := range p.Subscribers {
		var i int
		if _, err := fmt.Sscan(id, &i); err != nil || i%5 != 0 {
			t.Errorf("%s present: it left", id)
		}
	}
}

// TestClusterSenderKilled: the node sending the cluster's webhooks dies
// while the application is down and a batch waits; another node takes
// the outbox's lease over and delivers that batch, then the dead node's
// ends.
func TestClusterSenderKilled(t *testing.T) {
	r := webhooktest.Start(t, secret)
	nodes := startNodes(t, 3, r.URL)
	subs := make([]*subscriptions.Subscriber, 3)
	for i, n := range nodes {
		subs[i] = sub(fmt.Sprint("s", i), fmt.Sprint("t", i))
		n.Started(subs[i])
	}
	r.Wait(t, 10*time.Second, "3 starts", func(evs []webhook.Event) bool { return webhooktest.Count(evs, webhook.SubscriptionStarted) == 3 })
	sender := -1
	eventually(t, "the sender's count", func() bool {
		for i, n := range nodes {
			if n.Stats().Sent > 0 {
				sender = i
			}
		}
		return sender >= 0
	})
	other := (sender + 1) % 3
	r.Down()
	nodes[other].Ended(subs[other])
	eventually(t, "a failed request", func() bool { return nodes[sender].Stats().Failures > 0 })
	nodes[sender].kill()
	r.Up(t)
	evs := r.Wait(t, 20*time.Second, "both ends", func(evs []webhook.Event) bool { return webhooktest.Count(evs, webhook.SubscriptionEnded) == 2 })
	p, err := webhooktest.Replay(evs)
	if err != nil {
		t.Fatal(err)
	}
	if p.Ended[fmt.Sprint("s", other)].Reason != webhook.ReasonDisconnected || p.Ended[fmt.Sprint("s", sender)].Reason != webhook.ReasonNodeLost {
		t.Errorf("ends %+v: want s%d disconnected (sent by the new sender) and s%d node_lost", p.Ended, other, sender)
	}
	eventually(t, "another node's count of sent events", func() bool {
		return nodes[(sender+2)%3].Stats().Sent+nodes[other].Stats().Sent > 0
	})
}
