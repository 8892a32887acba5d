package sse

import "unicode/utf8"

// appendDecoded appends b to dst decoded the way the WHATWG Encoding
// standard's "UTF-8 decode" does: each maximal subpart of an ill-formed
// sequence becomes one U+FFFD. (Go's own conversions replace byte by byte
// or run by run, which differs on truncated sequences.)
func appendDecoded(dst, b []byte) []byte {
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			n = maximalSubpart(b)
			dst = append(dst, "\uFFFD"...)
		} else {
			dst = append(dst, b[:n]...)
		}
		b = b[n:]
	}
	return dst
}

// maximalSubpart returns the length of the ill-formed sequence at the start
// of b: the lead byte and the continuation bytes the decoder accepts before
// it finds the sequence broken. It is at least 1.
func maximalSubpart(b []byte) int {
	need, lo, hi := 0, byte(0x80), byte(0xBF)
	switch c := b[0]; {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c >= 0xE0 && c <= 0xEF:
		need = 2
		if c == 0xE0 {
			lo = 0xA0
		} else if c == 0xED {
			hi = 0x9F
		}
	case c >= 0xF0 && c <= 0xF4:
		need = 3
		if c == 0xF0 {
			lo = 0x90
		} else if c == 0xF4 {
			hi = 0x8F
		}
	}
	n := 1
	for n <= need && n < len(b) && b[n] >= lo && b[n] <= hi {
		lo, hi = 0x80, 0xBF
		n++
	}
	return n
}
