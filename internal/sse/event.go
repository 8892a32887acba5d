package sse

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// Event is one server-sent event.
//
// The zero value is a valid event: a "message" event with empty data.
type Event struct {
	// ID is the "id" field. Empty means no id line is written. When parsed,
	// it is the stream's last event ID at dispatch time, which persists
	// from one event to the next until an id field changes it.
	ID string
	// Type is the "event" field. Empty means the default type, "message",
	// and no event line is written.
	Type string
	// Data is the payload. It may contain LF, CR or CRLF line breaks (each
	// becomes its own data line; a parser returns them all as LF) and may
	// be empty.
	Data string
	// Retry is the reconnection time in milliseconds. Zero means no retry
	// line is written.
	Retry int
	// Comment holds optional comment lines, written before the fields, each
	// line prefixed with ":". Line breaks in it separate comment lines.
	// Empty means no comment.
	Comment string
}

// Errors returned by [Event.Validate], [AppendEvent] and [Encode], wrapped
// with details; test for them with [errors.Is].
var (
	// ErrInvalidID reports an ID with a CR, LF or NUL, or invalid UTF-8.
	// A parser ignores an id field containing NUL, and a line break would
	// end the field early.
	ErrInvalidID = errors.New("sse: invalid event id")
	// ErrInvalidType reports a Type with a CR, LF or NUL, or invalid UTF-8.
	ErrInvalidType = errors.New("sse: invalid event type")
	// ErrInvalidComment reports a Comment that is not valid UTF-8, which a
	// client would decode with replacement characters.
	ErrInvalidComment = errors.New("sse: invalid comment")
	// ErrInvalidData reports Data that is not valid UTF-8, which a client
	// would decode with replacement characters.
	ErrInvalidData = errors.New("sse: invalid event data")
	// ErrInvalidRetry reports a negative Retry.
	ErrInvalidRetry = errors.New("sse: invalid retry")
)

// Validate reports whether e can be encoded so that a conforming parser
// reads back the same event. It rejects an ID or Type containing CR, LF or
// NUL, a negative Retry, and any text field that is not valid UTF-8 (the
// stream is UTF-8 and clients replace invalid bytes with U+FFFD). Line
// breaks in Data and Comment are fine.
func (e Event) Validate() error {
	if err := checkLine(e.ID, ErrInvalidID); err != nil {
		return err
	}
	if err := checkLine(e.Type, ErrInvalidType); err != nil {
		return err
	}
	if !utf8.ValidString(e.Data) {
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidData)
	}
	if !utf8.ValidString(e.Comment) {
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidComment)
	}
	if e.Retry < 0 {
		return fmt.Errorf("%w: %d is negative", ErrInvalidRetry, e.Retry)
	}
	return nil
}

// checkLine reports, wrapped in sentinel, why s cannot be a one-line field
// value.
func checkLine(s string, sentinel error) error {
	ascii := true
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\r' || c == '\n' || c == 0:
			return fmt.Errorf("%w: %q at byte %d of %q", sentinel, c, i, s)
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	if !ascii && !utf8.ValidString(s) {
		return fmt.Errorf("%w: not valid UTF-8", sentinel)
	}
	return nil
}
