package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/client"
	"github.com/ssehub/ssehub/internal/auth/authtest"
	"github.com/ssehub/ssehub/internal/redis/redistest"
)

// TestNginxInFrontOfACluster runs deploy/compose/nginx.conf with Debian's
// nginx in front of two real nodes on a real Redis, the nodes configured by
// the environment of deploy/Dockerfile and deploy/compose/compose.yaml: a subscriber and a
// publisher go through nginx; the node holding the stream is killed; the
// client reconnects through nginx to the other node with Last-Event-ID and
// receives every event once, in order, without a gap.
func TestNginxInFrontOfACluster(t *testing.T) {
	keys := authtest.NewKeys(t)
	c := &cluster{redis: redistest.Start(t)}
	env := deployEnv(t, map[string]string{
		"SSEHUB_REDIS_URL": c.redis.URL(),
		"SSEHUB_JWT_KEY":   keys.SecretFile,
	})
	for range 2 { // -addr replaces the image's :8080; the rest is the deployed environment
		c.nodes = append(c.nodes, startBinaryEnv(t, env, "-heartbeat", "500ms", "-retry", "100"))
	}
	if log := c.nodes[0].stderr.String(); strings.Contains(log, `"level":"WARN"`) {
		t.Fatalf("the deployed environment makes a node warn:\n%s", log)
	}
	n := newNginxFrom(t, "deploy/compose/nginx.conf", map[string]string{
		"server ssehub-1:8080": "server " + strings.TrimPrefix(c.nodes[0].base, "http://"),
		"server ssehub-2:8080": "server " + strings.TrimPrefix(c.nodes[1].base, "http://"),
	})
	n.start(t)
	hubURL := n.url("/.well-known/mercure")
	pub, err := client.New(hubURL, client.WithToken(keys.HS256(t, authtest.Claims([]string{"*"}, nil, time.Time{}))))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := client.New(hubURL, client.WithBackoff(20*time.Millisecond, 200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sub, err := sc.Subscribe(ctx, []string{"r"})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	var want []string
	publish := func(from, to int) {
		for i := from; i < to; i++ {
			id, err := pub.Publish(ctx, client.Update{Topics: []string{"r"}, Data: fmt.Sprint(i)})
			if err != nil {
				t.Fatalf("publish %d through nginx: %v", i, err)
			}
			want = append(want, id)
		}
	}
	publish(0, 20)
	holder := streamHolder(t, c)
	_ = c.nodes[holder].cmd.Process.Kill()
	_ = c.nodes[holder].cmd.Wait()
	publish(20, 40)

	for i, id := range want {
		select {
		case ev := <-sub.Events():
			if ev.ID != id || ev.Data != fmt.Sprint(i) || ev.Gap {
				t.Fatalf("event %d: %+v, want id %s, no gap", i, ev, id)
			}
		case <-ctx.Done():
			t.Fatalf("event %d never arrived (%v)", i, sub.Err())
		}
	}
}

// streamHolder returns the node whose metrics count the test's one stream.
func streamHolder(t *testing.T, c *cluster) int {
	t.Helper()
	for i, node := range c.nodes {
		resp, err := http.Get(node.base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), "\nssehub_subscribers 1\n") {
			return i
		}
	}
	t.Fatal("no node holds the stream")
	return 0
}
