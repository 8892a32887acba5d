package app_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/app/apptest"
	"github.com/ssehub/ssehub/internal/auth/authtest"
	"github.com/ssehub/ssehub/internal/redis/redistest"
	"github.com/ssehub/ssehub/internal/webhook"
	"github.com/ssehub/ssehub/internal/webhook/webhooktest"
)

const webhookSecret = "app-webhook-secret-0123456789"

// withWebhooks sends every event type to r.
func withWebhooks(cfg *app.Config, r *webhooktest.Receiver) {
	cfg.Webhook.URL, cfg.Webhook.Secret, cfg.Webhook.Events = r.URL, webhookSecret, "*"
}

// TestWebhooks: a subscriber's stream, a publish and a shutdown, over
// HTTP: the application is told who subscribed to what (its token's sub
// and payload, its address, the same subscriber id as the active
// subscriptions'), what was published with its id, who left and which
// topics emptied, and on shutdown the streams it ended.
func TestWebhooks(t *testing.T) {
	r := webhooktest.Start(t, []byte(webhookSecret))
	keys := authtest.NewKeys(t)
	cfg := apptest.TestConfig(t)
	cfg.JWTKey, cfg.Subscriptions = keys.SecretFile, true
	withWebhooks(&cfg, r)
	s := serve(t, cfg, "http", &http.Transport{})
	hour := time.Now().Add(time.Hour)
	claims := authtest.Claims(nil, []string{"books/{id}"}, hour)
	claims["sub"] = "alice"
	claims["mercure"].(map[string]any)["payload"] = map[string]any{"name": "Alice"}
	alice := keys.HS256(t, claims)

	resp, _ := s.Open(t, "/.well-known/mercure?topic=books/1&topic=books/1&topic="+url.QueryEscape("books/{id}")+"&authorization="+alice)
	evs := r.Wait(t, 10*time.Second, "alice's start", func(evs []webhook.Event) bool { return len(evs) >= 3 })
	st := evs[0]
	if st.Type != webhook.SubscriptionStarted || st.User != "alice" || string(st.Payload) != `{"name":"Alice"}` ||
		st.ClientIP != "127.0.0.1" || !slices.Equal(st.Topics, []string{"books/1", "books/{id}"}) || st.Since == nil {
		t.Fatalf("started: %+v", st)
	}
	if evs[1].Type != webhook.TopicOccupied || evs[1].Topic != "books/1" || evs[2].Topic != "books/{id}" {
		t.Errorf("then %+v %+v, want books/1 and books/{id} occupied", evs[1], evs[2])
	}
	watch := keys.HS256(t, authtest.Claims(nil, []string{watchSubscriptions}, hour))
	if docs := s.listSubscriptions(t, watch); len(docs) != 2 || docs[0].Subscriber != st.Subscriber {
		t.Errorf("the active subscriptions %+v do not name subscriber %s", docs, st.Subscriber)
	}

	pub := keys.HS256(t, authtest.Claims([]string{"*"}, nil, hour))
	status, id, _ := s.post(t, pub, url.Values{"topic": {"books/1"}, "data": {"new chapter"}})
	if status != http.StatusOK {
		t.Fatalf("publish: %d %s", status, id)
	}
	resp.Body.Close()
	evs = r.Wait(t, 10*time.Second, "the publish and alice's end", func(evs []webhook.Event) bool {
		return webhooktest.Count(evs, webhook.TopicVacated) == 2
	})
	var got []string
	for _, ev := range evs[3:] {
		got = append(got, ev.Type)
		switch ev.Type {
		case webhook.UpdatePublished:
			if ev.Update == nil || ev.Update.ID != id || ev.Update.Data != "new chapter" {
				t.Errorf("published: %+v, want id %s", ev.Update, id)
			}
		case webhook.SubscriptionEnded:
			if ev.Subscriber != st.Subscriber || ev.Reason != webhook.ReasonDisconnected || ev.User != "alice" {
				t.Errorf("ended: %+v", ev)
			}
		}
	}
	if want := "update.published subscription.ended topic.vacated topic.vacated"; strings.Join(got, " ") != want {
		t.Errorf("after the start: %s, want %s", strings.Join(got, " "), want)
	}
	if m := s.get(t, "/metrics"); !strings.Contains(m, "ssehub_webhook_events_sent_total") || !strings.Contains(m, "ssehub_webhook_failing 0") {
		t.Errorf("metrics lack the webhooks:\n%s", grepLines(m, "webhook"))
	}

	// A graceful shutdown ends alice's second stream and delivers its end
	// before it returns.
	s.Open(t, "/.well-known/mercure?topic=books/2&authorization="+alice)
	r.Wait(t, 10*time.Second, "the second start", func(evs []webhook.Event) bool { return webhooktest.Count(evs, webhook.SubscriptionStarted) == 2 })
	if err := s.Stop(t, 10*time.Second); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	evs = r.Events()
	if p, err := webhooktest.Replay(evs); err != nil || len(p.Subscribers) != 0 || len(p.Topics) != 0 {
		t.Errorf("after the shutdown: %+v %v; want nobody left\n%s", p, err, webhooktest.Dump(evs))
	}
}

