package client

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxErrorBody bounds the bytes of an error answer that are read.
const maxErrorBody = 64 << 10

// Error is a hub's refusal: an answer with a status other than success,
// decoded from ssehub's JSON body {"error": "...", "field": "..."}.
type Error struct {
	// Status is the HTTP status code, such as 400 or 429.
	Status int
	// Message says what was wrong: the body's "error", else the body's
	// text, else the status text.
	Message string
	// Field names the request field at fault ("topic", "id",
	// "Authorization", ...), empty when none.
	Field string
	// RetryAfter is the wait the hub asked for with a Retry-After header
	// (429, 503), zero if none.
	RetryAfter time.Duration
}

// Error returns the status, message and field.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ssehub: %d %s", e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, " (field %q)", e.Field)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %v)", e.RetryAfter)
	}
	return b.String()
}

// retryable reports whether a request refused with e may succeed if sent
// again later: 408, 429 and server errors.
func (e *Error) retryable() bool {
	return e.Status == http.StatusRequestTimeout || e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// errorOf reads an unsuccessful response into an *Error and closes its body.
func errorOf(resp *http.Response) *Error {
	defer resp.Body.Close()
	e := &Error{Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now())}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var j struct {
		Error string `json:"error"`
		Field string `json:"field"`
	}
	switch {
	case json.Unmarshal(body, &j) == nil && j.Error != "":
		e.Message, e.Field = j.Error, j.Field
	case len(strings.TrimSpace(string(body))) > 0:
		e.Message = strings.TrimSpace(string(body))
	default:
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}

// retryAfter decodes a Retry-After header, seconds or an HTTP date, into a
// wait from now; zero if absent, malformed or past.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
