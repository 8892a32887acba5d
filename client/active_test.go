package client_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ssehub/ssehub/client"
)

// TestActiveSubscriptions lists a hub's active subscriptions, follows their
// updates from the list's lastEventID, and is refused without the right.
func TestActiveSubscriptions(t *testing.T) {
	secret := []byte("a test secret of at least thirty-two bytes")
	cfg := testConfig()
	cfg.JWTKey = string(secret)
	cfg.Subscriptions = true
	hub := serve(t, cfg, "127.0.0.1:0")
	tr := transport(t)
	sign := func(mercure map[string]any) string {
		claims := jwt.MapClaims{"exp": time.Now().Add(time.Hour).Unix(), "mercure": mercure}
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	watcher := newClientWith(t, hub.url(), tr, client.WithToken(sign(map[string]any{"subscribe": []string{client.SubscriptionsTopic}})))
	alice := newClientWith(t, hub.url(), tr, client.WithToken(sign(map[string]any{"subscribe": []string{"books/{id}"}, "payload": map[string]string{"user": "alice"}})))
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()

	subscribe(t, alice, []string{"books/1", "books/{id}"})
	subs, last, err := watcher.ActiveSubscriptions(ctx, "") // registered before the hub answered Subscribe
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 2 || subs[0].Subscriber != subs[1].Subscriber || string(subs[0].Payload) != `{"user":"alice"}` || !subs[0].Active || last == "" {
		t.Fatalf("ActiveSubscriptions = %+v, %q", subs, last)
	}
	one, _, err := watcher.ActiveSubscriptions(ctx, "books/1")
	if err != nil || len(one) != 1 || one[0].Topic != "books/1" {
		t.Fatalf("ActiveSubscriptions(books/1) = %+v, %v", one, err)
	}

	follow := subscribe(t, watcher, []string{client.SubscriptionsTopic}, client.FromID(last))
	bob := subscribe(t, alice, []string{"news"})
	for {
		s, err := client.ParseActiveSubscription(next(t, follow).Data)
		if err != nil {
			t.Fatal(err)
		}
		if s.Topic == "news" {
			if !s.Active || s.ID == "" {
				t.Fatalf("bob's subscription announced as %+v", s)
			}
			break
		}
	}
	bob.Close()
	for {
		s, err := client.ParseActiveSubscription(next(t, follow).Data)
		if err != nil {
			t.Fatal(err)
		}
		if s.Topic == "news" && !s.Active {
			break
		}
	}

	var e *client.Error
	if _, _, err := alice.ActiveSubscriptions(ctx, ""); !errors.As(err, &e) || e.Status != http.StatusForbidden {
		t.Errorf("ActiveSubscriptions with a token for other topics = %v, want a 403", err)
	}
	if _, err := client.ParseActiveSubscription("{}"); err == nil {
		t.Error("ParseActiveSubscription accepted an update without id")
	}
}
