package loadtest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// chunkedBody reads an HTTP/1.1 chunked body straight from the buffered
// connection the response head was read from. A stream's reader runs once
// per event per subscriber, so it skips net/http's body, its lock and its
// chunked reader: a Read returns the bytes of at most one chunk, takes at
// most one read from the connection, and never waits once it has bytes.
// The trailer after the last chunk is not read: the stream has ended.
type chunkedBody struct {
	r     *bufio.Reader
	left  int64 // data bytes left in the current chunk
	trail bool  // the CRLF after the current chunk's data is still to read
	err   error // sticky
}

// errChunk is returned (wrapped) for a malformed chunked body.
var errChunk = errors.New("malformed chunked body")

// Read reads data of the current chunk, first reading the next chunk's
// head when the current one is used up.
func (c *chunkedBody) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if c.left == 0 {
		if c.err = c.next(); c.err != nil {
			return 0, c.err
		}
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	c.err = err
	return n, err
}

// next reads the CRLF that ends the previous chunk's data, if any, and the
// head of the next chunk. The last chunk (size 0) ends the body with io.EOF.
func (c *chunkedBody) next() error {
	if c.trail {
		var crlf [2]byte
		if _, err := io.ReadFull(c.r, crlf[:]); err != nil {
			return unexpected(err)
		}
		if crlf != [2]byte{'\r', '\n'} {
			return fmt.Errorf("%w: no CRLF after a chunk's data", errChunk)
		}
		c.trail = false
	}
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return fmt.Errorf("%w: chunk head too long", errChunk)
		}
		return unexpected(err)
	}
	line = bytes.TrimRight(line, "\r\n")
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i] // chunk extensions
	}
	size, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 16, 64)
	if err != nil || size < 0 {
		return fmt.Errorf("%w: chunk size %q", errChunk, line)
	}
	if size == 0 {
		return io.EOF
	}
	c.left, c.trail = size, true
	return nil
}

// unexpected turns io.EOF in the middle of a body into io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
