package loadtest

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/ssehub/ssehub/internal/sse"
)

// TestDechunk checks the chunked decoding against bodies whose bytes
// arrive whole and one at a time.
func TestDechunk(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, want string
		err              error // once the body is fed; io.ErrUnexpectedEOF: cut short
	}{
		{"chunks", "5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n", "hello world", io.EOF},
		{"extension and upper-case size", "A;x=y\r\n0123456789\r\n0\r\n", "0123456789", io.EOF},
		{"bare LF", "3\nabc\r\n0\n", "abc", io.EOF},
		{"cut in the data", "5\r\nhel", "hel", io.ErrUnexpectedEOF},
		{"cut in a head", "5\r\nhello\r\n1", "hello", io.ErrUnexpectedEOF},
		{"cut before the last chunk", "5\r\nhello\r\n", "hello", io.ErrUnexpectedEOF},
		{"bad size", "zz\r\nhello\r\n", "", errChunk},
		{"no CRLF after the data", "2\r\nhello\r\n", "he", errChunk},
		{"head too long", strings.Repeat("0", 300) + "1\r\n", "", errChunk},
	}
	for _, tt := range tests {
		for _, piece := range []int{len(tt.body), 1} {
			d := newDecoder(true, 0)
			var got []byte
			var err error
			for rest := []byte(tt.body); len(rest) > 0 && err == nil; {
				n := min(piece, len(rest))
				var out []byte
				out, err = d.dechunk(slices.Clone(rest[:n]))
				got, rest = append(got, out...), rest[n:]
			}
			if err == nil {
				err = d.closed()
			}
			if string(got) != tt.want || !errors.Is(err, tt.err) {
				t.Errorf("%s (pieces of %d): got %q, %v; want %q, %v", tt.name, piece, got, err, tt.want, tt.err)
			}
		}
	}
}

// TestDecoderEvents encodes events, frames them in chunks of varied sizes
// and feeds the body in pieces of every size from 1 to 40 bytes: each time
// every event's data and id come out once, in order, and the last chunk
// ends the stream.
func TestDecoderEvents(t *testing.T) {
	t.Parallel()
	var stream []byte
	var want []string
	stream = sse.AppendRetry(stream, 1000)
	for i := range 30 {
		ev := sse.Event{ID: fmt.Sprint(i), Data: fmt.Sprintf("event %d\nline two", i)}
		if i%7 == 0 {
			ev.Comment = "a comment"
		}
		var err error
		if stream, err = sse.AppendEvent(stream, ev); err != nil {
			t.Fatal(err)
		}
		want = append(want, ev.ID+"|"+ev.Data)
	}
	var body []byte
	for i, size := 0, 1; i < len(stream); i, size = i+size, size%23+1 {
		body = appendChunk(body, stream[i:min(i+size, len(stream))])
	}
	body = append(body, "0\r\n\r\n"...)
	for piece := 1; piece <= 40; piece++ {
		d := newDecoder(true, 0)
		var got []string
		var err error
		for rest := body; len(rest) > 0 && err == nil; rest = rest[min(piece, len(rest)):] {
			err = d.feed(slices.Clone(rest[:min(piece, len(rest))]), func(data, id []byte) { got = append(got, string(id)+"|"+string(data)) })
		}
		if err != io.EOF || !slices.Equal(got, want) {
			t.Fatalf("pieces of %d: %d events, %v; want %d, io.EOF", piece, len(got), err, len(want))
		}
	}
}

