package httpio

import (
	"errors"
	"net/http"

	"github.com/ssehub/ssehub/internal/auth"
)

// MetadataPath is where a hub at /.well-known/mercure serves its OAuth 2.0
// protected resource metadata, as RFC 9728 derives it from the hub's URL.
const MetadataPath = "/.well-known/oauth-protected-resource/.well-known/mercure"

// bearerError is an error with the URL of the protected resource metadata
// its challenge points to.
type bearerError struct {
	err      error
	metadata string
}

func (e *bearerError) Error() string { return e.err.Error() }
func (e *bearerError) Unwrap() error { return e.err }

// Bearer wraps err with the URL of the protected resource metadata of
// the hub r reached (its origin and MetadataPath), which the challenge
// of a 401 or 403 names (RFC 9728 section 5.1); nil stays nil.
func Bearer(r *http.Request, err error) error {
	var be *bearerError
	if err == nil || errors.As(err, &be) {
		return err
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return &bearerError{err: err, metadata: scheme + "://" + r.Host + MetadataPath}
}

// SetChallenge sets the WWW-Authenticate of an answer of status refusing
// a token (RFC 6750 section 3): invalid_token when it is refused (401),
// insufficient_scope when it does not grant the request (403),
// invalid_request when it was presented the wrong way (400), and no error
// code on another 401 (no token). Other answers get none. The challenge
// names the protected resource metadata when err carries it (see Bearer).
func SetChallenge(h http.Header, status int, err error) {
	v := `Bearer realm="ssehub"`
	switch {
	case status == http.StatusUnauthorized && errors.Is(err, auth.ErrInvalidToken):
		v += `, error="invalid_token"`
	case status == http.StatusUnauthorized:
	case status == http.StatusForbidden && errors.Is(err, auth.ErrForbidden):
		v += `, error="insufficient_scope"`
	case status == http.StatusBadRequest && errors.Is(err, auth.ErrInvalidRequest):
		v += `, error="invalid_request"`
	default:
		return
	}
	var be *bearerError
	if errors.As(err, &be) {
		v += `, resource_metadata="` + be.metadata + `"`
	}
	h.Set("WWW-Authenticate", v)
}
