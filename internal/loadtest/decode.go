package loadtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/ssehub/ssehub/internal/sse"
)

// decoder turns a stream's response body into events as its bytes arrive,
// whatever pieces they come in: it strips the chunked framing of an
// HTTP/1.1 body in place and hands the rest to an sse.Parser, which keeps
// any partial line or event until the next bytes. Both ways of reading the
// streams (a goroutine per stream, or epoll) feed one.
//
// Between events it takes the complete events of the bytes itself when they
// have the plain shape hubs send (LF line endings, valid UTF-8), reading
// their data in place: the same data as the parser gives, at a fraction of
// its cost (the tool shares the machine with the hub it measures, so its
// own CPU time shows in the latencies it measures). Anything else, and what
// follows an event cut by the end of the bytes, goes through the parser.
//
// The fields the plain path reads come first and the parser is only
// touched when bytes go through it: with a thousand streams, each read
// finds the stream's state out of the CPU's cache, and every line of it
// costs a memory access.
type decoder struct {
	chunked  bool
	state    chunkState
	slowOnly bool // never take events itself (for tests)
	// idle is whether the parser holds nothing: as of its last use it
	// stood at an event boundary (sse.Parser.Idle).
	idle     bool
	left     int64  // data bytes left in the current chunk
	maxEvent int    // the parser's MaxEventSize, or its default
	head     []byte // the chunk head read so far
	in       []byte // body bytes not yet taken by the parser
	parser   *sse.Parser
	joined   []byte // the data of an event of several data lines
	id       []byte // the id of the event the parser dispatched last
}

// chunkState is where a chunked body's decoding stands.
type chunkState uint8

const (
	inHead chunkState = iota // reading a chunk's size line
	inData                   // reading a chunk's data
	inCR                     // expecting the CR after a chunk's data
	inLF                     // expecting the LF after it
	atEnd                    // the last chunk was read
)

// errChunk is returned (wrapped) for a malformed chunked body.
var errChunk = errors.New("malformed chunked body")

// maxChunkHead bounds a chunk's size line (extensions included).
const maxChunkHead = 256

// init readies d, the decoder of a body that is chunked or not, whose
// events are at most maxEvent bytes (0: sse.DefaultMaxEventSize).
func (d *decoder) init(chunked bool, maxEvent int) {
	d.chunked = chunked
	d.parser = sse.NewParser(d)
	d.parser.MaxEventSize = maxEvent
	d.maxEvent = maxEvent
	if maxEvent <= 0 {
		d.maxEvent = sse.DefaultMaxEventSize
	}
}

// Read gives the parser the body bytes fed so far.
func (d *decoder) Read(p []byte) (int, error) {
	if len(d.in) == 0 {
		return 0, sse.ErrNoInput
	}
	n := copy(p, d.in)
	d.in = d.in[n:]
	return n, nil
}

// feed decodes raw, the next bytes of the body (overwriting them), and
// calls event with the data and the id of each event they complete (the id
// as of its dispatch: its own id field or, for an event without one through
// the parser, the stream's last). It returns io.EOF once a chunked body's
// last chunk is read, and an error for a malformed body or event.
func (d *decoder) feed(raw []byte, event func(data, id []byte)) error {
	body, end := raw, error(nil)
	if d.chunked {
		body, end = d.dechunk(raw)
	}
	if !d.slowOnly && d.idle {
		if body = body[d.plainEvents(body, event):]; len(body) == 0 {
			return end // the parser still holds nothing
		}
	}
	d.in = body
	for {
		data, err := d.parser.NextData()
		if errors.Is(err, sse.ErrNoInput) {
			d.idle = d.parser.Idle()
			return end
		}
		if err != nil {
			return fmt.Errorf("events: %w", err)
		}
		d.id = append(d.id[:0], d.parser.LastEventID()...)
		event(data, d.id)
	}
}

// closed tells the decoder that the connection ended: the error to report.
func (d *decoder) closed() error {
	if d.chunked && d.state != atEnd {
		return io.ErrUnexpectedEOF
	}
	return io.EOF
}

