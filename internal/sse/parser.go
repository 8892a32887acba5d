package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// DefaultMaxEventSize is the event size limit of a [Parser] whose
// MaxEventSize is zero: 1 MiB.
const DefaultMaxEventSize = 1 << 20

// ErrTooLarge is returned (wrapped) by [Parser.Next] when one event, or one
// line, exceeds the parser's MaxEventSize. The parser stops there: every
// later call returns the same error.
var ErrTooLarge = errors.New("sse: event too large")

// ErrNoInput is for a [Parser]'s reader that has no bytes yet although
// its stream goes on, such as one reading a non-blocking socket: its Read
// returns ErrNoInput (with or without bytes), and the parser's Next and
// NextData return it once they have used every byte read. Nothing is lost:
// the next call resumes in the middle of the line or event it stopped in.
var ErrNoInput = errors.New("sse: no input yet")

// readSize is the size of the parser's read buffer.
const readSize = 4096

// maxEmptyReads is how many reads in a row may return no bytes and no
// error before the parser gives up with [io.ErrNoProgress].
const maxEmptyReads = 100

// bom is the UTF-8 byte order mark, skipped once at the start of a stream.
const bom = "\xEF\xBB\xBF"

// Parser reads events from a stream following the WHATWG parsing rules:
//
//   - a UTF-8 byte order mark at the very start of the stream is skipped;
//   - lines end in CRLF, LF or CR, also when a CRLF is split across reads
//     (a CR ends its line at once; an LF right after it is then skipped);
//   - bytes that are not valid UTF-8 are decoded to U+FFFD, one per maximal
//     ill-formed subpart, as the Encoding standard's UTF-8 decoder does;
//   - a blank line dispatches the event, a line starting with ":" is a
//     comment, and other lines are fields (see [Parser.Next]);
//   - at the end of the stream an event without its blank line is dropped.
//
// Create a Parser with [NewParser]. A Parser is not safe for concurrent use.
type Parser struct {
	// MaxEventSize bounds the bytes of one event as it appears in the
	// stream (all its lines since the previous blank line, line endings not
	// counted), and so the memory the parser holds. Zero means
	// DefaultMaxEventSize. Set it before the first call to Next.
	MaxEventSize int

	r         io.Reader
	buf       []byte // read buffer; buf[start:end] is unread
	start     int
	end       int
	line      []byte // the start of a line that spans reads
	skipLF    bool   // the last line ended in CR: skip an LF that follows
	started   bool   // the first line (which may hold the BOM) was read
	readErr   error  // the error of the last read, once buf is drained
	err       error  // sticky error returned by Next
	eventSize int    // bytes of the current event's lines so far
	decoded   []byte // scratch space for decoding invalid UTF-8

	fields
}

// NewParser returns a parser that reads events from r.
func NewParser(r io.Reader) *Parser {
	return &Parser{r: r, buf: make([]byte, readSize)}
}

// Next returns the next dispatched event.
//
// Field lines are "name: value", the name before the first colon and the
// value after it without one leading space, or a bare "name" with an empty
// value. The field "event" sets the event type, "data" adds a line of data,
// "id" sets the last event ID unless the value contains NUL, "retry" sets
// the reconnection time if the value is ASCII digits only; other fields are
// ignored. A blank line dispatches: the last event ID is committed, and if
// any data line was seen an event is returned.
//
// In the returned event, ID is the last event ID at dispatch time (it
// persists across events until an id field changes it; a bare "id" or
// "id:" resets it to empty). Type is empty when no event field was given,
// meaning "message". Data is the data lines joined with LF. Retry is the
// value of the last valid retry field since the previous blank line (0 if
// none; "retry: 0" also gives 0 here, see [Parser.Retry]). Comment is the
// comment lines since the previous blank line joined with LF, each without
// its ":" and one leading space. Blank lines that dispatch no event (as
// after a heartbeat comment) discard the comments and retry before them.
//
// Next returns [io.EOF] at the end of the stream, [ErrTooLarge] if an event
// exceeds MaxEventSize, and other read errors wrapped.
func (p *Parser) Next() (Event, error) {
	data, err := p.advance()
	if err != nil {
		return Event{}, err
	}
	return p.event(data), nil
}

// NextData is Next for callers that need only the data of each event: it
// returns the next dispatched event's data without allocating. The bytes
// are valid until the next call; the last event ID and the reconnection
// time are kept as by Next.
func (p *Parser) NextData() ([]byte, error) {
	return p.advance()
}

