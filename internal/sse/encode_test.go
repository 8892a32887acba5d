package sse

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestAppendEvent(t *testing.T) {
	tests := []struct {
		name    string
		ev      Event
		want    string
		wantErr error
	}{
		{"zero", Event{}, "data:\n\n", nil},
		{"data", Event{Data: "hi"}, "data: hi\n\n", nil},
		{"all fields", Event{Comment: "c", ID: "1", Type: "t", Retry: 100, Data: "x"},
			": c\nid: 1\nevent: t\nretry: 100\ndata: x\n\n", nil},
		{"explicit message type", Event{Type: "message", Data: "x"}, "event: message\ndata: x\n\n", nil},
		{"LF", Event{Data: "a\nb"}, "data: a\ndata: b\n\n", nil},
		{"CR", Event{Data: "a\rb"}, "data: a\ndata: b\n\n", nil},
		{"CRLF is one break", Event{Data: "a\r\nb"}, "data: a\ndata: b\n\n", nil},
		{"LF CR is two breaks", Event{Data: "a\n\rb"}, "data: a\ndata:\ndata: b\n\n", nil},
		{"CRLF LF", Event{Data: "a\r\n\nb"}, "data: a\ndata:\ndata: b\n\n", nil},
		{"trailing LF", Event{Data: "a\n"}, "data: a\ndata:\n\n", nil},
		{"only breaks", Event{Data: "\r\n\r"}, "data:\ndata:\ndata:\n\n", nil},
		{"leading space kept", Event{Data: " x", ID: " 7", Type: " t"},
			"id:  7\nevent:  t\ndata:  x\n\n", nil},
		{"colon in value", Event{Data: "a: b", ID: "a:b"}, "id: a:b\ndata: a: b\n\n", nil},
		{"unicode", Event{Data: "héllo, 世界 \uFEFF"}, "data: héllo, 世界 \uFEFF\n\n", nil},
		{"NUL in data", Event{Data: "a\x00b"}, "data: a\x00b\n\n", nil},
		{"comment lines", Event{Comment: "a\r\nb\rc\n"}, ": a\n: b\n: c\n:\ndata:\n\n", nil},
		{"comment with colon", Event{Comment: ":x"}, ": :x\ndata:\n\n", nil},
		{"retry zero omitted", Event{Retry: 0, Data: "x"}, "data: x\n\n", nil},
		{"negative retry", Event{Retry: -1}, "", ErrInvalidRetry},
		{"id LF", Event{ID: "a\nb"}, "", ErrInvalidID},
		{"id CR", Event{ID: "a\r"}, "", ErrInvalidID},
		{"id NUL", Event{ID: "a\x00"}, "", ErrInvalidID},
		{"id bad UTF-8", Event{ID: "\xff"}, "", ErrInvalidID},
		{"type LF", Event{Type: "\n"}, "", ErrInvalidType},
		{"type CR", Event{Type: "a\rb"}, "", ErrInvalidType},
		{"type NUL", Event{Type: "\x00"}, "", ErrInvalidType},
		{"type bad UTF-8", Event{Type: "a\xC3"}, "", ErrInvalidType},
		{"comment bad UTF-8", Event{Comment: "\xED\xA0\x80"}, "", ErrInvalidComment},
		{"data bad UTF-8", Event{Data: "ok\nnot \xF5"}, "", ErrInvalidData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte("prefix")
			got, err := AppendEvent(prefix, tt.ev)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("AppendEvent error = %v, want %v", err, tt.wantErr)
			}
			if !errors.Is(tt.ev.Validate(), tt.wantErr) {
				t.Errorf("Validate = %v, want %v", tt.ev.Validate(), tt.wantErr)
			}
			if string(got) != "prefix"+tt.want {
				t.Errorf("AppendEvent = %q, want %q", got, "prefix"+tt.want)
			}
			var buf bytes.Buffer
			err = Encode(&buf, tt.ev)
			if !errors.Is(err, tt.wantErr) || buf.String() != tt.want {
				t.Errorf("Encode = %q, %v; want %q, %v", buf.String(), err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestAppendComment(t *testing.T) {
	tests := []struct{ text, want string }{
		{"", ":\n\n"},
		{"ping", ": ping\n\n"},
		{" x", ":  x\n\n"},
		{"a\nb", ": a\n: b\n\n"},
		{"a\r\nb\rc", ": a\n: b\n: c\n\n"},
		{"\r\n", ":\n:\n\n"},
	}
	for _, tt := range tests {
		if got := AppendComment(nil, tt.text); string(got) != tt.want {
			t.Errorf("AppendComment(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestAppendRetry(t *testing.T) {
	tests := []struct {
		ms   int
		want string
	}{
		{3000, "retry: 3000\n\n"},
		{0, "retry: 0\n\n"},
		{-1, ""},
	}
	for _, tt := range tests {
		if got := AppendRetry([]byte("x"), tt.ms); string(got) != "x"+tt.want {
			t.Errorf("AppendRetry(%d) = %q, want %q", tt.ms, got, "x"+tt.want)
		}
	}
}

// errWriter fails every write.
type errWriter struct{}

var errWrite = errors.New("write failed")

func (errWriter) Write([]byte) (int, error) { return 0, errWrite }

func TestEncodeWriteError(t *testing.T) {
	err := Encode(errWriter{}, Event{Data: "x"})
	if !errors.Is(err, errWrite) || !strings.Contains(err.Error(), "sse:") {
		t.Fatalf("Encode error = %v, want wrapped %v", err, errWrite)
	}
}

func TestAppendEventAllocs(t *testing.T) {
	ev := Event{ID: "42", Type: "update", Retry: 1000, Comment: "a\nb",
		Data: "line one\r\nline two\rline three\n" + strings.Repeat("x", 300)}
	dst := make([]byte, 0, 1024)
	allocs := testing.AllocsPerRun(100, func() {
		var err error
		if dst, err = AppendEvent(dst[:0], ev); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("AppendEvent allocates %v times per run, want 0", allocs)
	}
	allocs = testing.AllocsPerRun(100, func() {
		dst = AppendComment(dst[:0], "heartbeat")
		dst = AppendRetry(dst, 5000)
	})
	if allocs != 0 {
		t.Errorf("AppendComment+AppendRetry allocate %v times per run, want 0", allocs)
	}
}
