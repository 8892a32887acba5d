package stream

import "bytes"

// Request framing on HTTP/1.x connections (RFC 9112 §6.3): a request whose
// head has both Content-Length and Transfer-Encoding may be framed one way
// by a proxy in front and the other way by net/http, which reads it as
// chunked and then serves the bytes after the chunked body as another
// request: one the proxy never saw. net/http drops Content-Length from
// such a request's header, so no handler can tell. A connection from
// PlainListener, or an HTTP/1.x one from TLSListener (over its tls.Conn),
// therefore follows the framing of the requests it reads, as net/http
// does, and renames the second of the two headers in place to a marker of
// the same length, which AmbiguousFraming finds; it stops giving bytes
// after that request.

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
