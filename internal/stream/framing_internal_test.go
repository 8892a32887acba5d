package stream

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/textproto"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// pieces reads data in pieces of the sizes that next returns.
type pieces struct {
	data []byte
	next func() int
}

func (p *pieces) Read(b []byte) (int, error) {
	if len(p.data) == 0 {
		return 0, io.EOF
	}
	n := copy(b[:min(len(b), p.next())], p.data)
	p.data = p.data[n:]
	return n, nil
}

// sizes returns sizes from 1 to max, varied by seed.
func sizes(seed uint32, max int) func() int {
	return func() int {
		seed = seed*1664525 + 1013904223
		return 1 + int(seed>>16)%max
	}
}

// filter reads data through a framedReader, from a source giving pieces
// of the sizes of src, into buffers of the sizes of dst, to its end.
func filter(t testing.TB, data []byte, src, dst func() int) []byte {
	r := &framedReader{src: &pieces{data: data, next: src}}
	var out []byte
	buf := make([]byte, 4096)
	for range 4*len(data) + 10 {
		n, err := r.Read(buf[:dst()])
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("read: %v", err)
		}
	}
	t.Fatalf("no end after %d reads of %d bytes", 4*len(data)+10, len(data))
	return nil
}

// chunkings are the ways tests read: whole, byte by byte, odd pieces, and
// small reads into buffers too small for the bytes held back.
var chunkings = []struct {
	name     string
	src, dst func() int
}{
	{"whole", func() int { return 1 << 20 }, func() int { return 4096 }},
	{"bytes", func() int { return 1 }, func() int { return 4096 }},
	{"pieces", sizes(1, 7), func() int { return 4096 }},
	{"small reads", sizes(2, 23), sizes(3, 3)},
	{"one-byte reads", sizes(4, 40), func() int { return 1 }},
}

const (
	get      = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
	formHead = "POST /.well-known/mercure HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
)

func TestFraming(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"Content-Length, pipelined",
			formHead + "Content-Length: 13\r\n\r\ntopic=a&data=" + formHead + "content-length:  3 \r\n\r\nabc" + get,
			""},
		{"Content-Length body holding a head",
			formHead + "Content-Length: 52\r\n\r\nGET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nHost: x\r\n\r\n" + get,
			""},
		{"chunked, extensions, trailers",
			formHead + "Transfer-Encoding: chunked\r\n\r\n5;a=b\r\ntopic\r\n8 \t\r\n=a&data=\r\n0\r\nContent-Length: 5\r\nX: y\r\n\r\n" + get,
			""},
		{"POST then CRLF",
			formHead + "Content-Length: 1\r\n\r\nx\r\n" + get,
			""},
		{"not HTTP/1.x passes",
			"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
			""},
		{"marker sent by the client",
			"GET / HTTP/1.1\r\nSsehub-Framing: 1\r\n\r\n" + get,
			""},
		{"Content-Length then Transfer-Encoding",
			formHead + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n" + get,
			formHead + "Content-Length: 4\r\nSsehub-Framing-Te: chunked\r\n\r\n1\r\nx"},
		{"Transfer-Encoding then Content-Length",
			formHead + "transfer-encoding: CHUNKED\r\nCONTENT-LENGTH: 4\r\n\r\n1\r\nx\r\n0\r\n\r\n" + get,
			formHead + "transfer-encoding: CHUNKED\r\nSsehub-Framing: 4\r\n\r\n1\r\nx\r\n0\r\n\r\n"},
		{"folded Transfer-Encoding",
			formHead + "Content-Length: 0\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n" + get,
			formHead + "Content-Length: 0\r\nSsehub-Framing-Te:\r\n chunked\r\n\r\n"},
		{"HTTP/1.0",
			"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc" + get,
			"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nSsehub-Framing: 3\r\n\r\n"},
		{"second request",
			get + "GET / HTTP/1.1\r\nContent-Length: 0\r\nX: y\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + get,
			get + "GET / HTTP/1.1\r\nContent-Length: 0\r\nX: y\r\nSsehub-Framing-Te: chunked\r\n\r\n"},
		{"after a POST's CRLF",
			formHead + "Content-Length: 1\r\n\r\nx\r\n\r\nGET / HTTP/1.1\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + get,
			formHead + "Content-Length: 1\r\n\r\nx\r\n\r\nGET / HTTP/1.1\r\nContent-Length: 0\r\nSsehub-Framing-Te: chunked\r\n\r\n"},
		{"bad chunk size",
			formHead + "Transfer-Encoding: chunked\r\n\r\n5x\r\nhello\r\n0\r\n\r\n" + get,
			formHead + "Transfer-Encoding: chunked\r\n\r\n5"},
		{"bad Content-Length",
			formHead + "Content-Length: 1x\r\n\r\nx" + get,
			formHead + "Content-Length: 1x\r\n\r\n"},
	} {
		want := tc.want
		if want == "" {
			want = tc.in
		}
		for _, c := range chunkings {
			if got := filter(t, []byte(tc.in), c.src, c.dst); string(got) != want {
				t.Errorf("%s, read %s:\n got %q\nwant %q", tc.name, c.name, got, want)
			}
		}
	}
}

// goRequest is a request as net/http's server reads it, and where it lies
// in the connection's bytes.
type goRequest struct {
	start, end int64
	req        *http.Request
	body       []byte
	dual       bool // its head has both Content-Length and Transfer-Encoding
}