// TestDecoderPlainEvents feeds events of every shape, after the stream's
// opening, to a decoder and to one that leaves every event to the parser:
// both give the same data, and the first reads the plain events itself
// (its parser never sees their ids) up to the first that is not plain.
func TestDecoderPlainEvents(t *testing.T) {
	t.Parallel()
	const plain = "data:x\ndata\n: c\nid: 2\nevent: e\ndata:  y\nretry: 9\n\n\n\n" +
		"data: a\ndata: b\ndata: c\n\nfield\n\n: only a comment\n\ndata\n\n"
	for _, tt := range []struct {
		name, rest string
		lastID     string // the parser's, after the rest
	}{
		{"plain only", "", ""},
		{"then a CR", "id: 3\r\ndata: cr\r\n\r\ndata: after\n\n", "3"},
		{"then invalid UTF-8", "id: 4\ndata: \xff\n\n", "4"},
		{"then too large", "id: 5\ndata: " + strings.Repeat("z", 300) + "\n\n", ""},
		{"then cut", "id: 6\ndata: cut", ""},
	} {
		var results [2][]string
		var errs [2]error
		for i, slowOnly := range []bool{false, true} {
			d := newDecoder(false, 256)
			d.slowOnly = slowOnly
			collect := func(b, _ []byte) { results[i] = append(results[i], string(b)) }
			if err := d.feed([]byte("retry: 5\n\n"), collect); err != nil {
				t.Fatal(err)
			}
			errs[i] = d.feed([]byte(plain+tt.rest), collect)
			if !slowOnly && d.parser.LastEventID() != tt.lastID {
				t.Errorf("%s: the parser's last event id is %q, want %q: it read events the decoder should have", tt.name, d.parser.LastEventID(), tt.lastID)
			}
		}
		if !slices.Equal(results[0], results[1]) || endKind(errs[0]) != endKind(errs[1]) {
			t.Errorf("%s: %q, %v; by the parser alone: %q, %v", tt.name, results[0], errs[0], results[1], errs[1])
		}
	}
}

// appendChunk appends p as one chunk of a chunked body.
func appendChunk(dst, p []byte) []byte {
	dst = fmt.Appendf(dst, "%x\r\n", len(p))
	return append(append(dst, p...), "\r\n"...)
}

// FuzzDecoder feeds arbitrary bodies whole and in pieces of various sizes,
// and whole to a decoder that leaves every event to the parser: the decoder
// never panics, and every way gives the same events and the same kind of
// end, so the decoder's own reading of plain events is the parser's.
func FuzzDecoder(f *testing.F) {
	f.Add([]byte("5\r\nhello\r\n0\r\n\r\n"), uint8(2))
	f.Add(appendChunk(appendChunk(nil, []byte("data: a\n\nid: 1\ndata")), []byte(": b\r\n\r\n")), uint8(0))
	f.Add([]byte("3;ext\r\n:\r\n\r\nzz\r\n"), uint8(5))
	f.Add(appendChunk(appendChunk(nil, []byte("retry: 5\n\n")), []byte("data:x\ndata\n: c\nid: 2\ndata:  y\n\n\n\ndata: \xff\n\ndata: z\n\ndata: cut")), uint8(12))
	f.Fuzz(func(t *testing.T, body []byte, piece uint8) {
		slow, slerr := decodeAll(body, len(body)+1, true)
		// Whole, the first bytes start the stream and the parser reads them
		// all; in pieces (of 1 to 256 bytes), the decoder reads the plain
		// events of every piece that starts between events.
		for _, n := range []int{len(body) + 1, int(piece%16) + 1, int(piece) + 1} {
			got, err := decodeAll(body, n, false)
			if !slices.Equal(got, slow) || endKind(err) != endKind(slerr) {
				t.Fatalf("in pieces of %d: %q, %v; by the parser alone: %q, %v", n, got, err, slow, slerr)
			}
		}
	})
}

// decodeAll feeds body to a decoder in pieces of the given size and
// returns the events' data and how the body ended; slowOnly leaves every
// event to the parser.
func decodeAll(body []byte, piece int, slowOnly bool) ([]string, error) {
	d := newDecoder(true, 256)
	d.slowOnly = slowOnly
	var got []string
	for rest := body; len(rest) > 0; rest = rest[min(piece, len(rest)):] {
		if err := d.feed(slices.Clone(rest[:min(piece, len(rest))]), func(b, _ []byte) { got = append(got, string(b)) }); err != nil {
			return got, err
		}
	}
	return got, d.closed()
}

// endKind names how a body ended, for comparing errors of the same kind.
func endKind(err error) string {
	for _, kind := range []error{io.EOF, io.ErrUnexpectedEOF, errChunk, sse.ErrTooLarge} {
		if errors.Is(err, kind) {
			return kind.Error()
		}
	}
	return fmt.Sprint(err)
}

// newDecoder returns a decoder ready for a body (see decoder.init).
func newDecoder(chunked bool, maxEvent int) *decoder {
	d := new(decoder)
	d.init(chunked, maxEvent)
	return d
}
