package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/ssehub/ssehub/internal/hub"
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
	var herr *hub.Error
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, "", "request body larger than the limit")
	case errors.As(err, &herr) && herr.Code == hub.CodeInvalid:
		writeError(w, http.StatusBadRequest, herr.Field, herr.Error())
	case errors.As(err, &herr) && herr.Code == hub.CodeUnavailable:
		writeError(w, http.StatusServiceUnavailable, herr.Field, herr.Error())
	default:
		writeError(w, http.StatusInternalServerError, "", "internal error")
	}
}

// badRequest is an input error naming the field at fault.
func badRequest(field, msg string) error {
	return &hub.Error{Code: hub.CodeInvalid, Field: field, Err: errors.New(msg)}
}