// dechunk removes the chunk framing from raw, moving the data bytes to its
// front, and returns them; io.EOF once the last chunk is read.
func (d *decoder) dechunk(raw []byte) ([]byte, error) {
	out := 0
	for i := 0; i < len(raw); {
		switch d.state {
		case inHead:
			j := bytes.IndexByte(raw[i:], '\n')
			stop := len(raw)
			if j >= 0 {
				stop = i + j
			}
			d.head = append(d.head, raw[i:stop]...)
			if len(d.head) > maxChunkHead {
				return raw[:out], fmt.Errorf("%w: chunk head too long", errChunk)
			}
			if j < 0 {
				return raw[:out], nil // the head goes on in the next bytes
			}
			i = stop + 1
			if err := d.startChunk(); err != nil {
				return raw[:out], err
			}
			if d.state == atEnd {
				return raw[:out], io.EOF
			}
		case inData:
			n := copy(raw[out:], raw[i:i+int(min(d.left, int64(len(raw)-i)))])
			out, i, d.left = out+n, i+n, d.left-int64(n)
			if d.left == 0 {
				d.state = inCR
			}
		case inCR, inLF:
			want := byte('\r')
			if d.state == inLF {
				want = '\n'
			}
			if raw[i] != want {
				return raw[:out], fmt.Errorf("%w: no CRLF after a chunk's data", errChunk)
			}
			i++
			if d.state == inCR {
				d.state = inLF
			} else {
				d.state = inHead
			}
		case atEnd:
			return raw[:out], io.EOF
		}
	}
	return raw[:out], nil
}

// startChunk parses the chunk head read (without its LF).
func (d *decoder) startChunk() error {
	line := bytes.TrimSuffix(d.head, []byte("\r"))
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i] // chunk extensions
	}
	size, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 16, 64)
	d.head = d.head[:0]
	if err != nil || size < 0 {
		return fmt.Errorf("%w: chunk size %q", errChunk, line)
	}
	if size == 0 {
		d.state = atEnd
		return nil
	}
	d.left, d.state = size, inData
	return nil
}

// plainEvents calls event with the data of each complete event at the
// start of b that has the plain shape, and returns the bytes it used: up
// to the first event that does not have it, or is not complete in b.
func (d *decoder) plainEvents(b []byte, event func(data, id []byte)) int {
	used := 0
	for used < len(b) {
		end := bytes.Index(b[used:], []byte("\n\n"))
		if end < 0 {
			break
		}
		// Each line with its LF; only the first can be blank (it ends an
		// event without data, so dispatches nothing).
		lines := b[used : used+end+1]
		data, id, ok, plain := d.plainData(lines)
		if !plain {
			break
		}
		used += end + 2
		if ok {
			event(data, id)
		}
	}
	return used
}

// plainData returns the data of the event made of lines (each ending in
// LF), as the parser would, its id field (nil when it has none) and
// whether it has any data; plain is false when the lines are not of the
// plain shape (a CR, invalid UTF-8, an id with a NUL, or more than the
// parser's size limit), which only the parser may read.
func (d *decoder) plainData(lines []byte) (data, id []byte, ok, plain bool) {
	if len(lines) > d.maxEvent || bytes.IndexByte(lines, '\r') >= 0 || !utf8.Valid(lines) {
		return nil, nil, false, false
	}
	n := 0 // data lines
	for len(lines) > 0 {
		i := bytes.IndexByte(lines, '\n')
		line := lines[:i]
		lines = lines[i+1:]
		name, value, _ := bytes.Cut(line, []byte(":"))
		value, _ = bytes.CutPrefix(value, []byte(" "))
		if string(name) == "id" {
			if bytes.IndexByte(value, 0) >= 0 {
				return nil, nil, false, false // the parser ignores such an id
			}
			id = value
		}
		if string(name) != "data" {
			continue // a comment (no name) or another field
		}
		switch n++; n {
		case 1: // in place
			data = value
		case 2:
			d.joined = append(append(append(d.joined[:0], data...), '\n'), value...)
			data = d.joined
		default:
			d.joined = append(append(d.joined, '\n'), value...)
			data = d.joined
		}
	}
	return data, id, n > 0, true
}
