package stream

// The body of a request: by Content-Length, or chunked.

// endHead frames the body at the head's blank line as net/http does:
// chunked with one Transfer-Encoding "chunked" (ignored in HTTP/1.0),
// else Content-Length bytes, else none. A head net/http refuses (another
// Transfer-Encoding, a bad Content-Length) is the connection's last.
func (f *framing) endHead() {
	switch {
	case f.trailer:
		f.endRequest()
	case f.te > 0 && !f.v10 && (f.te > 1 || f.teBad):
		f.state = stStop
	case f.te > 0 && !f.v10:
		f.state, f.digits, f.remain = stChunkSize, 0, 0
	case f.cl > 0 && f.clBad:
		f.state = stStop
	case f.cl > 0 && f.clN > 0:
		f.state, f.remain = stBody, f.clN
	default:
		f.endRequest()
	}
}

// endRequest ends a request, body and trailers included. After a head with
// both framing headers there is no next one.
func (f *framing) endRequest() {
	if f.dual {
		f.state = stStop
		return
	}
	f.state, f.post, f.skipped = stRequest, f.isPost, 0
}

// chunkLine scans a byte of a chunk-size line or of the CRLF after chunk
// data, as net/http's chunked reader accepts them: 1 to 16 hex digits, then
// blanks or an extension (";" and anything but CR), then CRLF.
func (f *framing) chunkLine(c byte) {
	switch f.state {
	case stChunkSize:
		switch d := unhex(c); {
		case d < 16 && f.digits < maxHexSize:
			f.remain = f.remain<<4 | uint64(d)
			f.digits++
		case f.digits == 0 || d < 16:
			f.state = stStop
		case c == ';':
			f.state = stChunkExt
		case c == ' ' || c == '\t':
			f.state = stChunkBlank
		case c == '\r':
			f.state = stChunkLF
		default:
			f.state = stStop
		}
	case stChunkBlank:
		switch c {
		case ' ', '\t':
		case '\r':
			f.state = stChunkLF
		default:
			f.state = stStop
		}
	case stChunkExt:
		switch c {
		case '\r':
			f.state = stChunkLF
		case '\n':
			f.state = stStop
		}
	case stChunkLF:
		switch {
		case c != '\n':
			f.state = stStop
		case f.remain == 0: // the last chunk: trailers follow
			f.state, f.trailer, f.cur = stLineStart, true, hNone
		default:
			f.state = stChunkData
		}
	case stChunkCR:
		f.state = stChunkEnd
		if c != '\r' {
			f.state = stStop
		}
	case stChunkEnd:
		f.state, f.digits, f.remain = stChunkSize, 0, 0
		if c != '\n' {
			f.state = stStop
		}
	}
}

// unhex returns the value of hex digit c, or 16 when it is none.
func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10
	}
	return 16
}
