package client

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	const ms = time.Millisecond
	lowest := func(int64) int64 { return 0 }
	highest := func(n int64) int64 { return n - 1 }
	tests := []struct {
		name              string
		retry             time.Duration // the hub's retry field, 0 if none
		failures          int
		retryAfter        time.Duration
		shortest, longest time.Duration
	}{
		{"client minimum", 0, 0, 0, 100 * ms, 200 * ms},
		{"doubles per failure", 0, 3, 0, 100 * ms, 900 * ms},
		{"capped at the maximum", 0, 20, 0, 100 * ms, 30 * time.Second},
		{"huge failure count", 0, 1000, 0, 100 * ms, 30 * time.Second},
		{"hub's retry is the base", 3 * time.Second, 0, 0, 3 * time.Second, 6 * time.Second},
		{"hub's retry backs off too", 3 * time.Second, 2, 0, 3 * time.Second, 15 * time.Second},
		{"hub's retry above the maximum wins", time.Minute, 5, 0, time.Minute, time.Minute},
		{"Retry-After is a floor", 0, 0, 5 * time.Second, 5 * time.Second, 5 * time.Second},
		{"Retry-After below the backoff", 0, 0, 50 * ms, 100 * ms, 200 * ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lo := backoff(tt.retry, 100*ms, 30*time.Second, tt.failures, tt.retryAfter, lowest)
			hi := backoff(tt.retry, 100*ms, 30*time.Second, tt.failures, tt.retryAfter, highest)
			if lo != tt.shortest || hi != tt.longest {
				t.Errorf("backoff range = [%v, %v], want [%v, %v]", lo, hi, tt.shortest, tt.longest)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		header string
		want   time.Duration
	}{
		{"", 0},
		{"7", 7 * time.Second},
		{" 2 ", 2 * time.Second},
		{"0", 0},
		{"-3", 0},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"99999999999", 24 * time.Hour},
	}
	for _, tt := range tests {
		if got := retryAfter(tt.header, now); got != tt.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tt.header, got, tt.want)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	e := &Error{Status: 400, Message: "id must not start with #", Field: "id"}
	if got, want := e.Error(), `ssehub: 400 Bad Request: id must not start with # (field "id")`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	e = &Error{Status: 429, Message: "slow down", RetryAfter: time.Second}
	if got, want := e.Error(), "ssehub: 429 Too Many Requests: slow down (retry after 1s)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestErrorOf(t *testing.T) {
	tests := []struct {
		name, body         string
		wantMsg, wantField string
	}{
		{"ssehub JSON", `{"error":"bad topic","field":"topic"}`, "bad topic", "topic"},
		{"plain text from a proxy", "upstream unavailable\n", "upstream unavailable", ""},
		{"empty", "", "Service Unavailable", ""},
		{"JSON of another shape", `{"message":"nope"}`, `{"message":"nope"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &http.Response{
				StatusCode: http.StatusServiceUnavailable,
				Header:     http.Header{"Retry-After": {"3"}},
				Body:       io.NopCloser(strings.NewReader(tt.body)),
			}
			e := errorOf(resp)
			if e.Status != 503 || e.Message != tt.wantMsg || e.Field != tt.wantField || e.RetryAfter != 3*time.Second {
				t.Errorf("errorOf = %+v, want 503 %q field %q retry after 3s", e, tt.wantMsg, tt.wantField)
			}
		})
	}
}
