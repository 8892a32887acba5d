package webhook_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssehub/ssehub/client/webhook"
)

// TestHandler: what the hub signs reaches the function, decoded; anything
// else gets the status that names what is wrong, and never reaches it.
func TestHandler(t *testing.T) {
	secret := []byte("0123456789abcdef0123")
	var mu sync.Mutex
	var got []webhook.Event
	fail := false
	srv := httptest.NewServer(webhook.Handler(secret, func(_ context.Context, evs []webhook.Event) error {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			return errors.New("the database is down")
		}
		got = append(got, evs...)
		return nil
	}))
	defer srv.Close()
	batch := `{"events":[{"id":"evt_a_1","type":"subscription.started","time":"2026-12-07T10:00:00Z","subscriber":"urn:uuid:1","topics":["books/1"],"user":"alice","payload":{"name":"Alice"}},` +
		`{"id":"evt_a_2","type":"topic.occupied","time":"2026-12-07T10:00:00Z","topic":"books/1"}]}`
	now := time.Now()
	post := func(method, body, signature string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL, strings.NewReader(body))
		if signature != "" {
			req.Header.Set(webhook.SignatureHeader, signature)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		msg, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(msg)
	}
	sign := func(body string, key []byte, at time.Time) string { return webhook.Sign(key, []byte(body), at) }
	huge := `{"events":[],"pad":"` + strings.Repeat("x", 5<<20) + `"}`
	for _, tc := range []struct {
		name, method, body, signature string
		want                          int
		says                          string
	}{
		{"GET", http.MethodGet, "", "", http.StatusMethodNotAllowed, "POST"},
		{"no signature", http.MethodPost, batch, "", http.StatusUnauthorized, "no valid Ssehub-Signature"},
		{"wrong secret", http.MethodPost, batch, sign(batch, []byte("another secret of the app"), now), http.StatusUnauthorized, "does not match"},
		{"stale", http.MethodPost, batch, sign(batch, secret, now.Add(-10*time.Minute)), http.StatusUnauthorized, "too old"},
		{"too large", http.MethodPost, huge, sign(huge, secret, now), http.StatusRequestEntityTooLarge, "over"},
		{"not a batch", http.MethodPost, `{"hello":1}`, sign(`{"hello":1}`, secret, now), http.StatusBadRequest, "not a batch"},
		{"not JSON", http.MethodPost, `events`, sign(`events`, secret, now), http.StatusBadRequest, "not a batch"},
		{"valid", http.MethodPost, batch, sign(batch, secret, now), http.StatusNoContent, ""},
	} {
		status, msg := post(tc.method, tc.body, tc.signature)
		if status != tc.want || !strings.Contains(msg, tc.says) {
			t.Errorf("%s: %d %q, want %d saying %q", tc.name, status, msg, tc.want, tc.says)
		}
	}
	mu.Lock()
	if len(got) != 2 || got[0].User != "alice" || string(got[0].Payload) != `{"name":"Alice"}` || got[1].Topic != "books/1" {
		t.Errorf("events handed over: %+v", got)
	}
	fail = true
	mu.Unlock()
	if status, msg := post(http.MethodPost, batch, sign(batch, secret, now)); status != http.StatusInternalServerError || !strings.Contains(msg, "database") {
		t.Errorf("the function failing: %d %q, want 500 naming the error (the hub retries)", status, msg)
	}
}
