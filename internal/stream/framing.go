package stream

import "bytes"

// Request framing on plain connections (RFC 9112 §6.3): a request whose
// head has both Content-Length and Transfer-Encoding may be framed one way
// by a proxy in front and the other way by net/http, which reads it as
// chunked and then serves the bytes after the chunked body as another
// request: one the proxy never saw. net/http drops Content-Length from
// such a request's header, so no handler can tell. A connection from
// PlainListener therefore follows the framing of the requests it reads,
// as net/http does, and renames the second of the two headers in place to
// a marker of the same length, which AmbiguousFraming finds; it stops
// giving bytes after that request.

// The markers written over the name of a head's second framing header.
const (
	markCL = "Ssehub-Framing"    // over Content-Length, as long
	markTE = "Ssehub-Framing-Te" // over Transfer-Encoding, as long
)

// framing follows the framing of the HTTP/1.x requests in a connection's
// bytes, read in any pieces: request line, header lines (noting
// Content-Length and Transfer-Encoding), then the body, by Content-Length
// or chunked, trailers included, to the next request. It keeps no bytes:
// only the state between two reads.
type framing struct {
	state scanState
	pos   int64 // bytes scanned

	// Across requests.
	post    bool  // the last request was a POST: net/http skips up to 4 CR or LF after it
	skipped uint8 // of those, skipped before this request

	// The request line.
	lineLen int     // bytes of it so far
	isPost  bool    // its method is POST, so far
	tail    [9]byte // its last bytes, for the version
	v10     bool    // HTTP/1.0: net/http ignores Transfer-Encoding

	// The head.
	trailer bool    // reading a chunked body's trailer section, not a head
	cl, te  int     // Content-Length and Transfer-Encoding headers seen
	clN     uint64  // the Content-Length
	clBad   bool    // a Content-Length is not a number, or they differ
	teBad   bool    // a Transfer-Encoding is not exactly "chunked"
	dual    bool    // both were seen: the second renamed
	cur     header  // the header whose value is being read
	nameAt  int64   // where its name began
	match   int     // bytes of its name matched, while it may be one of both
	cands   uint8   // which of both it may still be
	want    uint8   // which of both would make the head dual
	val     uint64  // the value of a Content-Length
	valLen  int     // non-blank bytes of the value
	valGap  bool    // blank after them (a later byte makes the value bad)
	valBad  bool    // the value cannot be what net/http accepts
	teVal   [7]byte // the start of a Transfer-Encoding's value, lower case
	remain  uint64  // bytes left of a body or chunk
	digits  int     // hex digits of a chunk size
}

type scanState uint8

const (
	stRequest     scanState = iota // before a request line
	stRequestLine                  // in it
	stLineStart                    // at a header line, or the blank line
	stLineCR                       // after a CR at a line's start
	stName                         // in a header name that may be a framing header
	stValue                        // in a header's value
	stBody                         // in a Content-Length body
	stChunkSize                    // in a chunk size
	stChunkBlank                   // in blanks after it
	stChunkExt                     // in a chunk extension
	stChunkLF                      // at the LF ending a chunk-size line
	stChunkData                    // in chunk data
	stChunkCR                      // at the CR after chunk data
	stChunkEnd                     // at the LF after chunk data
	stPass                         // not HTTP/1.x (an HTTP/2 preface): bytes pass unscanned
	stStop                         // no more bytes: give none
)

// header is a header's meaning for the framing.
type header uint8

const (
	hNone  header = iota // no header yet
	hOther               // any other header
	hCL                  // Content-Length
	hTE                  // Transfer-Encoding
)

// Candidates, as bits of framing.cands and framing.want.
const (
	candCL uint8 = 1 << iota
	candTE
)

const (
	nameCL     = "content-length"
	nameTE     = "transfer-encoding"
	maxInt63   = 1<<63 - 1
	maxHexSize = 16 // hex digits of a chunk size net/http accepts
)

