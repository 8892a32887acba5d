package stream

import "bytes"

// The head of a request, and a chunked body's trailers: header lines,
// their names and the values of Content-Length and Transfer-Encoding.

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
