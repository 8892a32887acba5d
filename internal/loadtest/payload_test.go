package loadtest

import (
	"encoding/json"
	"testing"
	"time"
)

func TestDataRoundTrip(t *testing.T) {
	t.Parallel()
	now := time.Now().UnixNano()
	for _, size := range []int{0, 10, 60, 100, 4096} {
		s := stamp{T: now, Pub: 7, Seq: 123456}
		data := appendData(nil, s, size)
		if size >= 60 && len(data) != size {
			t.Errorf("size %d: data is %d bytes", size, len(data))
		}
		if !json.Valid(data) {
			t.Errorf("size %d: not JSON: %s", size, data)
		}
		got, ok := parseData(data)
		if !ok || got != s {
			t.Errorf("size %d: parseData(%s) = %+v, %v; want %+v", size, data, got, ok, s)
		}
	}
}

func TestParseDataForeign(t *testing.T) {
	t.Parallel()
	for _, data := range []string{
		"", "hello", `{"t":1}`, `{"t":1,"p":0}`, `{"t":-5,"p":0,"seq":1}`, `{"t":1,"p":x,"seq":1}`,
		`{"seq":1,"t":1,"p":0}`, `{"t":99999999999999999999,"p":0,"seq":1}`, `{"t":9223372036854775808,"p":0,"seq":1}`, `{"t":1,"p":0,"seq":}`,
	} {
		if s, ok := parseData([]byte(data)); ok {
			t.Errorf("parseData(%q) = %+v, true; want false", data, s)
		}
	}
}