// scan follows the framing over p[from:], p[:from] being bytes scanned
// before and held back (a header name that may be renamed, which begins at
// p[0]). It returns how many bytes of p may be given now; the rest, unless
// stop, is held back until more bytes tell whether the name is renamed. On
// stop no byte after those may ever be given.
func (f *framing) scan(p []byte, from int) (due int, stop bool) {
	base := f.pos - int64(from)
	i := from
	for i < len(p) && f.state != stStop {
		i = f.step(p, i, base)
	}
	f.pos = base + int64(i)
	if f.state == stStop {
		return i, true
	}
	if f.state == stName && f.cands&f.want != 0 {
		if f.nameAt < base { // cannot happen (held since it began), but never pass such a head
			f.state = stStop
			return 0, true
		}
		return int(f.nameAt - base), false
	}
	return len(p), false
}

// step scans from p[i], in one state, and returns where it stopped.
func (f *framing) step(p []byte, i int, base int64) int {
	switch f.state {
	case stRequest:
		if c := p[i]; f.post && f.skipped < 4 && (c == '\r' || c == '\n') {
			f.skipped++
			return i + 1
		}
		f.beginRequest()
		return i
	case stRequestLine:
		j := bytes.IndexByte(p[i:], '\n')
		if j < 0 {
			f.requestLine(p[i:])
			return len(p)
		}
		f.requestLine(p[i : i+j])
		f.endRequestLine()
		return i + j + 1
	case stLineStart:
		return f.lineStart(p[i], i, base)
	case stLineCR:
		if p[i] == '\n' {
			f.endHead()
			return i + 1
		}
		f.cur, f.state = hOther, stValue // a name that begins with CR: net/http refuses it
		return i
	case stName:
		return f.name(p, i, base)
	case stValue:
		return f.value(p, i)
	case stBody, stChunkData:
		n := min(f.remain, uint64(len(p)-i))
		f.remain -= n
		if f.remain == 0 {
			if f.state == stBody {
				f.endRequest()
			} else {
				f.state = stChunkCR
			}
		}
		return i + int(n)
	case stPass:
		return len(p)
	default:
		f.chunkLine(p[i])
		if f.state == stStop {
			return i
		}
	}
	return i + 1
}

// beginRequest starts a request's head.
func (f *framing) beginRequest() {
	*f = framing{pos: f.pos, state: stRequestLine, isPost: true}
}

// requestLine scans a piece of the request line, without its LF.
func (f *framing) requestLine(b []byte) {
	if f.lineLen < 5 {
		for k := 0; k < len(b) && f.lineLen+k < 5; k++ {
			f.isPost = f.isPost && b[k] == "POST "[f.lineLen+k]
		}
	}
	f.lineLen += len(b)
	if len(b) >= len(f.tail) {
		copy(f.tail[:], b[len(b)-len(f.tail):])
	} else {
		copy(f.tail[:], f.tail[len(b):])
		copy(f.tail[len(f.tail)-len(b):], b)
	}
}

// endRequestLine reads the version at the end of the request line, as
// net/http's ParseHTTPVersion does: anything but HTTP/1.x passes unscanned
// (net/http answers it and closes, unless it serves HTTP/2 without TLS).
func (f *framing) endRequestLine() {
	line := f.tail[:]
	n := min(f.lineLen, len(f.tail))
	if n > 0 && line[len(line)-1] == '\r' {
		line, n = line[:len(line)-1], n-1
	}
	version := line[len(line)-min(n, 8):]
	switch {
	case len(version) < 8 || string(version[:7]) != "HTTP/1." || version[7] < '0' || version[7] > '9':
		f.state = stPass
	default:
		f.v10 = version[7] == '0'
		f.isPost = f.isPost && f.lineLen >= 5
		f.state = stLineStart
	}
}

// lineStart scans the first byte of a line in the head or the trailers.
func (f *framing) lineStart(c byte, i int, base int64) int {
	if c == ' ' || c == '\t' { // obs-fold: the previous header's value goes on
		if f.valLen > 0 {
			f.valGap = true
		}
		f.state = stValue
		return i + 1
	}
	f.endHeader()
	switch {
	case c == '\n':
		f.endHead()
	case c == '\r':
		f.state = stLineCR
	case f.trailer:
		f.cur, f.state = hOther, stValue
	default:
		f.beginName(base + int64(i))
		return i // the name's first byte is scanned as part of it
	}
	return i + 1
}

// beginName starts a header name at pos.
func (f *framing) beginName(pos int64) {
	f.state, f.nameAt, f.match, f.cands, f.want = stName, pos, 0, candCL|candTE, 0
	switch {
	case f.dual:
	case f.cl > 0 && f.te == 0:
		f.want = candTE
	case f.te > 0 && f.cl == 0:
		f.want = candCL
	}
}

