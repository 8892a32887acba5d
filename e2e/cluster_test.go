package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssehub/ssehub/client"
	"github.com/ssehub/ssehub/internal/redis/redistest"
)

// cluster is ssehub nodes, real binaries, sharing one real Redis.
type cluster struct {
	redis *redistest.Server
	nodes []*process
	alive []atomic.Bool
}

func startCluster(t *testing.T, n int) *cluster {
	t.Helper()
	c := &cluster{redis: redistest.Start(t), alive: make([]atomic.Bool, n)}
	for i := range n {
		c.nodes = append(c.nodes, startBinary(t, "-redis", c.redis.URL(), "-heartbeat", "1s",
			"-history-events", "20000", "-publish-rate", "0", "-max-connections-per-ip", "0"))
		c.alive[i].Store(true)
	}
	return c
}

// kill SIGKILLs node i.
func (c *cluster) kill(i int) {
	c.alive[i].Store(false)
	_ = c.nodes[i].cmd.Process.Kill()
	_ = c.nodes[i].cmd.Wait()
}

// balancer is what a load balancer does for the test's clients: each
// client prefers one node and moves on to the next while its node refuses
// connections.
func (c *cluster) balancer(prefer int) *http.Client {
	var d net.Dialer
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		var err error
		for k := range len(c.nodes) {
			node := c.nodes[(prefer+k)%len(c.nodes)]
			var conn net.Conn
			if conn, err = d.DialContext(ctx, network, strings.TrimPrefix(node.base, "http://")); err == nil {
				return conn, nil
			}
		}
		return nil, err
	}
	return &http.Client{Transport: &http.Transport{DialContext: dial, MaxIdleConnsPerHost: 4}}
}

// clusterReader collects one subscriber's events.
type clusterReader struct {
	mu   sync.Mutex
	ids  []string
	gaps int
	seen chan struct{} // signalled on every event
}

func (r *clusterReader) run(sub *client.Subscription) {
	for ev := range sub.Events() {
		r.mu.Lock()
		r.ids = append(r.ids, ev.ID)
		if ev.Gap {
			r.gaps++
		}
		r.mu.Unlock()
		select {
		case r.seen <- struct{}{}:
		default:
		}
	}
}

func (r *clusterReader) has(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return contains(r.ids, id)
}

// contains looks from the end, where a recent id is.
func contains(ids []string, id string) bool {
	for i := len(ids) - 1; i >= 0; i-- {
		if ids[i] == id {
			return true
		}
	}
	return false
}

// TestClusterDeliversEverythingOnce runs three real nodes on one real
// Redis with 300 subscribers spread over them and publishes 10,000 events
// round-robin through all nodes. Mid-run one node is killed (its clients
// reconnect to another node with Last-Event-ID) and Redis is restarted
// (publishes meanwhile get 503 and are retried, streams stay open). Every
// subscriber must receive every acknowledged event exactly once, in order,
// without a gap reported.
func TestClusterDeliversEverythingOnce(t *testing.T) {
	const (
		nodes       = 3
		subscribers = 300
		events      = 10000
	)
	c := startCluster(t, nodes)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	readers := subscribeAll(ctx, t, c, subscribers)

	acks := publishRoundRobin(ctx, t, c, events, map[int]func(){
		events * 3 / 10: func() { c.kill(2) },
		events * 6 / 10: func() { c.redis.Restart() },
	})
	last := acks[0]
	for _, id := range acks {
		if seqOf(t, id) > seqOf(t, last) {
			last = id
		}
	}
	for i, r := range readers {
		waitFor(ctx, t, r, last, i)
		checkReader(t, i, r, acks)
	}
}

func subscribeAll(ctx context.Context, t *testing.T, c *cluster, n int) []*clusterReader {
	t.Helper()
	readers := make([]*clusterReader, n)
	var wg sync.WaitGroup
	for i := range n {
		hc := c.balancer(i % len(c.nodes))
		cl, err := client.New("http://cluster.test/.well-known/mercure", client.WithHTTPClient(hc),
			client.WithBackoff(20*time.Millisecond, 300*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		sub, err := cl.Subscribe(ctx, []string{"cluster"})
		if err != nil {
			t.Fatalf("subscriber %d: %v", i, err)
		}
		t.Cleanup(sub.Close)
		readers[i] = &clusterReader{seen: make(chan struct{}, 1)}
		wg.Go(func() { readers[i].run(sub) })
	}
	t.Cleanup(wg.Wait)
	return readers
}

// publishRoundRobin publishes events from 8 goroutines, event i through
// node i mod n, retrying through the next node until acknowledged, and
// runs the faults when that many events are acknowledged. It returns the
// acknowledged ids.
func publishRoundRobin(ctx context.Context, t *testing.T, c *cluster, events int, faults map[int]func()) []string {
	t.Helper()
	var (
		mu    sync.Mutex
		acks  []string
		next  atomic.Int64
		wg    sync.WaitGroup
		fails atomic.Int64
	)
	hc := &http.Client{Timeout: 5 * time.Second}
	for range 8 {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < events && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				id := publishUntilAcked(ctx, hc, c, i, &fails)
				mu.Lock()
				acks = append(acks, id)
				fault := faults[len(acks)]
				mu.Unlock()
				if fault != nil {
					fault()
				}
			}
		})
	}
	wg.Wait()
	if len(acks) != events {
		t.Fatalf("%d of %d events acknowledged: %v", len(acks), events, ctx.Err())
	}
	t.Logf("%d events acknowledged, %d attempts refused or failed on the way", events, fails.Load())
	return acks
}

func publishUntilAcked(ctx context.Context, hc *http.Client, c *cluster, i int, fails *atomic.Int64) string {
	form := url.Values{"topic": {"cluster"}, "data": {fmt.Sprintf("event %d", i)}}.Encode()
	for k := 0; ctx.Err() == nil; k++ {
		node := c.nodes[(i+k)%len(c.nodes)]
		resp, err := hc.Post(node.base+"/.well-known/mercure", "application/x-www-form-urlencoded", strings.NewReader(form))
		if err == nil {
			body, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if rerr == nil && resp.StatusCode == http.StatusOK {
				return string(body)
			}
		}
		fails.Add(1)
		if k%len(c.nodes) == len(c.nodes)-1 {
			time.Sleep(20 * time.Millisecond) // every node refused: Redis is down
		}
	}
	return ""
}

func waitFor(ctx context.Context, t *testing.T, r *clusterReader, id string, i int) {
	t.Helper()
	for !r.has(id) {
		select {
		case <-r.seen:
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			r.mu.Lock()
			n := len(r.ids)
			r.mu.Unlock()
			t.Fatalf("subscriber %d: %d events received, never the last acknowledged %s", i, n, id)
		}
	}
}

// checkReader: ids strictly increasing (once, in order), every
// acknowledged one present, no gap reported.
func checkReader(t *testing.T, i int, r *clusterReader, acks []string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	got := make(map[string]bool, len(r.ids))
	for k, id := range r.ids {
		if k > 0 && seqOf(t, id) <= seqOf(t, r.ids[k-1]) {
			t.Fatalf("subscriber %d: %s after %s: duplicate or out of order", i, id, r.ids[k-1])
		}
		got[id] = true
	}
	missing := 0
	for _, id := range acks {
		if !got[id] {
			missing++
		}
	}
	if missing > 0 || r.gaps > 0 {
		t.Fatalf("subscriber %d: %d acknowledged events missing, %d gaps reported (received %d)", i, missing, r.gaps, len(r.ids))
	}
}
