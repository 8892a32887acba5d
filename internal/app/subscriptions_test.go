package app_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app/apptest"
	"github.com/ssehub/ssehub/internal/auth/authtest"
	"github.com/ssehub/ssehub/internal/redis/redistest"
	"github.com/ssehub/ssehub/internal/sse"
	"github.com/ssehub/ssehub/internal/subscriptions"
)

// watchSubscriptions is the selector of every subscription update.
const watchSubscriptions = subscriptions.Prefix + "{/topic}{/subscriber}"

// nextSubscription reads p until the next subscription update of topic.
func nextSubscription(t *testing.T, p *sse.Parser, topic string) subscriptions.Doc {
	t.Helper()
	for {
		ev, err := p.Next()
		if err != nil {
			t.Fatalf("waiting for a subscription update of %s: %v", topic, err)
		}
		var d subscriptions.Doc
		if err := json.Unmarshal([]byte(ev.Data), &d); err != nil {
			t.Fatalf("subscription update %q: %v", ev.Data, err)
		}
		if d.Topic == topic {
			return d
		}
	}
}

// listSubscriptions GETs the web API's collection through s.
func (s *served) listSubscriptions(t *testing.T, token string) []subscriptions.Doc {
	t.Helper()
	status, body := s.do(t, token, http.MethodGet, subscriptions.Prefix, "")
	var c subscriptions.Collection
	if status != http.StatusOK || json.Unmarshal([]byte(body), &c) != nil {
		t.Fatalf("GET %s: %d %s", subscriptions.Prefix, status, body)
	}
	return c.Subscriptions
}

// topicsIn returns the topic selectors of docs.
func topicsIn(docs []subscriptions.Doc) string {
	var out []string
	for _, d := range docs {
		out = append(out, d.Topic)
	}
	return strings.Join(out, " ")
}

// TestClusterSubscriptions: with two nodes on one Redis, a subscription on
// one node is announced to the other's subscribers, and either node's web
// API lists and finds the subscriptions of both.
func TestClusterSubscriptions(t *testing.T) {
	srv := redistest.Start(t)
	keys := authtest.NewKeys(t)
	node := func() *served {
		cfg := clusterConfig(t, srv, keys)
		cfg.Subscriptions = true
		return serve(t, cfg, "http", &http.Transport{})
	}
	a, b := node(), node()
	hour := time.Now().Add(time.Hour)
	watch := keys.HS256(t, authtest.Claims(nil, []string{watchSubscriptions}, hour))
	claims := authtest.Claims(nil, nil, hour)
	claims["mercure"].(map[string]any)["payload"] = map[string]any{"user": "alice"}
	alice := keys.HS256(t, claims)

	_, watcher := b.Open(t, "/.well-known/mercure?topic="+url.QueryEscape(watchSubscriptions)+"&authorization="+watch)
	nextSubscription(t, watcher, watchSubscriptions) // its own
	resp, _ := a.Open(t, "/events?topic=orders&authorization="+alice)
	joined := nextSubscription(t, watcher, "orders")
	if !joined.Active || string(joined.Payload) != `{"user":"alice"}` {
		t.Fatalf("alice's subscription on a, announced on b: %+v", joined)
	}
	for name, s := range map[string]*served{"a": a, "b": b} {
		if got := topicsIn(s.listSubscriptions(t, watch)); got != "orders "+watchSubscriptions && got != watchSubscriptions+" orders" {
			t.Errorf("the subscriptions listed by node %s: %q, want both nodes'", name, got)
		}
	}
	if status, body := b.do(t, watch, http.MethodGet, joined.ID, ""); status != http.StatusOK || !strings.Contains(body, `"user":"alice"`) {
		t.Errorf("GET %s through b: %d %s", joined.ID, status, body)
	}

	resp.Body.Close()
	if left := nextSubscription(t, watcher, "orders"); left.Active || left.ID != joined.ID {
		t.Fatalf("alice's end, announced on b: %+v", left)
	}
	if got := topicsIn(b.listSubscriptions(t, watch)); got != watchSubscriptions {
		t.Errorf("after alice left, b lists %q", got)
	}
	if status, _ := b.do(t, watch, http.MethodGet, joined.ID, ""); status != http.StatusNotFound {
		t.Errorf("GET %s through b after alice left: %d, want 404", joined.ID, status)
	}
}

// TestSubscriptionsEndAtShutdown: a graceful shutdown announces the end of
// every subscription before the history closes, so the durable history of
// subscription updates does not leave anyone active after a restart.
func TestSubscriptionsEndAtShutdown(t *testing.T) {
	keys := authtest.NewKeys(t)
	cfg := apptest.TestConfig(t)
	cfg.JWTKey = keys.SecretFile
	cfg.Subscriptions = true
	watch := keys.HS256(t, authtest.Claims(nil, []string{watchSubscriptions}, time.Now().Add(time.Hour)))
	watchPath := "/.well-known/mercure?topic=" + url.QueryEscape(watchSubscriptions) + "&authorization=" + watch

	first := serve(t, cfg, "http", &http.Transport{})
	_, watcher := first.Open(t, watchPath)
	first.Open(t, "/events?topic=orders")
	nextSubscription(t, watcher, "orders")
	if err := first.Stop(t, 10*time.Second); err != nil {
		t.Fatalf("graceful shutdown: %v", err)
	}

	second := serve(t, cfg, "http", &http.Transport{})
	_, replay := second.Open(t, watchPath+"&lastEventID=earliest")
	for _, active := range []bool{true, false} {
		if d := nextSubscription(t, replay, "orders"); d.Active != active {
			t.Fatalf("replayed after the restart: %+v, want active %v", d, active)
		}
	}
	if got := topicsIn(second.listSubscriptions(t, watch)); got != watchSubscriptions {
		t.Errorf("after the restart the hub lists %q, want only the new watcher", got)
	}
}
