package hub

import (
	"errors"
	"fmt"
)

// Sentinel errors returned by the hub.
var (
	// ErrClosed is returned once the hub has been closed.
	ErrClosed = errors.New("hub is closed")
	// ErrSlowConsumer ends a subscription whose queue overflowed; the client
	// can reconnect and resume with Last-Event-ID.
	ErrSlowConsumer = errors.New("subscriber too slow: queue overflowed")
	// ErrReplayTrimmed ends a subscription whose replay the history's
	// retention overtook: updates it had yet to read were dropped. It is
	// an ErrSlowConsumer: the client resumes, and learns from the
	// Last-Event-ID header ("earliest") that events were missed.
	ErrReplayTrimmed = fmt.Errorf("%w: history dropped updates its replay had yet to read", ErrSlowConsumer)
	// ErrRebased ends every subscription when the hub moves to another
	// history (Rebase), wrapping the reason: clients reconnect and resume
	// from the history as it now is.
	ErrRebased = errors.New("the history moved: resume from it")
	// ErrUnsubscribed ends a subscription closed by its owner.
	ErrUnsubscribed = errors.New("unsubscribed")
	// ErrReserved refuses an update mixing reserved and ordinary topics,
	// or one published to a reserved topic from outside the hub.
	ErrReserved = errors.New("topics starting with " + ReservedPrefix + " are reserved for the hub's own events")
)

// Code classifies an Error so the HTTP layer can map it to a status in one place.
type Code string

// Error codes.
const (
	CodeInvalid     Code = "invalid"     // bad input from the caller
	CodeUnavailable Code = "unavailable" // the hub or its storage cannot take it now
)

// Error is an error with a code and, for bad input, the field at fault.
type Error struct {
	Code  Code
	Field string
	Err   error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Err.Error()
	}
	return e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }
