package loadtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/ssehub/ssehub/internal/sse"
)

// decoder turns a stream's response body into events as its bytes arrive,
// whatever pieces they come in: it strips the chunked framing of an
// HTTP/1.1 body in place and hands the rest to an sse.Parser, which keeps
// any partial line or event until the next bytes. Both ways of reading the
// streams (a goroutine per stream, or epoll) feed one.
type decoder struct {
	chunked bool
	state   chunkState
	head    []byte // the chunk head read so far
	left    int64  // data bytes left in the current chunk
	in      []byte // body bytes not yet taken by the parser
	parser  *sse.Parser
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

func newDecoder(chunked bool, maxEvent int) *decoder {
	d := &decoder{chunked: chunked}
	d.parser = sse.NewParser(d)
	d.parser.MaxEventSize = maxEvent
	return d
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
// calls event with the data of each event they complete. It returns io.EOF
// once a chunked body's last chunk is read, and an error for a malformed
// body or event.
func (d *decoder) feed(raw []byte, event func(data []byte)) error {
	body, end := raw, error(nil)
	if d.chunked {
		body, end = d.dechunk(raw)
	}
	d.in = body
	for {
		data, err := d.parser.NextData()
		if errors.Is(err, sse.ErrNoInput) {
			return end
		}
		if err != nil {
			return fmt.Errorf("events: %w", err)
		}
		event(data)
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
