package sse

import (
	"errors"
	"io"
	"math"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// parseAll reads every event from r. It returns the events, the parser and
// the error that ended the stream, nil for io.EOF.
func parseAll(r io.Reader, maxSize int) ([]Event, *Parser, error) {
	p := NewParser(r)
	p.MaxEventSize = maxSize
	var evs []Event
	for {
		ev, err := p.Next()
		if err == io.EOF {
			return evs, p, nil
		}
		if err != nil {
			return evs, p, err
		}
		evs = append(evs, ev)
	}
}

// crReader returns its input in reads that end right after each CR, so
// every CRLF in it is split across two reads.
type crReader struct{ s string }

func (r *crReader) Read(b []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	n := strings.IndexByte(r.s, '\r') + 1
	if n == 0 || n > len(b) {
		n = min(len(r.s), len(b))
	}
	n = copy(b, r.s[:n])
	r.s = r.s[n:]
	return n, nil
}

// readers returns the ways the tests feed a stream to the parser.
func readers(s string) map[string]io.Reader {
	return map[string]io.Reader{
		"whole":    strings.NewReader(s),
		"one byte": iotest.OneByteReader(strings.NewReader(s)),
		"half":     iotest.HalfReader(strings.NewReader(s)),
		"data+EOF": iotest.DataErrReader(strings.NewReader(s)),
		"split CR": &crReader{s},
	}
}

// specExample2 is the second example stream of the WHATWG section.
const specExample2 = ": test stream\n\ndata: first event\nid: 1\n\n" +
	"data:second event\nid\n\ndata:  third event\n"

var parserTests = []struct {
	name   string
	in     string
	want   []Event
	lastID string
	retry  int
}{
	// The examples of the WHATWG section.
	{"spec stock ticker", "data: YHOO\ndata: +2\ndata: 10\n\n", []Event{{Data: "YHOO\n+2\n10"}}, "", 0},
	{"spec ids and comment", specExample2 + "\n",
		[]Event{{ID: "1", Data: "first event"}, {Data: "second event"}, {Data: " third event"}}, "", 0},
	{"spec last block needs blank line", specExample2,
		[]Event{{ID: "1", Data: "first event"}, {Data: "second event"}}, "", 0},
	{"spec data without colon", "data\n\ndata\ndata\n\ndata:", []Event{{}, {Data: "\n"}}, "", 0},
	{"spec space after colon", "data:test\n\ndata: test\n\n", []Event{{Data: "test"}, {Data: "test"}}, "", 0},
	{"spec typed events", "event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\nevent: add\ndata: 113411\n\n",
		[]Event{{Type: "add", Data: "73857293"}, {Type: "remove", Data: "2153"}, {Type: "add", Data: "113411"}}, "", 0},
	// Byte order mark.
	{"BOM skipped", "\xEF\xBB\xBFdata: x\n\n", []Event{{Data: "x"}}, "", 0},
	{"BOM skipped only once", "\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\ndata: y\n\n", []Event{{Data: "y"}}, "", 0},
	{"BOM only at start", "data: x\n\n\xEF\xBB\xBFdata: y\n\n", []Event{{Data: "x"}}, "", 0},
	{"BOM in value kept", "data: \xEF\xBB\xBFy\n\n", []Event{{Data: "\uFEFFy"}}, "", 0},
	{"BOM alone on first line", "\xEF\xBB\xBF\ndata: x\n\n", []Event{{Data: "x"}}, "", 0},
	{"partial BOM", "\xEF\xBBdata: x\n\n", nil, "", 0},
	// Line endings.
	{"CRLF", "data: a\r\ndata: b\r\n\r\n", []Event{{Data: "a\nb"}}, "", 0},
	{"CR", "data: a\rdata: b\r\r", []Event{{Data: "a\nb"}}, "", 0},
	{"mixed endings", "data: a\r\ndata: b\rdata: c\n\r\n", []Event{{Data: "a\nb\nc"}}, "", 0},
	{"LF CR is two lines", "data: a\n\rdata: b\n\n", []Event{{Data: "a"}, {Data: "b"}}, "", 0},
	{"CR at end of stream", "data: a\n\r", []Event{{Data: "a"}}, "", 0},
	{"CRLF CRLF dispatches once", "data: a\r\n\r\n\r\n", []Event{{Data: "a"}}, "", 0},
	// Comments.
	{"comment", ": hello\ndata: x\n\n", []Event{{Comment: "hello", Data: "x"}}, "", 0},
	{"comment one space stripped", ":  two\n:x\n::y\ndata\n\n", []Event{{Comment: " two\nx\n:y"}}, "", 0},
	{"empty comment lines", ":\n:a\n:\ndata\n\n", []Event{{Comment: "\na\n"}}, "", 0},
	{"heartbeat comment discarded", ": ping\n\ndata: x\n\n", []Event{{Data: "x"}}, "", 0},
	{"comment only, no event", ":\n\n:\n\n", nil, "", 0},
	// Fields.
	{"no space after colon", "data:x\n\n", []Event{{Data: "x"}}, "", 0},
	{"two spaces", "data:  x\n\n", []Event{{Data: " x"}}, "", 0},
	{"tab not stripped", "data:\tx\n\n", []Event{{Data: "\tx"}}, "", 0},
	{"trailing space kept", "data: x \n\n", []Event{{Data: "x "}}, "", 0},
	{"colon in value", "data: a:b\nevent: c: d\n\n", []Event{{Type: "c: d", Data: "a:b"}}, "", 0},
	{"space before colon", "data : x\ndata\n\n", []Event{{}}, "", 0},
	{"names are case-sensitive", "DATA: x\nData: y\n\n", nil, "", 0},
	{"unknown fields ignored", "foo: bar\nfoo\ndata: x\n\n", []Event{{Data: "x"}}, "", 0},
	{"empty data line", "data:\n\n", []Event{{}}, "", 0},
	{"two empty data lines", "data:\ndata:\n\n", []Event{{Data: "\n"}}, "", 0},
	{"NUL in data", "data: a\x00b\n\n", []Event{{Data: "a\x00b"}}, "", 0},
	// Event type.
	{"type reset after dispatch", "event: add\ndata: 1\n\ndata: 2\n\n", []Event{{Type: "add", Data: "1"}, {Data: "2"}}, "", 0},
	{"last type wins", "event: a\nevent: b\ndata\n\n", []Event{{Type: "b"}}, "", 0},
	{"type reset without data", "event: x\n\ndata: y\n\n", []Event{{Data: "y"}}, "", 0},
	{"bare event resets type", "event: x\nevent\ndata: y\n\n", []Event{{Data: "y"}}, "", 0},
	// Last event ID.
	{"id persists", "id: 1\ndata: a\n\ndata: b\n\n", []Event{{ID: "1", Data: "a"}, {ID: "1", Data: "b"}}, "1", 0},
	{"empty id resets", "id: 1\ndata: a\n\nid:\ndata: b\n\n", []Event{{ID: "1", Data: "a"}, {Data: "b"}}, "", 0},
	{"id with NUL ignored", "id: 1\ndata: a\n\nid: 2\x00\ndata: b\n\n", []Event{{ID: "1", Data: "a"}, {ID: "1", Data: "b"}}, "1", 0},
	{"id set by block without data", "id: 7\n\ndata: x\n\n", []Event{{ID: "7", Data: "x"}}, "7", 0},
	{"id committed without data", "id: 7\n\n", nil, "7", 0},
	{"id not committed at EOF", "data: x\n\nid: 9\ndata: y\n", []Event{{Data: "x"}}, "", 0},
	{"id after data in block", "data: x\nid: 3\n\n", []Event{{ID: "3", Data: "x"}}, "3", 0},
	// Retry.
	{"retry", "retry: 1000\ndata: x\n\n", []Event{{Retry: 1000, Data: "x"}}, "", 1000},
	{"retry alone", "retry: 500\n\ndata: x\n\n", []Event{{Data: "x"}}, "", 500},
	{"retry leading zeros", "retry: 0042\ndata\n\n", []Event{{Retry: 42}}, "", 42},
	{"retry zero", "retry: 5\n\nretry: 0\ndata\n\n", []Event{{}}, "", 0},
	{"retry not digits", "retry: 10a\nretry: -1\nretry: 1.5\nretry: +1\ndata\n\n", []Event{{}}, "", 0},
	{"retry empty", "retry: 7\n\nretry:\nretry: \nretry\ndata\n\n", []Event{{}}, "", 7},
	{"retry extra space", "retry:  5\ndata\n\n", []Event{{}}, "", 0},
	{"retry non-ASCII digit", "retry: \u0663\ndata\n\n", []Event{{}}, "", 0},
	{"retry overflow clamps", "retry: 99999999999999999999999\ndata\n\n", []Event{{Retry: math.MaxInt}}, "", math.MaxInt},
	{"retry in undispatched event", "retry: 9\ndata: x\n", nil, "", 9},
	// UTF-8 decoding.
	{"invalid byte", "data: \xff\n\n", []Event{{Data: "\uFFFD"}}, "", 0},
	{"truncated sequence", "data: a\xE2\x82b\n\n", []Event{{Data: "a\uFFFDb"}}, "", 0},
	{"truncated before line end", "data: \xE2\x82\r\n\n", []Event{{Data: "\uFFFD"}}, "", 0},
	{"invalid in name", "\xffdata: x\ndat\xff: y\n\n", nil, "", 0},
	{"invalid in id", "id: \xC0\xAF\ndata\n\n", []Event{{ID: "\uFFFD\uFFFD"}}, "\uFFFD\uFFFD", 0},
	// End of stream.
	{"empty stream", "", nil, "", 0},
	{"no blank line", "data: x", nil, "", 0},
	{"no blank line after LF", "data: x\n", nil, "", 0},
}

func TestParser(t *testing.T) {
	for _, tt := range parserTests {
		t.Run(tt.name, func(t *testing.T) {
			for how, r := range readers(tt.in) {
				got, p, err := parseAll(r, 0)
				if err != nil {
					t.Fatalf("%s: error %v", how, err)
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("%s: events\n got %#v\nwant %#v", how, got, tt.want)
				}
				if p.LastEventID() != tt.lastID || p.Retry() != tt.retry {
					t.Errorf("%s: LastEventID, Retry = %q, %d; want %q, %d",
						how, p.LastEventID(), p.Retry(), tt.lastID, tt.retry)
				}
			}
		})
	}
}

func TestParserEOFRepeats(t *testing.T) {
	p := NewParser(strings.NewReader("data: x\n\ndata: y"))
	if ev, err := p.Next(); err != nil || ev.Data != "x" {
		t.Fatalf("Next = %#v, %v; want x", ev, err)
	}
	for range 3 {
		if _, err := p.Next(); err != io.EOF {
			t.Fatalf("Next error = %v, want io.EOF", err)
		}
	}
}

func TestParserTooLarge(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		max     int
		want    int // events before the error
		wantErr error
	}{
		{"fits exactly", "data:0123\n\n", 9, 1, nil},
		{"one line too long", "data:01234\n\n", 9, 0, ErrTooLarge},
		{"line without end", "data: x\n\n" + strings.Repeat("x", 100), 50, 1, ErrTooLarge},
		{"many small lines", strings.Repeat(":\n", 3) + strings.Repeat("data\n", 3), 11, 0, ErrTooLarge},
		{"limit is per event", strings.Repeat("data:0123\n\n", 100), 9, 100, nil},
		{"default limit", "data:" + strings.Repeat("x", DefaultMaxEventSize) + "\n\n", 0, 0, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for how, r := range readers(tt.in) {
				got, p, err := parseAll(r, tt.max)
				if !errors.Is(err, tt.wantErr) || len(got) != tt.want {
					t.Fatalf("%s: %d events, error %v; want %d, %v", how, len(got), err, tt.want, tt.wantErr)
				}
				if _, again := p.Next(); tt.wantErr != nil && !errors.Is(again, ErrTooLarge) {
					t.Errorf("%s: error not sticky: %v", how, again)
				}
			}
		})
	}
}

