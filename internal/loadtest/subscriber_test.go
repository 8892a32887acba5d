package loadtest

import (
	"testing"
)

// TestReceive checks the accounting of one stream: duplicates, events
// overtaking an earlier one of the same publisher, and foreign events.
func TestReceive(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.Topics, cfg.Events, cfg.Publishers = 3, 300, 2
	lat := newLatencies()
	s := newSubscriber(1, cfg, lat)
	const now = int64(5_000_000)
	send := func(seq, pub int) bool {
		arrived := now - 500_000
		if seq == 298 {
			arrived = 0 // no receive time
		}
		return s.receive(appendData(nil, stamp{T: now - 2_000_000, Pub: pub, Seq: seq}, 100), now, arrived)
	}
	// Publisher seq%2 sends event seq; topic 1 has events 1, 4, 7, 10, …
	for _, ev := range []struct{ seq, pub int }{{1, 1}, {4, 0}, {16, 0}, {7, 1}, {4, 0}, {10, 0}, {298, 0}} {
		if !send(ev.seq, ev.pub) {
			t.Errorf("event %d of publisher %d was not taken as the tool's", ev.seq, ev.pub)
		}
	}
	// 2 is topic 2's, 301 past the run's events, publisher 2 does not exist.
	for _, ev := range []struct{ seq, pub int }{{2, 0}, {301, 0}, {1, 2}} {
		if send(ev.seq, ev.pub) {
			t.Errorf("event %d of publisher %d was taken as the stream's", ev.seq, ev.pub)
		}
	}
	if s.receive([]byte("not ours"), now, now) {
		t.Error("foreign data was taken as the tool's")
	}
	// 10 after publisher 0's 16 is out of order; the second 4 a duplicate.
	if s.unique.Load() != 6 || s.delivered != 7 || s.duplicates != 1 || s.outOfOrder != 1 || s.foreign != 4 {
		t.Errorf("unique %d, delivered %d, duplicates %d, out of order %d, foreign %d; want 6, 7, 1, 1, 4",
			s.unique.Load(), s.delivered, s.duplicates, s.outOfOrder, s.foreign)
	}
	if lat.read.Count() != 7 || lat.read.Max() != 2000 {
		t.Errorf("latency count %d, max %d µs; want 7, 2000", lat.read.Count(), lat.read.Max())
	}
	if lat.arrival.Count() != 6 || lat.arrival.Max() != 1500 {
		t.Errorf("arrival latency count %d, max %d µs; want 6, 1500", lat.arrival.Count(), lat.arrival.Max())
	}
}