// countReader counts the bytes read from r.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

// goRequests reads data as net/http's server does: request after request
// (skipping up to 4 CR or LF after a POST), each body to its end, until one
// fails or is not HTTP/1.x.
func goRequests(data []byte) []goRequest {
	cr := &countReader{r: bytes.NewReader(data)}
	br := bufio.NewReaderSize(cr, 4096)
	var out []goRequest
	for {
		if len(out) > 0 && out[len(out)-1].req.Method == "POST" {
			peek, _ := br.Peek(4)
			_, _ = br.Discard(len(peek) - len(bytes.TrimLeft(peek, "\r\n")))
		}
		start := cr.n - int64(br.Buffered())
		req, err := http.ReadRequest(br)
		if err != nil || req.ProtoMajor != 1 { // the server answers 505, or HTTP/2's preface, and closes
			return out
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return out
		}
		tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(data[start:])))
		_, _ = tp.ReadLine()
		h, _ := tp.ReadMIMEHeader()
		dual := len(h["Content-Length"]) > 0 && len(h["Transfer-Encoding"]) > 0
		out = append(out, goRequest{start: start, end: cr.n - int64(br.Buffered()), req: req, body: body, dual: dual})
	}
}

// FuzzFraming: read in any pieces, the framing follows the requests as
// net/http reads them, changing nothing, until a head with both framing
// headers, whose second gets the marker and after whose body nothing
// comes.
func FuzzFraming(f *testing.F) {
	for _, s := range []string{
		formHead + "Content-Length: 13\r\n\r\ntopic=a&data=" + get,
		formHead + "Transfer-Encoding: chunked\r\n\r\n5;a=b\r\ntopic\r\n0\r\nX: y\r\n\r\n\r\n" + get,
		formHead + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n" + get,
		"GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\ncontent-length: 1\r\n\r\nx" + get,
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n\tchunked\r\nContent-Length:\r\n 3\r\n\r\n0\r\n\r\n" + get,
		get + "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
	} {
		f.Add([]byte(s), uint32(0))
		f.Add([]byte(s), uint32(7))
	}
	f.Fuzz(func(t *testing.T, data []byte, seed uint32) {
		in := goRequests(data)
		for _, c := range []struct{ src, dst func() int }{
			{func() int { return 1 << 20 }, func() int { return 4096 }},
			{sizes(seed, 1+int(seed%29)), sizes(seed>>8, 1+int(seed>>16%5))},
		} {
			outBytes := filter(t, data, c.src, c.dst)
			checkFraming(t, data, outBytes, in, goRequests(outBytes))
		}
	})
}

// checkFraming compares the requests read from the bytes given (out) with
// those read from the connection's (in): the same up to the first of both
// framing headers; then at most one more, marked, and nothing after it.
func checkFraming(t *testing.T, data, outBytes []byte, in, out []goRequest) {
	t.Helper()
	k, read := len(in), 0 // the first request of both framing headers; the bytes before it
	for i, r := range in {
		if r.dual {
			k = i
			break
		}
		read = int(r.end)
	}
	for i := range in[:k] {
		if i >= len(out) {
			t.Fatalf("request %d of %d not given (%d bytes of %d given)", i, len(in), len(outBytes), len(data))
		}
		a, b := in[i], out[i]
		if a.start != b.start || a.end != b.end || a.req.Method != b.req.Method || a.req.RequestURI != b.req.RequestURI ||
			!reflect.DeepEqual(a.req.Header, b.req.Header) || !bytes.Equal(a.body, b.body) {
			t.Fatalf("request %d differs:\n in %d-%d %+v %q\nout %d-%d %+v %q", i, a.start, a.end, a.req, a.body, b.start, b.end, b.req, b.body)
		}
	}
	if !bytes.Equal(outBytes[:read], data[:read]) {
		t.Fatalf("bytes changed before any request of both framing headers:\n in %q\nout %q", data, outBytes)
	}
	if len(out) <= k {
		return
	}
	// A request net/http would read only as changed (it had both framing
	// headers, or net/http would refuse it as it came) must be marked, and
	// be the last.
	if len(out) > k+1 {
		t.Fatalf("request %d given after request %d, changed", k+1, k)
	}
	if !AmbiguousFraming(out[k].req) {
		t.Fatalf("request %d given changed, or with both framing headers, but unmarked: %+v", k, out[k].req.Header)
	}
	if int64(len(outBytes)) != out[k].end {
		t.Fatalf("%d bytes given after request %d, marked", int64(len(outBytes))-out[k].end, k)
	}
}

// BenchmarkFraming scans a publish: its head and a small form body.
func BenchmarkFraming(b *testing.B) {
	const body = "topic=bench-1&data=" + `{"t":1767225600000000000,"p":3,"seq":12345,"pad":""}`
	req := []byte(formHead + "Authorization: Bearer " + strings.Repeat("x", 150) +
		"\r\nUser-Agent: Go-http-client/1.1\r\nAccept-Encoding: gzip\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body)
	b.SetBytes(int64(len(req)))
	b.ReportAllocs()
	var f framing
	for b.Loop() {
		if due, stop := f.scan(req, 0); due != len(req) || stop {
			b.Fatal(due, stop)
		}
	}
	if f.state != stRequest {
		b.Fatal("not at a request's end")
	}
}
