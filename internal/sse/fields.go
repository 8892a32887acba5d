package sse

import (
	"bytes"
	"math"
)

// fields is the parser's interpretation state: the spec's buffers plus the
// comment and retry of the event being read.
type fields struct {
	data       []byte // the data buffer: each data line and an LF
	typ        []byte // the event type buffer
	id         []byte // the last event ID buffer
	lastID     []byte // the last event ID, committed at each dispatch
	lastIDStr  string // lastID as a string, kept to save allocations
	lastType   string // the last Type returned, reused to save allocations
	retry      int    // the stream's reconnection time
	evRetry    int    // the last retry value since the previous dispatch
	comment    []byte // comment lines since the previous dispatch
	hasComment bool   // a comment line was seen, perhaps an empty one
	// pendingReset: an event was dispatched, its state is cleared before
	// the next line is interpreted (so that dispatch's data stays valid).
	pendingReset bool
}

// field interprets one non-empty line.
func (f *fields) field(line []byte) {
	f.resetIfDispatched()
	if line[0] == ':' {
		f.addComment(trimSpace(line[1:]))
		return
	}
	name, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name, value = line[:i], trimSpace(line[i+1:])
	}
	switch string(name) {
	case "event":
		f.typ = append(f.typ[:0], value...)
	case "data":
		f.data = append(f.data, value...)
		f.data = append(f.data, '\n')
	case "id":
		if bytes.IndexByte(value, 0) < 0 {
			f.id = append(f.id[:0], value...)
		}
	case "retry":
		if n, ok := parseRetry(value); ok {
			f.retry, f.evRetry = n, n
		}
	}
}

// addComment records one comment line.
func (f *fields) addComment(text []byte) {
	if f.hasComment {
		f.comment = append(f.comment, '\n')
	}
	f.comment = append(f.comment, text...)
	f.hasComment = true
}

// dispatch handles a blank line: it commits the last event ID and, if any
// data was read, returns the data (without its last LF), valid until the
// next line is read; the event's other fields stay readable until then.
// Either way the next line starts a new event.
func (f *fields) dispatch() ([]byte, bool) {
	f.resetIfDispatched()
	f.lastID = append(f.lastID[:0], f.id...)
	f.pendingReset = true
	if len(f.data) == 0 {
		return nil, false
	}
	return f.data[:len(f.data)-1], true
}

// event builds the Event just dispatched with data.
func (f *fields) event(data []byte) Event {
	if string(f.typ) != f.lastType {
		f.lastType = string(f.typ)
	}
	return Event{
		ID:      f.lastIDString(),
		Type:    f.lastType,
		Data:    string(data),
		Retry:   f.evRetry,
		Comment: string(f.comment),
	}
}

// lastIDString returns the committed last event ID as a string.
func (f *fields) lastIDString() string {
	if string(f.lastID) != f.lastIDStr {
		f.lastIDStr = string(f.lastID)
	}
	return f.lastIDStr
}

// between reports whether no field of an event not yet dispatched was read.
func (f *fields) between() bool {
	return f.pendingReset || len(f.data) == 0 && len(f.typ) == 0 && !f.hasComment &&
		f.evRetry == 0 && bytes.Equal(f.id, f.lastID)
}

// resetIfDispatched starts a new event if the last one was dispatched.
func (f *fields) resetIfDispatched() {
	if f.pendingReset {
		f.pendingReset = false
		f.reset()
	}
}

// reset clears the state of one event; the last event ID and the
// reconnection time persist.
func (f *fields) reset() {
	f.data = f.data[:0]
	f.typ = f.typ[:0]
	f.comment = f.comment[:0]
	f.hasComment = false
	f.evRetry = 0
}

// trimSpace removes one leading space, if any.
func trimSpace(b []byte) []byte {
	if len(b) > 0 && b[0] == ' ' {
		return b[1:]
	}
	return b
}

// parseRetry parses a retry value: one or more ASCII digits, read in base
// ten and clamped to math.MaxInt.
func parseRetry(b []byte) (int, bool) {
	if len(b) == 0 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int(c - '0')
		if n > (math.MaxInt-d)/10 {
			n = math.MaxInt
		} else {
			n = n*10 + d
		}
	}
	return n, true
}
