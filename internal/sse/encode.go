package sse

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// AppendEvent appends the encoding of e to dst and returns the extended
// buffer. The encoding is, in order: one ":" line per comment line, an "id"
// line if ID is set, an "event" line if Type is set, a "retry" line if Retry
// is positive, one "data" line per line of Data (at least one), and the
// blank line that dispatches the event. Every line ends in LF.
//
// A value is written after ": " ("data: x"), or as a bare "data:" when it is
// empty, so that the single space a parser strips is always ours and leading
// spaces in the value survive.
//
// If e is not valid (see [Event.Validate]) AppendEvent returns dst unchanged
// and the error. It allocates nothing beyond growing dst.
func AppendEvent(dst []byte, e Event) ([]byte, error) {
	if err := e.Validate(); err != nil {
		return dst, err
	}
	if e.Comment != "" {
		dst = appendLines(dst, "", e.Comment)
	}
	if e.ID != "" {
		dst = appendField(dst, "id", e.ID)
	}
	if e.Type != "" {
		dst = appendField(dst, "event", e.Type)
	}
	if e.Retry > 0 {
		dst = append(dst, "retry: "...)
		dst = strconv.AppendInt(dst, int64(e.Retry), 10)
		dst = append(dst, '\n')
	}
	dst = appendLines(dst, "data", e.Data)
	return append(dst, '\n'), nil
}

// Encode writes the encoding of e (see [AppendEvent]) to w in one Write.
// It allocates a buffer per call; hot paths that encode once and send the
// bytes to many clients should use AppendEvent.
func Encode(w io.Writer, e Event) error {
	hint := len(e.ID) + len(e.Type) + len(e.Data) + len(e.Comment) + 64
	b, err := AppendEvent(make([]byte, 0, hint), e)
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("sse: write event: %w", err)
	}
	return nil
}

// AppendComment appends a comment block, such as a heartbeat, to dst: one
// ":" line per line of text, then a blank line. Empty text gives ":\n\n".
// Clients ignore comments, but the blank line ends any event the stream has
// begun, so write comments only between events. Text should be valid UTF-8.
func AppendComment(dst []byte, text string) []byte {
	dst = appendLines(dst, "", text)
	return append(dst, '\n')
}

// AppendRetry appends a block that sets the client's reconnection time to
// ms milliseconds: "retry: ms\n\n". A negative ms appends nothing, since a
// parser would ignore it.
func AppendRetry(dst []byte, ms int) []byte {
	if ms < 0 {
		return dst
	}
	dst = append(dst, "retry: "...)
	dst = strconv.AppendInt(dst, int64(ms), 10)
	return append(dst, "\n\n"...)
}

// appendField appends the line "name: value\n"; value must hold no line
// break.
func appendField(dst []byte, name, value string) []byte {
	dst = append(dst, name...)
	dst = append(dst, ": "...)
	dst = append(dst, value...)
	return append(dst, '\n')
}

// appendLines appends one line "name: line\n" (or "name:\n" for an empty
// line) per line of s, which is split at CRLF, LF and CR. An empty s gives
// one empty line. With an empty name the lines are comments.
func appendLines(dst []byte, name, s string) []byte {
	for {
		i := lineBreak(s)
		line := s
		if i >= 0 {
			line = s[:i]
		}
		dst = append(dst, name...)
		dst = append(dst, ':')
		if line != "" {
			dst = append(dst, ' ')
			dst = append(dst, line...)
		}
		dst = append(dst, '\n')
		if i < 0 {
			return dst
		}
		if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
			i++
		}
		s = s[i+1:]
	}
}

// lineBreak returns the index of the first CR or LF in s, or -1.
func lineBreak(s string) int {
	i := strings.IndexByte(s, '\n')
	head := s
	if i >= 0 {
		head = s[:i]
	}
	if j := strings.IndexByte(head, '\r'); j >= 0 {
		return j
	}
	return i
}
