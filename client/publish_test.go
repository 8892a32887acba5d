package client_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/client"
)

func TestNewRejectsBadSettings(t *testing.T) {
	tests := []struct {
		name string
		url  string
		opts []client.Option
	}{
		{"relative URL", "/.well-known/mercure", nil},
		{"other scheme", "ftp://hub/.well-known/mercure", nil},
		{"unparsable", "http://[::1", nil},
		{"zero min backoff", "http://hub/", []client.Option{client.WithBackoff(0, time.Second)}},
		{"max below min", "http://hub/", []client.Option{client.WithBackoff(time.Second, time.Millisecond)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := client.New(tt.url, tt.opts...); err == nil {
				t.Errorf("New(%q) succeeded", tt.url)
			}
		})
	}
}

func TestPublishErrorsAreTyped(t *testing.T) {
	tr := transport(t)
	hub := serve(t, testConfig(), "127.0.0.1:0")
	c := newClientWith(t, hub.url(), tr)
	tests := []struct {
		name  string
		u     client.Update
		field string
	}{
		{"no topic", client.Update{Data: "x"}, "topic"},
		{"empty topic", client.Update{Topics: []string{""}}, "topic"},
		{"reserved id", client.Update{Topics: []string{"t"}, ID: "urn:ssehub:x:1"}, "id"},
		{"id starting with #", client.Update{Topics: []string{"t"}, ID: "#1"}, "id"},
		{"type with a line break", client.Update{Topics: []string{"t"}, Type: "a\nb"}, "type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := c.Publish(context.Background(), tt.u)
			var e *client.Error
			if !errors.As(err, &e) {
				t.Fatalf("Publish = %q, %v; want an *Error", id, err)
			}
			if e.Status != http.StatusBadRequest || e.Field != tt.field || e.Message == "" {
				t.Errorf("error = %+v; want 400 naming field %q with a message", e, tt.field)
			}
			if !strings.Contains(e.Error(), tt.field) {
				t.Errorf("Error() = %q does not name the field", e.Error())
			}
		})
	}
}

func TestPublishRateLimitedCarriesRetryAfter(t *testing.T) {
	tr := transport(t)
	hub := serveWrapped(t, testConfig(), func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			refuse(w, http.StatusTooManyRequests, "", "7")
		})
	})
	c := newClientWith(t, hub.url(), tr)
	_, err := c.Publish(context.Background(), client.Update{Topics: []string{"t"}})
	var e *client.Error
	if !errors.As(err, &e) || e.Status != http.StatusTooManyRequests || e.RetryAfter != 7*time.Second {
		t.Fatalf("Publish error = %#v; want 429 retry after 7s", err)
	}
}

func TestPublishSendsEveryField(t *testing.T) {
	tr := transport(t)
	hub := serve(t, testConfig(), "127.0.0.1:0")
	c := newClientWith(t, hub.url(), tr)
	sub := subscribe(t, c, []string{"books/1"})
	u := client.Update{
		Topics: []string{"books/1", "books"}, Data: "line 1\nline 2\r\nline 3",
		ID: "book-1-v2", Type: "changed", Retry: 2500 * time.Millisecond,
	}
	if id := publish(t, c, u); id != u.ID {
		t.Errorf("Publish returned %q, want the given id %q", id, u.ID)
	}
	want := client.Event{ID: u.ID, Type: u.Type, Data: "line 1\nline 2\nline 3", Retry: u.Retry}
	if got := next(t, sub); got != want {
		t.Errorf("event = %+v, want %+v", got, want)
	}
}