// advance reads lines until an event with data is dispatched, and returns
// its data; the rest of the event stays in the parser's fields.
func (p *Parser) advance() ([]byte, error) {
	for {
		line, err := p.readLine()
		if err != nil {
			return nil, err
		}
		if len(line) == 0 {
			p.eventSize = 0
			if data, ok := p.dispatch(); ok {
				return data, nil
			}
			continue
		}
		p.field(line)
	}
}

// Idle reports whether the parser stands between two events: the stream
// has started, every byte read is used, and no line or event is partly
// read. A caller feeding the parser (see [ErrNoInput]) may then take the
// next events of the stream itself, as a fast path for a shape it knows,
// and come back to the parser at an event boundary; the parser does not see
// those events (its last event ID and reconnection time stay as they were).
func (p *Parser) Idle() bool {
	return p.err == nil && p.readErr == nil && p.started && p.start == p.end &&
		len(p.line) == 0 && !p.skipLF && p.between()
}

// LastEventID returns the stream's last event ID as of the last blank line:
// the value a client sends as Last-Event-ID when it reconnects. An id field
// of an event not yet dispatched does not count.
func (p *Parser) LastEventID() string {
	return p.lastIDString()
}

// Retry returns the reconnection time in milliseconds most recently set by
// the stream, 0 if never. A retry field takes effect as soon as it is read,
// even in an event that is never dispatched. Values too large for an int
// are clamped to the largest int.
func (p *Parser) Retry() int {
	return p.retry
}

// readLine returns the next line without its line ending, with a leading
// BOM removed from the first line and invalid UTF-8 decoded. The line is
// valid until the next call.
func (p *Parser) readLine() ([]byte, error) {
	line, err := p.rawLine()
	if err != nil {
		return nil, err
	}
	if !p.started {
		p.started = true
		if len(line) >= len(bom) && string(line[:len(bom)]) == bom {
			line = line[len(bom):]
		}
	}
	if !utf8.Valid(line) {
		p.decoded = appendDecoded(p.decoded[:0], line)
		line = p.decoded
	}
	return line, nil
}

// rawLine returns the next line's bytes without its line ending.
func (p *Parser) rawLine() ([]byte, error) {
	if p.err != nil {
		return nil, p.err
	}
	for {
		if p.skipLF && p.start < p.end {
			p.skipLF = false
			if p.buf[p.start] == '\n' {
				p.start++
			}
		}
		window := p.buf[p.start:p.end]
		if i := indexLineEnd(window); i >= 0 {
			p.skipLF = window[i] == '\r'
			p.start += i + 1
			line := window[:i]
			if len(p.line) > 0 {
				line = append(p.line, line...)
				p.line = line[:0]
			}
			if err := p.checkSize(len(line)); err != nil {
				return nil, err
			}
			p.eventSize += len(line)
			return line, nil
		}
		p.line = append(p.line, window...)
		p.start = p.end
		if err := p.checkSize(len(p.line)); err != nil {
			return nil, err
		}
		if err := p.fill(); err != nil {
			if err == ErrNoInput {
				return nil, err // p.line holds the line so far
			}
			p.line = p.line[:0]
			p.err = err
			return nil, err
		}
	}
}

// checkSize fails with ErrTooLarge, and stops the parser, if n more bytes
// would take the current event past MaxEventSize.
func (p *Parser) checkSize(n int) error {
	limit := p.MaxEventSize
	if limit <= 0 {
		limit = DefaultMaxEventSize
	}
	if p.eventSize+n > limit {
		p.err = fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
		return p.err
	}
	return nil
}

// fill reads more bytes into the empty buffer. It returns io.EOF at the end
// of the stream and other read errors wrapped, but only once the bytes read
// with them have been used.
func (p *Parser) fill() error {
	for range maxEmptyReads {
		if p.readErr != nil {
			if p.readErr == io.EOF {
				return io.EOF
			}
			return fmt.Errorf("sse: read: %w", p.readErr)
		}
		n, err := p.r.Read(p.buf)
		p.start, p.end, p.readErr = 0, n, err
		if errors.Is(err, ErrNoInput) {
			p.readErr = nil
			if n == 0 {
				return ErrNoInput
			}
		}
		if n > 0 {
			return nil
		}
	}
	return io.ErrNoProgress
}

// indexLineEnd returns the index of the first CR or LF in b, or -1.
func indexLineEnd(b []byte) int {
	i := bytes.IndexByte(b, '\n')
	head := b
	if i >= 0 {
		head = b[:i]
	}
	if j := bytes.IndexByte(head, '\r'); j >= 0 {
		return j
	}
	return i
}
