package client_test

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/ssehub/ssehub/client"
)

func TestRefusedSubscribeIsNotRetried(t *testing.T) {
	tests := []struct {
		name   string
		status int // 0: the hub's own answer to a subscription without topic
		field  string
	}{
		{"no topic", 0, "topic"},
		{"unauthorized", http.StatusUnauthorized, "Authorization"},
		{"forbidden", http.StatusForbidden, ""},
		{"not found", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := transport(t)
			rec := newRecorder(func(_ int, w http.ResponseWriter) bool {
				if tt.status == 0 {
					return false
				}
				refuse(w, tt.status, tt.field, "")
				return true
			})
			hub := serveWrapped(t, testConfig(), rec.wrap)
			c := newClientWith(t, hub.url(), tr)
			topics := []string{"t"}
			if tt.status == 0 {
				topics = nil
			}
			_, err := trySubscribe(t, c, topics)
			var e *client.Error
			want := max(tt.status, http.StatusBadRequest)
			if !errors.As(err, &e) || e.Status != want || e.Field != tt.field {
				t.Fatalf("Subscribe error = %v; want an *Error %d naming %q", err, want, tt.field)
			}
			if n := rec.count(); n != 1 {
				t.Errorf("%d subscribe requests, want 1", n)
			}
		})
	}
}

func TestRefusedReconnectionEndsSubscription(t *testing.T) {
	tr := transport(t)
	rec := newRecorder(func(n int, w http.ResponseWriter) bool {
		if n == 1 {
			return false
		}
		refuse(w, http.StatusForbidden, "topic", "")
		return true
	})
	hub := serveWrapped(t, testConfig(), rec.wrap)
	c := newClientWith(t, hub.url(), tr)
	sub := subscribe(t, c, []string{"t"})
	rec.arrived(t).drop()
	rec.arrived(t)
	closed(t, sub, wait)
	var e *client.Error
	if err := sub.Err(); !errors.As(err, &e) || e.Status != http.StatusForbidden || e.Field != "topic" {
		t.Fatalf("Err = %v, want the 403", err)
	}
	if n := rec.count(); n != 2 {
		t.Errorf("%d subscribe requests, want 2: no retry after a refusal", n)
	}
}

func TestTransientRefusalsAreRetried(t *testing.T) {
	tests := []struct {
		status     int
		retryAfter string
		atLeast    time.Duration
	}{
		{http.StatusTooManyRequests, "1", time.Second},
		{http.StatusTooManyRequests, "", 0},
		{http.StatusServiceUnavailable, "", 0},
		{http.StatusRequestTimeout, "", 0},
		{http.StatusBadGateway, "", 0},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.status)+" "+tt.retryAfter, func(t *testing.T) {
			tr := transport(t)
			rec := newRecorder(func(n int, w http.ResponseWriter) bool {
				if n == 2 { // the first reconnection attempt
					refuse(w, tt.status, "", tt.retryAfter)
					return true
				}
				return false
			})
			hub := serveWrapped(t, testConfig(), rec.wrap)
			c := newClientWith(t, hub.url(), tr)
			sub := subscribe(t, c, []string{"t"})
			rec.arrived(t).drop()
			refused := rec.arrived(t)
			again := rec.arrived(t)
			if d := again.at.Sub(refused.at); d < tt.atLeast {
				t.Errorf("retried %v after the refusal, want at least %v", d, tt.atLeast)
			}
			id := publish(t, c, client.Update{Topics: []string{"t"}})
			if ev := next(t, sub); ev.ID != id {
				t.Fatalf("event = %+v, want %s", ev, id)
			}
		})
	}
}

func TestSubscribeRetriesUntilAccepted(t *testing.T) {
	tr := transport(t)
	rec := newRecorder(func(n int, w http.ResponseWriter) bool {
		if n == 1 {
			refuse(w, http.StatusTooManyRequests, "", "1")
			return true
		}
		return false
	})
	hub := serveWrapped(t, testConfig(), rec.wrap)
	c := newClientWith(t, hub.url(), tr)
	start := time.Now()
	sub := subscribe(t, c, []string{"t"})
	if d := time.Since(start); d < time.Second {
		t.Errorf("Subscribe returned after %v, before the Retry-After of 1s", d)
	}
	if n := rec.count(); n != 2 {
		t.Errorf("%d subscribe requests, want 2", n)
	}
	id := publish(t, c, client.Update{Topics: []string{"t"}})
	if ev := next(t, sub); ev.ID != id {
		t.Fatalf("event = %+v, want %s", ev, id)
	}
}
