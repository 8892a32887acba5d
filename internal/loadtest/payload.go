package loadtest

import (
	"strconv"
	"strings"
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
func parseData(data string) (stamp, bool) {
	var s stamp
	rest, ok := strings.CutPrefix(data, `{"t":`)
	if !ok {
		return s, false
	}
	if s.T, rest, ok = cutInt(rest); !ok {
		return s, false
	}
	if rest, ok = strings.CutPrefix(rest, `,"p":`); !ok {
		return s, false
	}
	var n int64
	if n, rest, ok = cutInt(rest); !ok {
		return s, false
	}
	s.Pub = int(n)
	if rest, ok = strings.CutPrefix(rest, `,"seq":`); !ok {
		return s, false
	}
	if n, _, ok = cutInt(rest); !ok {
		return s, false
	}
	s.Seq = int(n)
	return s, true
}

// cutInt reads the non-negative decimal integer at the start of s.
func cutInt(s string) (int64, string, bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || i > 19 {
		return 0, s, false
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	return n, s[i:], err == nil
}
