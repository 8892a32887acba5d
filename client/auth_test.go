package client_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ssehub/ssehub/client"
)

func TestToken(t *testing.T) {
	secret := []byte("a test secret of at least thirty-two bytes")
	cfg := testConfig()
	cfg.JWTKey = string(secret)
	cfg.AnonymousSubscribe = false
	tr := transport(t)
	rec := newRecorder(nil)
	hub := serveWrapped(t, cfg, rec.wrap)

	anonymous := newClientWith(t, hub.url(), tr)
	var e *client.Error
	if _, err := trySubscribe(t, anonymous, []string{"chat"}); !errors.As(err, &e) ||
		e.Status != http.StatusUnauthorized || e.Field != "Authorization" {
		t.Fatalf("anonymous Subscribe = %v, want a 401 naming Authorization", err)
	}
	if n := rec.count(); n != 1 {
		t.Errorf("%d subscribe requests, want 1: a 401 is not retried", n)
	}
	if _, err := anonymous.Publish(context.Background(), client.Update{Topics: []string{"chat"}}); !errors.As(err, &e) ||
		e.Status != http.StatusUnauthorized {
		t.Fatalf("anonymous Publish = %v, want a 401", err)
	}

	var minted atomic.Int32
	token := func(context.Context) (string, error) {
		minted.Add(1)
		claims := jwt.MapClaims{
			"exp":     time.Now().Add(time.Hour).Unix(),
			"mercure": map[string]any{"publish": []string{"chat"}, "subscribe": []string{"chat"}},
		}
		return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
	}
	c := newClientWith(t, hub.url(), tr, client.WithTokenFunc(token))
	sub := subscribe(t, c, []string{"chat"})
	rec.arrived(t)
	conn := rec.arrived(t)
	id := publish(t, c, client.Update{Topics: []string{"chat"}, Data: "secret", Private: true})
	if ev := next(t, sub); ev.ID != id || ev.Data != "secret" {
		t.Fatalf("event = %+v, want the private update %s", ev, id)
	}
	conn.drop()
	rec.arrived(t) // reconnected, with a fresh token
	id = publish(t, c, client.Update{Topics: []string{"chat"}, Data: "again", Private: true})
	if ev := next(t, sub); ev.ID != id {
		t.Fatalf("event after the reconnection = %+v, want %s", ev, id)
	}
	if n := minted.Load(); n != 4 {
		t.Errorf("token function called %d times, want 4 (2 connections, 2 publishes)", n)
	}

	failing := newClientWith(t, hub.url(), tr, client.WithTokenFunc(func(context.Context) (string, error) {
		return "", errors.New("no token today")
	}))
	if _, err := trySubscribe(t, failing, []string{"chat"}); err == nil {
		t.Error("Subscribe succeeded with a failing token function")
	}
	if _, err := failing.Publish(context.Background(), client.Update{Topics: []string{"chat"}}); err == nil {
		t.Error("Publish succeeded with a failing token function")
	}
}

func TestStaticToken(t *testing.T) {
	secret := []byte("a test secret of at least thirty-two bytes")
	cfg := testConfig()
	cfg.JWTKey = string(secret)
	tr := transport(t)
	hub := serve(t, cfg, "127.0.0.1:0")
	claims := jwt.MapClaims{"mercure": map[string]any{"publish": []string{"books/{id}"}}}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}
	c := newClientWith(t, hub.url(), tr, client.WithToken(tok))
	sub := subscribe(t, c, []string{"books/1"})
	id := publish(t, c, client.Update{Topics: []string{"books/1"}})
	if ev := next(t, sub); ev.ID != id {
		t.Fatalf("event = %+v, want %s", ev, id)
	}
	_, err = c.Publish(context.Background(), client.Update{Topics: []string{"chat"}})
	var e *client.Error
	if !errors.As(err, &e) || e.Status != http.StatusForbidden || e.Field != "topic" {
		t.Errorf("Publish to a topic not granted = %v, want a 403 naming topic", err)
	}
}
