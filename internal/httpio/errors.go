// Package httpio is what ssehub's endpoint packages share to read requests
// and answer them: JSON bodies in, JSON answers out, the one mapping of
// errors to HTTP statuses, and routing by method. It knows the domain's
// errors (hub, auth, llm) only to map them; it serves no endpoint itself.
package httpio

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/ssehub/ssehub/internal/auth"
	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/llm"
)

// Error is a request refused with a status of its own (a limit, say), the
// field at fault and, for 429 and 503, when to retry.
type Error struct {
	Status     int
	Field, Msg string
	RetryAfter time.Duration
}

// Error returns the message.
func (e *Error) Error() string { return e.Msg }

// FieldError is an error about one field of a request: a header, a query
// parameter, a cookie or a form field, which the answer names.
type FieldError struct {
	Field string
	Err   error
}

// Error returns Err's message.
func (e *FieldError) Error() string { return e.Err.Error() }

// Unwrap returns Err.
func (e *FieldError) Unwrap() error { return e.Err }

// fieldOf returns the field a FieldError in err's chain names.
func fieldOf(err error) string {
	var fe *FieldError
	if errors.As(err, &fe) {
		return fe.Field
	}
	return ""
}

// BadRequest is an input error naming the field at fault.
func BadRequest(field, msg string) error {
	return &hub.Error{Code: hub.CodeInvalid, Field: field, Err: errors.New(msg)}
}

// body is the JSON body of every error answer.
type body struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// WriteError answers with status and a JSON body naming the problem.
func WriteError(w http.ResponseWriter, status int, field, msg string) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Last-Event-ID")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body{Error: msg, Field: field})
}

// WriteErr answers err with its status (see Status) and a JSON body; an
// internal error is not described. A 429 or 503 says when to retry: the
// RetryAfter of an Error in err's chain, else in a second.
func WriteErr(w http.ResponseWriter, err error) {
	status, field := Status(err)
	switch status {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		wait := time.Second
		if limit := (*Error)(nil); errors.As(err, &limit) && limit.RetryAfter > 0 {
			wait = limit.RetryAfter
		}
		SetRetryAfter(w, wait)
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusBadRequest:
		SetChallenge(w.Header(), status, err)
	}
	msg := err.Error()
	if status == http.StatusInternalServerError {
		msg = "internal error"
	}
	WriteError(w, status, field, msg)
}

// Status maps an error to its HTTP status and the field at fault, in this
// one place.
func Status(err error) (int, string) {
	var (
		herr   *hub.Error
		lerr   *llm.Error
		limit  *Error
		tooBig *http.MaxBytesError
	)
	switch {
	case errors.As(err, &limit):
		return limit.Status, limit.Field
	case errors.Is(err, auth.ErrForbidden):
		return http.StatusForbidden, fieldOf(err)
	case errors.Is(err, auth.ErrNoToken), errors.Is(err, auth.ErrInvalidToken):
		return http.StatusUnauthorized, fieldOf(err)
	case errors.Is(err, auth.ErrInvalidRequest):
		return http.StatusBadRequest, fieldOf(err)
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge, ""
	case errors.As(err, &herr) && herr.Code == hub.CodeInvalid:
		return http.StatusBadRequest, herr.Field
	case errors.As(err, &herr):
		return http.StatusServiceUnavailable, herr.Field
	case errors.Is(err, llm.ErrTooMany), errors.Is(err, llm.ErrBehind):
		return http.StatusTooManyRequests, ""
	case errors.Is(err, llm.ErrNotFound):
		return http.StatusNotFound, "id"
	case errors.Is(err, llm.ErrClosed):
		return http.StatusServiceUnavailable, ""
	case errors.As(err, &lerr):
		return llmStatus(lerr.Kind), ""
	}
	return http.StatusInternalServerError, ""
}

// llmStatus maps a model error kind to the status ssehub answers with.
func llmStatus(k llm.ErrorKind) int {
	switch k {
	case llm.KindInvalid:
		return http.StatusBadRequest
	case llm.KindNotFound:
		return http.StatusNotFound
	case llm.KindRateLimit:
		return http.StatusTooManyRequests
	case llm.KindTimeout:
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}

// SetRetryAfter sets Retry-After in whole seconds, at least one.
func SetRetryAfter(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(d.Seconds())))))
}
