package loadtest

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestChunkedBody checks the stream's chunked decoding against bodies whose
// bytes arrive whole and one at a time.
func TestChunkedBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, want string
		err              error // after want; nil means io.EOF
	}{
		{"chunks", "5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n", "hello world", nil},
		{"extension and upper-case size", "A;x=y\r\n0123456789\r\n0\r\n", "0123456789", nil},
		{"bare LF", "3\nabc\r\n0\n", "abc", nil},
		{"cut in the data", "5\r\nhel", "hel", io.ErrUnexpectedEOF},
		{"cut in a head", "5\r\nhello\r\n1", "hello", io.ErrUnexpectedEOF},
		{"cut before the last chunk", "5\r\nhello\r\n", "hello", io.ErrUnexpectedEOF},
		{"bad size", "zz\r\nhello\r\n", "", errChunk},
		{"no CRLF after the data", "2\r\nhello\r\n", "he", errChunk},
	}
	for _, tt := range tests {
		for _, split := range []bool{false, true} {
			var r io.Reader = strings.NewReader(tt.body)
			if split {
				r = iotest.OneByteReader(r)
			}
			got, err := io.ReadAll(&chunkedBody{r: bufio.NewReaderSize(r, 16)})
			want := tt.err
			if want == nil {
				want = io.EOF
			}
			if string(got) != tt.want || (err == nil && want != io.EOF) || (err != nil && !errors.Is(err, want)) {
				t.Errorf("%s (one byte at a time: %v): got %q, %v; want %q, %v", tt.name, split, got, err, tt.want, want)
			}
		}
	}
}