// name scans a header name from p[i] while it may be a framing header:
// whole when its colon is in p, else byte by byte.
func (f *framing) name(p []byte, i int, base int64) int {
	if f.match == 0 {
		if c := p[i] | 0x20; c != 'c' && c != 't' { // (0x20 lowers C and T, and makes no other byte c or t)
			f.cur, f.state = hOther, stValue
			return i
		}
		w := p[i:min(len(p), i+len(nameTE)+1)]
		j := bytes.IndexByte(w, ':')
		switch {
		case j == len(nameCL) && lowerIs(w[:j], nameCL):
			f.cands, f.match = candCL, j
		case j == len(nameTE) && lowerIs(w[:j], nameTE):
			f.cands, f.match = candTE, j
		case j >= 0 || len(w) > len(nameTE): // another header
			f.cur, f.state = hOther, stValue
			return i
		}
		if j >= 0 {
			f.endName(p, base)
			return i + j + 1
		}
	}
	for ; i < len(p); i++ {
		c := p[i]
		switch c {
		case ':':
			f.endName(p, base)
			return i + 1
		case '\n': // no colon: net/http refuses the request
			f.cur, f.state = hOther, stLineStart
			return i + 1
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if f.match >= len(nameCL) || nameCL[f.match] != c {
			f.cands &^= candCL
		}
		if f.match >= len(nameTE) || nameTE[f.match] != c {
			f.cands &^= candTE
		}
		f.match++
		if f.cands == 0 {
			f.cur, f.state = hOther, stValue
			return i + 1
		}
	}
	return i
}

// endName ends a header name at its colon. The second framing header of
// the head gets the marker as its name; net/http never sees it as what it
// was.
func (f *framing) endName(p []byte, base int64) {
	f.cur, f.state = hOther, stValue
	f.val, f.valLen, f.valGap, f.valBad = 0, 0, false, false
	switch {
	case f.cands&candCL != 0 && f.match == len(nameCL):
		f.cur = hCL
	case f.cands&candTE != 0 && f.match == len(nameTE):
		f.cur = hTE
	default:
		return
	}
	mark, cand := markCL, candCL
	if f.cur == hTE {
		mark, cand = markTE, candTE
	}
	if cand != f.want {
		return
	}
	at := f.nameAt - base
	if at < 0 { // the name's start was given already: cannot happen, but never pass such a head
		f.state = stStop
		return
	}
	copy(p[at:], mark)
	f.cur, f.dual = hOther, true
}

// value scans a header's value from p[i] to the end of its line.
func (f *framing) value(p []byte, i int) int {
	if f.cur != hCL && f.cur != hTE {
		j := bytes.IndexByte(p[i:], '\n')
		if j < 0 {
			return len(p)
		}
		f.state = stLineStart
		return i + j + 1
	}
	for ; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\n':
			f.state = stLineStart
			return i + 1
		case c == ' ' || c == '\t' || c == '\r':
			f.valGap = f.valLen > 0
		case f.valGap:
			f.valBad = true
		case f.cur == hCL:
			d := uint64(c - '0')
			if d > 9 || f.val > (maxInt63-d)/10 {
				f.valBad = true
			}
			f.val = f.val*10 + d
			f.valLen++
		default:
			if f.valLen < len(f.teVal) {
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				f.teVal[f.valLen] = c
			}
			f.valLen++
		}
	}
	return i
}

// endHeader ends the header whose value was read, before the next line.
func (f *framing) endHeader() {
	switch f.cur {
	case hCL:
		f.cl++
		switch {
		case f.valBad || f.valLen == 0:
			f.clBad = true
		case f.cl == 1:
			f.clN = f.val
		case f.val != f.clN:
			f.clBad = true
		}
	case hTE:
		f.te++
		f.teBad = f.teBad || f.valBad || f.valLen != len(f.teVal) || string(f.teVal[:]) != "chunked"
	}
	f.cur = hNone
}

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

// lowerIs reports whether b in lower case is s, which is.
func lowerIs(b []byte, s string) bool {
	for k, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[k] {
			return false
		}
	}
	return true
}