// TestWebhooksWithoutToken: an anonymous subscriber, in open development
// mode, is told too, without user or payload.
func TestWebhooksWithoutToken(t *testing.T) {
	r := webhooktest.Start(t, []byte(webhookSecret))
	cfg := apptest.TestConfig(t)
	withWebhooks(&cfg, r)
	s := serve(t, cfg, "http", &http.Transport{})
	s.Open(t, "/events?topic=news")
	evs := r.Wait(t, 10*time.Second, "the start", func(evs []webhook.Event) bool { return len(evs) >= 2 })
	if evs[0].User != "" || evs[0].Payload != nil || evs[0].Topics[0] != "news" {
		t.Errorf("anonymous started: %+v", evs[0])
	}
}

// TestWebhooksCluster: three nodes on one Redis, a subscriber on each to
// one room: the room is occupied once, by the first, and vacated once, by
// the last to leave, whatever node each is on; a node shut down
// gracefully ends its own subscribers (reason disconnected).
func TestWebhooksCluster(t *testing.T) {
	r := webhooktest.Start(t, []byte(webhookSecret))
	srv := redistest.Start(t)
	keys := authtest.NewKeys(t)
	var nodes []*served
	for range 3 {
		cfg := clusterConfig(t, srv, keys)
		withWebhooks(&cfg, r)
		nodes = append(nodes, serve(t, cfg, "http", &http.Transport{}))
	}
	sub := keys.HS256(t, authtest.Claims(nil, []string{"*"}, time.Now().Add(time.Hour)))
	var streams []*http.Response
	for i, n := range nodes {
		resp, _ := n.Open(t, "/events?topic=room&topic=node/"+string(rune('a'+i))+"&authorization="+sub)
		streams = append(streams, resp)
	}
	r.Wait(t, 15*time.Second, "3 starts", func(evs []webhook.Event) bool { return webhooktest.Count(evs, webhook.SubscriptionStarted) == 3 })
	pub := keys.HS256(t, authtest.Claims([]string{"*"}, nil, time.Now().Add(time.Hour)))
	status, id, _ := nodes[1].post(t, pub, url.Values{"topic": {"room"}, "data": {"hello"}})
	if status != http.StatusOK {
		t.Fatalf("publish: %d %s", status, id)
	}
	evs := r.Wait(t, 15*time.Second, "the publish", func(evs []webhook.Event) bool { return webhooktest.Count(evs, webhook.UpdatePublished) == 1 })
	if u := evs[len(evs)-1].Update; u == nil || u.ID != id || u.Data != "hello" || !slices.Equal(u.Topics, []string{"room"}) {
		t.Errorf("published through the cluster: %+v, want id %s", u, id)
	}
	if err := nodes[2].Stop(t, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	streams[0].Body.Close()
	evs = r.Wait(t, 15*time.Second, "2 ends", func(evs []webhook.Event) bool { return webhooktest.Count(evs, webhook.SubscriptionEnded) == 2 })
	p, err := webhooktest.Replay(evs)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range p.Ended {
		if ev.Reason != webhook.ReasonDisconnected {
			t.Errorf("ended %+v, want reason disconnected", ev)
		}
	}
	if len(p.Subscribers) != 1 || !p.Topics["room"] || !p.Topics["node/b"] || len(p.Topics) != 2 {
		t.Errorf("present: %v, topics %v; want node b's subscriber on room and node/b\n%s", p.Subscribers, p.Topics, webhooktest.Dump(evs))
	}
	if n := webhooktest.Count(evs, webhook.TopicOccupied); n != 4 {
		t.Errorf("%d topics occupied, want 4: room once and each node's\n%s", n, webhooktest.Dump(evs))
	}
	streams[1].Body.Close()
	evs = r.Wait(t, 15*time.Second, "room vacated", func(evs []webhook.Event) bool { return webhooktest.Count(evs, webhook.TopicVacated) == 4 })
	if _, err := webhooktest.Replay(evs); err != nil {
		t.Error(err)
	}
	if _, dups, bad := r.Counts(); len(bad) > 0 || dups > 0 {
		t.Errorf("%d events received twice, refused: %q", dups, bad)
	}
}

// TestWebhooksSecretRotation: with -webhook-secret-previous, an
// application still verifying with the old secret and one already on the
// new one both accept every request.
func TestWebhooksSecretRotation(t *testing.T) {
	const current = "app-webhook-secret-the-new-one"
	for name, secret := range map[string]string{"old": webhookSecret, "new": current} {
		t.Run(name, func(t *testing.T) {
			r := webhooktest.Start(t, []byte(secret))
			cfg := apptest.TestConfig(t)
			withWebhooks(&cfg, r)
			cfg.Webhook.Secret, cfg.Webhook.Previous = current, webhookSecret
			s := serve(t, cfg, "http", &http.Transport{})
			s.Open(t, "/events?topic=news")
			r.Wait(t, 10*time.Second, "the start", func(evs []webhook.Event) bool { return len(evs) >= 2 })
			if _, _, bad := r.Counts(); len(bad) > 0 {
				t.Errorf("requests refused by a receiver on the %s secret: %v", name, bad)
			}
		})
	}
}
