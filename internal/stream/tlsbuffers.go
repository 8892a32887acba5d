package stream

import (
	"bytes"
	"crypto/tls"
	"reflect"
	"unsafe"
)

// crypto/tls keeps the buffers it read a connection's handshake with for as
// long as the connection lives: its record buffer, grown for the
// ClientHello (2 KiB with a post-quantum key share, as browsers and Go
// send), and its handshake buffer (1.5 KiB). That was a third of an idle
// stream's live heap over TLS, and it offers no way to give them back.
// releaseTLSReadBuffers does, reaching the fields by name: a Go whose
// tls.Conn no longer has them (tlsReadBuffers.ok false) keeps them, and
// TestTLSReadBuffersFound says so.

// tlsReadBuffers are the offsets in tls.Conn of its read buffers.
var tlsReadBuffers = findTLSReadBuffers()

type tlsBufferFields struct {
	rawInput, input, hand uintptr // bytes.Buffer, bytes.Reader, bytes.Buffer
	ok                    bool
}

func findTLSReadBuffers() tlsBufferFields {
	t := reflect.TypeFor[tls.Conn]()
	offset := func(name string, want reflect.Type) (uintptr, bool) {
		f, ok := t.FieldByName(name)
		return f.Offset, ok && len(f.Index) == 1 && f.Type == want
	}
	buffer, reader := reflect.TypeFor[bytes.Buffer](), reflect.TypeFor[bytes.Reader]()
	var f tlsBufferFields
	var okRaw, okIn, okHand bool
	f.rawInput, okRaw = offset("rawInput", buffer)
	f.input, okIn = offset("input", reader)
	f.hand, okHand = offset("hand", buffer)
	f.ok = okRaw && okIn && okHand
	return f
}

// releaseTLSReadBuffers drops c's read buffers when they hold nothing: its
// handshake buffer, and its record buffer when larger than keep. The
// caller must be the only one reading c (or c's reads are over): these are
// the reading side's, which crypto/tls guards with a lock of its own.
func releaseTLSReadBuffers(c *tls.Conn, keep int) {
	raw, in, hand := tlsBuffersOf(c)
	if raw == nil || raw.Len() != 0 || in.Len() != 0 || hand.Len() != 0 {
		return
	}
	if raw.Cap() > keep {
		in.Reset(nil) // it reads from raw's array
		*raw = bytes.Buffer{}
	}
	if hand.Cap() > 0 {
		*hand = bytes.Buffer{}
	}
}

// tlsKeptRead is the record buffer a connection keeps after a read: what
// a small frame (a WINDOW_UPDATE, a PING) grows it to, so that a busy
// connection does not allocate one at every read. An idle one keeps none
// (see sendH2).
const tlsKeptRead = 1 << 10

// tlsBuffersOf returns c's read buffers, or nils when they were not found.
func tlsBuffersOf(c *tls.Conn) (raw *bytes.Buffer, in *bytes.Reader, hand *bytes.Buffer) {
	f := tlsReadBuffers
	if !f.ok || c == nil {
		return nil, nil, nil
	}
	p := unsafe.Pointer(c)
	return (*bytes.Buffer)(unsafe.Add(p, f.rawInput)),
		(*bytes.Reader)(unsafe.Add(p, f.input)),
		(*bytes.Buffer)(unsafe.Add(p, f.hand))
}
