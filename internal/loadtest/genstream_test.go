package loadtest

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// TestLateness checks the schedule's arithmetic: token i is due at token
// 0's read time plus i intervals, and one read early is on time.
func TestLateness(t *testing.T) {
	t.Parallel()
	const ms = int64(time.Millisecond)
	tests := []struct {
		first, interval, i, now, want int64
	}{
		{1000 * ms, 50 * ms, 0, 1000 * ms, 0},
		{1000 * ms, 50 * ms, 1, 1050 * ms, 0},
		{1000 * ms, 50 * ms, 2, 1130 * ms, 30 * ms},
		{1000 * ms, 50 * ms, 3, 1140 * ms, 0}, // 10 ms early
		{1000 * ms, 50 * ms, 299, 17_000 * ms, 1050 * ms},
		{0, 1, 10, 5, 0},
	}
	for _, tt := range tests {
		if got := lateness(tt.first, tt.interval, tt.i, tt.now); got != tt.want {
			t.Errorf("lateness(first %d, interval %d, token %d, now %d) = %d, want %d", tt.first, tt.interval, tt.i, tt.now, got, tt.want)
		}
	}
}

// TestGenStreamSchedule feeds a generation's stream with a fake clock: each
// token's lateness is measured against token 0's read time and the model's
// pace, a token sent again is a duplicate that is not measured, and the done
// event's count tells the tokens missing.
func TestGenStreamSchedule(t *testing.T) {
	t.Parallel()
	const ms = int64(time.Millisecond)
	cfg := defaultGenConfig()
	cfg.TokensPerSecond = 20 // a token every 50 ms
	start := int64(1_700_000_000_000) * ms
	var ends atomic.Int64
	sh := genShard{lateness: NewHistogram(), ttft: NewHistogram()}
	s := newGenStream(cfg, start, sh, &ends)
	s.dec.init(false, 0)
	token := func(seq int) string {
		return fmt.Sprintf("id: urn:ssehub:ep:%d\nevent: token\ndata: {\"text\":\"t%d\"}\n\n", seq, seq)
	}
	feeds := []struct {
		at   int64 // ms after the start request
		body string
	}{
		{0, "retry: 3000\n\n"},
		{400, token(1)},            // token 0: the schedule's origin, 400 ms to the first token
		{450, token(2)},            // token 1, on time
		{530, token(3)},            // token 2, due at 500: 30 ms late
		{540, token(3)},            // token 2 again: a duplicate
		{555, token(4) + token(5)}, // tokens 3 and 4, due at 550 and 600: 5 ms late, on time
		{900, token(7)},            // token 5 (one was lost), due at 650: 250 ms late
		// tokens 6, 7 and 8 in one event, due at 700, 750, 800: 230, 180, 130 ms late
		{930, "id: urn:ssehub:ep:8\nevent: token\ndata: {\"text\":\"a,\\\"tokens\\\":9\",\"tokens\":3}\n\n"},
		{940, "id: urn:ssehub:ep:9\nevent: done\ndata: {\"reason\":\"stop\",\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":10,\"total_tokens\":13}}\n\n"},
	}
	var err error
	for _, f := range feeds {
		if err = s.feed([]byte(f.body), start+f.at*ms, 0); err != nil {
			break
		}
	}
	if !errors.Is(err, errGenEnded) || s.outcome != genCompleted {
		t.Fatalf("after the done event: %v, outcome %d; want errGenEnded, completed", err, s.outcome)
	}
	s.stop(err, false)
	if s.tokens != 9 || s.duplicates != 1 || s.missing() != 1 || s.excess() != 0 || ends.Load() != 1 {
		t.Errorf("tokens %d, duplicates %d, missing %d, excess %d, ended %d; want 9, 1, 1, 0, 1",
			s.tokens, s.duplicates, s.missing(), s.excess(), ends.Load())
	}
	// Lateness in µs: 0, 0, 30 ms, 5 ms, 0, 250 ms, 230 ms, 180 ms, 130 ms.
	if sh.lateness.Count() != 9 || sh.lateness.Max() != 250_000 || sh.lateness.Quantile(0.3) != 0 || sh.lateness.Quantile(0.5) < 29_000 ||
		sh.lateness.Quantile(0.5) > 31_000 || sh.lateness.Quantile(0.7) < 170_000 {
		t.Errorf("lateness: %d tokens, max %d µs, p30 %d µs, p50 %d µs, p70 %d µs; want 9, 250000, 0, about 30000, about 180000",
			sh.lateness.Count(), sh.lateness.Max(), sh.lateness.Quantile(0.3), sh.lateness.Quantile(0.5), sh.lateness.Quantile(0.7))
	}
	if sh.ttft.Count() != 1 || sh.ttft.Max() != 400_000 {
		t.Errorf("first token: %d measured, %d µs; want 1, 400000", sh.ttft.Count(), sh.ttft.Max())
	}
}

// TestGenStreamEnds checks how a generation's stream ends: an error event
// is a failure of its kind, a stream cut before done or error is broken,
// and one the run closes is unfinished.
func TestGenStreamEnds(t *testing.T) {
	t.Parallel()
	var ends atomic.Int64
	newStream := func() *genStream {
		s := newGenStream(defaultGenConfig(), 1, genShard{lateness: NewHistogram(), ttft: NewHistogram()}, &ends)
		s.dec.init(false, 0)
		return s
	}
	failed := newStream()
	err := failed.feed([]byte("id: urn:ssehub:e:1\nevent: error\ndata: {\"error\":\"too slow\",\"kind\":\"timeout\"}\n\n"), 2, 0)
	failed.stop(err, false)
	if failed.outcome != genFailed || failed.kind != "error event: timeout" {
		t.Errorf("error event: outcome %d, kind %q; want failed, timeout", failed.outcome, failed.kind)
	}
	broken := newStream()
	broken.stop(broken.closed(), false)
	if broken.outcome != genBroken || broken.err == nil {
		t.Errorf("cut stream: outcome %d, err %v; want broken", broken.outcome, broken.err)
	}
	closed := newStream()
	closed.stop(errors.New("closed by the run"), true)
	closed.stop(errors.New("again"), false) // counted once
	if closed.outcome != genRunning || ends.Load() != 3 {
		t.Errorf("closed by the run: outcome %d, %d ended; want running, 3", closed.outcome, ends.Load())
	}
}
