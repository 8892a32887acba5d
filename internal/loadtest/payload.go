package loadtest

import (
	"bytes"
	"math"
	"strconv"
)

// stamp is what an event's data carries: when it was published (Unix
// nanoseconds), by which publisher, and its index among all the run's events
// (event seq goes to topic seq % topics).
type stamp struct {
	T   int64
	Pub int
	Seq int
}

// appendData appends the JSON data of s, padded with "x" so that the data is
// size bytes long when size allows:
//
//	{"t":1700000000000000000,"p":0,"seq":42,"pad":"xxxx…"}
func appendData(b []byte, s stamp, size int) []byte {
	start := len(b)
	b = append(b, `{"t":`...)
	b = strconv.AppendInt(b, s.T, 10)
	b = append(b, `,"p":`...)
	b = strconv.AppendInt(b, int64(s.Pub), 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, int64(s.Seq), 10)
	b = append(b, `,"pad":"`...)
	for n := size - (len(b) - start) - 2; n > 0; n-- {
		b = append(b, 'x')
	}
	return append(b, `"}`...)
}

// parseData reads the stamp of data written by appendData. It reads the
// fields in the order appendData writes them and reports false for anything
// else, such as events that are not the tool's own.
func parseData(data []byte) (stamp, bool) {
	var s stamp
	rest, ok := bytes.CutPrefix(data, []byte(`{"t":`))
	if !ok {
		return s, false
	}
	if s.T, rest, ok = cutInt(rest); !ok {
		return s, false
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(`,"p":`)); !ok {
		return s, false
	}
	var n int64
	if n, rest, ok = cutInt(rest); !ok {
		return s, false
	}
	s.Pub = int(n)
	if rest, ok = bytes.CutPrefix(rest, []byte(`,"seq":`)); !ok {
		return s, false
	}
	if n, _, ok = cutInt(rest); !ok {
		return s, false
	}
	s.Seq = int(n)
	return s, true
}

// cutInt reads the non-negative decimal int64 (at most 19 digits) at the
// start of b.
func cutInt(b []byte) (int64, []byte, bool) {
	var n uint64 // 19 digits fit
	i := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		if i == 19 {
			return 0, b, false
		}
		n = n*10 + uint64(b[i]-'0')
	}
	return int64(n), b[i:], i > 0 && n <= math.MaxInt64
}
