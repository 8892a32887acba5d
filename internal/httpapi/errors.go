package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/ssehub/ssehub/internal/auth"
	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/llm"
)

// apiError is the JSON body of every error answer.
type apiError struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// writeError answers with status and a JSON body naming the problem.
func writeError(w http.ResponseWriter, status int, field, msg string) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Last-Event-ID")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(apiError{Error: msg, Field: field})
}

// writeErr maps an error to its HTTP status, in this one place, and writes it.
func writeErr(w http.ResponseWriter, err error) {
	status, field := statusOf(err)
	switch status {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		setRetryAfterFor(w, time.Second)
	case http.StatusUnauthorized:
		setChallenge(w.Header(), err)
	}
	msg := err.Error()
	if status == http.StatusInternalServerError {
		msg = "internal error"
	}
	writeError(w, status, field, msg)
}

// statusOf maps an error to its HTTP status and the field at fault.
func statusOf(err error) (int, string) {
	var (
		herr   *hub.Error
		lerr   *llm.Error
		limit  *limitError
		tooBig *http.MaxBytesError
	)
	switch {
	case errors.As(err, &limit):
		return limit.status, limit.field
	case errors.Is(err, auth.ErrForbidden):
		return http.StatusForbidden, authField(err)
	case errors.Is(err, auth.ErrNoToken), errors.Is(err, auth.ErrInvalidToken):
		return http.StatusUnauthorized, authField(err)
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge, ""
	case errors.As(err, &herr) && herr.Code == hub.CodeInvalid:
		return http.StatusBadRequest, herr.Field
	case errors.As(err, &herr):
		return http.StatusServiceUnavailable, herr.Field
	case errors.Is(err, llm.ErrTooMany):
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

// badRequest is an input error naming the field at fault.
func badRequest(field, msg string) error {
	return &hub.Error{Code: hub.CodeInvalid, Field: field, Err: errors.New(msg)}
}
