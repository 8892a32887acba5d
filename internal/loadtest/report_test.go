package loadtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func TestReportMerge(t *testing.T) {
	t.Parallel()
	ha, hb := NewHistogram(), NewHistogram()
	ha.Record(1000)
	hb.Record(3000)
	hb.Record(5000)
	a := Report{Subscribers: 10, Connected: 9, Failed: 1, ConnectSeconds: 1.5, Delivered: 90, Expected: 90,
		FirstDelivery: 200, LastDelivery: 900, Latency: ha, Errors: map[string]int{"dial: connection refused": 1}}
	b := Report{Subscribers: 10, Connected: 10, StreamErrors: 1, ConnectSeconds: 0.5, Delivered: 95, Expected: 100, Lost: 6,
		Duplicates: 1, OutOfOrder: 2, Foreign: 3, FirstDelivery: 100, LastDelivery: 800, Latency: hb,
		Errors: map[string]int{"stream: EOF": 1, "dial: connection refused": 2}}
	var sum Report
	sum.Merge(Report{}) // a child that received nothing
	for _, r := range []Report{a, b} {
		// through JSON, as children send them
		js, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var back Report
		if err := json.Unmarshal(js, &back); err != nil {
			t.Fatal(err)
		}
		sum.Merge(back)
	}
	want := Report{Subscribers: 20, Connected: 19, Failed: 1, StreamErrors: 1, ConnectSeconds: 1.5, Delivered: 185, Expected: 190,
		Lost: 6, Duplicates: 1, OutOfOrder: 2, Foreign: 3, FirstDelivery: 100, LastDelivery: 900}
	got := sum
	got.Latency, got.Errors = nil, nil
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("merged\n%+v\nwant\n%+v", got, want)
	}
	if p50 := sum.Latency.Quantile(0.5); sum.Latency.Count() != 3 || sum.Latency.Max() != 5000 || p50 < 3000 || p50 > 3000+3000/subCount {
		t.Errorf("merged latency: count %d, max %d, p50 %d", sum.Latency.Count(), sum.Latency.Max(), sum.Latency.Quantile(0.5))
	}
	if sum.Errors["dial: connection refused"] != 3 || sum.Errors["stream: EOF"] != 1 {
		t.Errorf("merged errors %v", sum.Errors)
	}
}

func TestErrorKindsBounded(t *testing.T) {
	t.Parallel()
	m := map[string]int{}
	for i := range 100 {
		addError(m, fmt.Sprintf("kind %d", i))
	}
	if len(m) != maxErrorKinds+1 || m["other"] != 100-maxErrorKinds {
		t.Errorf("%d kinds, %d other; want %d kinds and %d other", len(m), m["other"], maxErrorKinds+1, 100-maxErrorKinds)
	}
}

func TestNewResult(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.Subscribers, cfg.Events = 10, 100
	h := NewHistogram()
	for v := range uint64(1000) {
		h.Record(v * 10) // 0 … 9.99 ms
	}
	start := time.Unix(1000, 0)
	rep := Report{Connected: 10, Delivered: 1000, Expected: 1000, LastDelivery: start.Add(2 * time.Second).UnixNano(), Latency: h}
	pub := publishStats{Published: 100, First: start, Last: start.Add(time.Second), PerTopic: []int64{100}}
	ts, err := resolveTargets(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	res := newResult(cfg, ts, rep, pub)
	if res.DeliveriesPerS != 500 || res.PhaseSeconds != 2 || res.PublishPerSec != 100 {
		t.Errorf("deliveries/s %v over %vs, publishes/s %v; want 500 over 2s, 100", res.DeliveriesPerS, res.PhaseSeconds, res.PublishPerSec)
	}
	if res.LatencyP50ms < 4.99 || res.LatencyP50ms > 5.04 || res.LatencyMaxms != 9.99 {
		t.Errorf("p50 %v ms, max %v ms; want about 5, 9.99", res.LatencyP50ms, res.LatencyMaxms)
	}
	var buf bytes.Buffer
	if err := res.WriteJSON(&buf); err != nil || strings.Count(buf.String(), "\n") != 1 || !json.Valid(buf.Bytes()) {
		t.Errorf("WriteJSON wrote %q, %v; want one line of JSON", buf.String(), err)
	}
	buf.Reset()
	if err := res.WriteTable(&buf); err != nil || !strings.Contains(buf.String(), "500 deliveries/s") {
		t.Errorf("WriteTable wrote %q, %v", buf.String(), err)
	}
}

func TestParseProc(t *testing.T) {
	t.Parallel()
	status := []byte("Name:\tssehub\nVmPeak:\t  99999 kB\nVmRSS:\t   12345 kB\nThreads:\t9\n")
	if rss, err := parseRSS(status); err != nil || rss != 12345 {
		t.Errorf("parseRSS = %d, %v; want 12345", rss, err)
	}
	if _, err := parseRSS([]byte("Name:\tzombie\n")); err == nil {
		t.Error("parseRSS without VmRSS did not fail")
	}
	// A command name with spaces and parentheses; utime 250, stime 50 ticks.
	stat := []byte("4242 (my (odd) hub) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 9 0 100 1000000 3000 ...\n")
	if cpu, err := parseCPU(stat); err != nil || cpu != 3*time.Second {
		t.Errorf("parseCPU = %v, %v; want 3s", cpu, err)
	}
	if _, err := parseCPU([]byte("4242 (short) S 1 2")); err == nil {
		t.Error("parseCPU of a short line did not fail")
	}
}

func TestReadProcSelf(t *testing.T) {
	t.Parallel()
	s, err := readProc(os.Getpid())
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	if s.RSSKiB <= 0 {
		t.Errorf("own RSS %d KiB", s.RSSKiB)
	}
}
