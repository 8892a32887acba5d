package sse

import (
	"bytes"
	"errors"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// specParse is a literal, unoptimised reading of the WHATWG rules used as an
// oracle: decode the whole stream, cut it into lines, interpret each line.
func specParse(stream []byte) (evs []Event, lastID string, retry int) {
	text := string(appendDecoded(nil, bytes.TrimPrefix(stream, []byte(bom))))
	var data, typ, idBuf string
	var comments []string
	evRetry := 0
	for {
		i := strings.IndexAny(text, "\r\n")
		if i < 0 {
			return evs, lastID, retry // the rest is discarded
		}
		line := text[:i]
		if strings.HasPrefix(text[i:], "\r\n") {
			i++
		}
		text = text[i+1:]
		switch {
		case line == "":
			lastID = idBuf
			if data != "" {
				evs = append(evs, Event{ID: lastID, Type: typ, Data: strings.TrimSuffix(data, "\n"),
					Retry: evRetry, Comment: strings.Join(comments, "\n")})
			}
			data, typ, comments, evRetry = "", "", nil, 0
		case line[0] == ':':
			comments = append(comments, strings.TrimPrefix(line[1:], " "))
		default:
			name, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch name {
			case "event":
				typ = value
			case "data":
				data += value + "\n"
			case "id":
				if !strings.Contains(value, "\x00") {
					idBuf = value
				}
			case "retry":
				if value != "" && strings.Trim(value, "0123456789") == "" {
					n, err := strconv.Atoi(value)
					if err != nil {
						n = math.MaxInt
					}
					retry, evRetry = n, n
				}
			}
		}
	}
}

// normalize turns every CRLF, CR and LF line break in s into LF.
func normalize(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

func FuzzRoundTrip(f *testing.F) {
	f.Add("", "", "", 0, "")
	f.Add("1", "message", "hello", 1000, "a comment")
	f.Add(" id", " type", " data", 1, " c")
	f.Add("id:x", "a:b", "data: x\r\n\r\ndata:y\rz\n", 5, "::\r\n:")
	f.Add("\uFEFF", "\uFEFF", "\uFEFF\n\uFEFF", 0, "\uFEFF")
	f.Add("", "", "\r\n\r\n", 0, "\n\r")
	f.Add("", "", "\n", 0, "\r")
	f.Add("x", "", "\r\r\n\n", 2147483647, "\r\n")
	f.Add("a\x00", "b", "c", 0, "")
	f.Add("é", "ü", "\x00\xff", 0, "\xED\xA0\x80")
	f.Add("", "", "retry: 5\n\nid: 3\n\n", -1, "\n\n")
	f.Fuzz(func(t *testing.T, id, typ, data string, retry int, comment string) {
		ev := Event{ID: id, Type: typ, Data: data, Retry: retry, Comment: comment}
		if ev.Validate() != nil {
			return
		}
		b, err := AppendEvent(nil, ev)
		if err != nil {
			t.Fatalf("AppendEvent(%#v) after Validate passed: %v", ev, err)
		}
		var w bytes.Buffer
		if err := Encode(&w, ev); err != nil || !bytes.Equal(w.Bytes(), b) {
			t.Fatalf("Encode = %q, %v; AppendEvent = %q", w.Bytes(), err, b)
		}
		want := Event{ID: id, Type: typ, Data: normalize(data), Retry: max(retry, 0), Comment: normalize(comment)}
		for how, r := range map[string]*Parser{
			"whole":    NewParser(bytes.NewReader(b)),
			"one byte": NewParser(iotest.OneByteReader(bytes.NewReader(b))),
		} {
			got, err := r.Next()
			if err != nil || got != want {
				t.Fatalf("%s: parsing %q gave %#v, %v; want %#v", how, b, got, err, want)
			}
			if _, err := r.Next(); err == nil {
				t.Fatalf("%s: parsing %q gave more than one event", how, b)
			}
		}
	})
}

func FuzzParser(f *testing.F) {
	for _, tt := range parserTests {
		f.Add([]byte(tt.in))
	}
	f.Add([]byte("data: a\r"))
	f.Add([]byte("\r\n\r\n\r\r\n\n"))
	f.Add([]byte("event: \x00\ndata\n\n"))
	f.Fuzz(func(t *testing.T, stream []byte) {
		want, wantID, wantRetry := specParse(stream)
		whole, p, err := parseAll(bytes.NewReader(stream), 0)
		if err != nil || !slices.Equal(whole, want) ||
			p.LastEventID() != wantID || p.Retry() != wantRetry {
			t.Fatalf("Parser: %#v, %q, %d, %v\nspec: %#v, %q, %d",
				whole, p.LastEventID(), p.Retry(), err, want, wantID, wantRetry)
		}
		if len(whole) > len(stream)/2 {
			t.Fatalf("%d events from %d bytes", len(whole), len(stream))
		}
		oneByte, _, err := parseAll(iotest.OneByteReader(bytes.NewReader(stream)), 0)
		if err != nil || !slices.Equal(oneByte, whole) {
			t.Fatalf("one byte at a time: %#v, %v; whole: %#v", oneByte, err, whole)
		}
		checkNonBlocking(t, stream, whole, wantID, wantRetry)
		small, _, err := parseAll(bytes.NewReader(stream), 8)
		if (err != nil && !errors.Is(err, ErrTooLarge)) || !slices.Equal(small, whole[:len(small)]) {
			t.Fatalf("with a small limit: %#v, %v; whole: %#v", small, err, whole)
		}
		for _, ev := range whole {
			checkReencode(t, ev)
		}
	})
}

// checkReencode checks that a parsed event encodes and parses to itself.
// The only parsed events that cannot be encoded have a NUL in their type,
// which Validate refuses.
func checkReencode(t *testing.T, ev Event) {
	t.Helper()
	b, err := AppendEvent(nil, ev)
	if strings.Contains(ev.Type, "\x00") {
		if !errors.Is(err, ErrInvalidType) {
			t.Fatalf("AppendEvent(%#v) error = %v, want ErrInvalidType", ev, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("AppendEvent(%#v): %v", ev, err)
	}
	got, _, err := parseAll(bytes.NewReader(b), 0)
	if err != nil || len(got) != 1 || got[0] != ev {
		t.Fatalf("re-parsing %q gave %#v, %v; want %#v", b, got, err, ev)
	}
}

// checkNonBlocking parses stream from a source that hands it out in
// fragments of 1 to 7 bytes (sizes taken from the stream itself), answering
// ErrNoInput after each, alternately with Next and NextData: the events, the
// last event ID and the retry must be those of the whole stream.
func checkNonBlocking(t *testing.T, stream []byte, whole []Event, wantID string, wantRetry int) {
	t.Helper()
	src := &trickle{rest: stream}
	p := NewParser(src)
	var datas []string
	for i := 0; ; i++ {
		var data string
		var err error
		if i%2 == 0 {
			var ev Event
			ev, err = p.Next()
			data = ev.Data
		} else {
			var b []byte
			b, err = p.NextData()
			data = string(b)
		}
		switch {
		case errors.Is(err, ErrNoInput):
			src.more = true
			continue
		case err == io.EOF:
		case err != nil:
			t.Fatalf("non-blocking source: %v", err)
		default:
			datas = append(datas, data)
			continue
		}
		break
	}
	var want []string
	for _, ev := range whole {
		want = append(want, ev.Data)
	}
	if !slices.Equal(datas, want) || p.LastEventID() != wantID || p.Retry() != wantRetry {
		t.Fatalf("non-blocking source: data %q, id %q, retry %d; want %q, %q, %d",
			datas, p.LastEventID(), p.Retry(), want, wantID, wantRetry)
	}
}

// trickle is a non-blocking source: each Read after the parser saw
// ErrNoInput returns one fragment, with ErrNoInput half of the time; then
// it has nothing (ErrNoInput) until more is set again.
type trickle struct {
	rest []byte
	more bool
	n    int
}

func (r *trickle) Read(b []byte) (int, error) {
	if len(r.rest) == 0 {
		return 0, io.EOF
	}
	if !r.more && r.n > 0 {
		return 0, ErrNoInput
	}
	r.more = false
	r.n++
	size := min(len(b), len(r.rest), 1+int(r.rest[0])%7)
	n := copy(b, r.rest[:size])
	r.rest = r.rest[n:]
	if r.n%2 == 0 {
		return n, ErrNoInput
	}
	return n, nil
}