var errRead = errors.New("read failed")

func TestParserReadError(t *testing.T) {
	r := io.MultiReader(strings.NewReader("data: x\n\ndata: y\n"), iotest.ErrReader(errRead))
	got, _, err := parseAll(r, 0)
	if !errors.Is(err, errRead) || len(got) != 1 || got[0].Data != "x" {
		t.Fatalf("got %#v, %v; want one event then %v", got, err, errRead)
	}
}

// emptyReader returns no bytes and no error, forever.
type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, nil }

func TestParserNoProgress(t *testing.T) {
	if _, err := NewParser(emptyReader{}).Next(); !errors.Is(err, io.ErrNoProgress) {
		t.Fatalf("Next error = %v, want io.ErrNoProgress", err)
	}
}

// feeder is a reader of the bytes fed so far, answering ErrNoInput when it
// has none, as a non-blocking socket would.
type feeder struct{ in []byte }

func (f *feeder) Read(b []byte) (int, error) {
	if len(f.in) == 0 {
		return 0, ErrNoInput
	}
	n := copy(b, f.in)
	f.in = f.in[n:]
	return n, nil
}

// TestParserIdle feeds streams that stop at various places and checks
// whether the parser says it stands between two events.
func TestParserIdle(t *testing.T) {
	for _, tt := range []struct {
		in   string
		idle bool
	}{
		{"", false}, // not started: a BOM may come
		{"data: a\n\n", true},
		{"retry: 10\n\n", true},
		{": heartbeat\n\n", true},
		{"\n\n\n", true},
		{"data: a\n\ndata: b\n\n", true},
		{"data: a\n", false},
		{"data: a\n\ndata", false},
		{"data: a\n\nid: 7\n", false},
		{"data: a\n\nevent: x\n", false},
		{"data: a\n\n: comment\n", false},
		{"data: a\n\nretry: 5\n", false},
		{"data: a\r", false}, // an LF may follow
		{"data: a\r\n\r", false},
		{"data: a\r\n\r\n", true},
		{"id: 1\n\n", true},
	} {
		f := &feeder{in: []byte(tt.in)}
		p := NewParser(f)
		for {
			if _, err := p.NextData(); err != nil {
				if err != ErrNoInput {
					t.Fatalf("%q: %v", tt.in, err)
				}
				break
			}
		}
		if p.Idle() != tt.idle {
			t.Errorf("%q: Idle() = %v, want %v", tt.in, !tt.idle, tt.idle)
		}
	}
	p := NewParser(strings.NewReader("data: a\n\n"))
	for {
		if _, err := p.NextData(); err != nil {
			break
		}
	}
	if p.Idle() {
		t.Error("Idle() after the end of the stream")
	}
}
