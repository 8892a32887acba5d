package llm

import (
	"testing"
	"time"
)

// TestCapacityGrowsSettlesAndFalls: the limit grows only while the
// lateness is under four fifths of the bound and the limit is nearly
// reached, waits the time to a first token between raises, and falls
// below what runs once the lateness is over the bound, never under
// capacityStart.
func TestCapacityGrowsSettlesAndFalls(t *testing.T) {
	const maxLate = 100 * time.Millisecond
	settle := 400 * time.Millisecond
	c := newCapacity()
	now := time.Unix(1000, 0)
	if got := c.adjust(0, maxLate, 10, settle, now); got != capacityStart {
		t.Fatalf("with few running the limit moved: %d", got)
	}
	if got := c.adjust(10*time.Millisecond, maxLate, capacityStart, settle, now); got != capacityStart*5/4 {
		t.Fatalf("well on time at the limit: %d, want a quarter more", got)
	}
	if got := c.adjust(0, maxLate, capacityStart*5/4, settle, now.Add(settle/2)); got != capacityStart*5/4 {
		t.Fatalf("raised again before the first tokens could show: %d", got)
	}
	now = now.Add(settle)
	if got := c.adjust(60*time.Millisecond, maxLate, 320, settle, now); got != 320+32 {
		t.Fatalf("past half the bound: %d, want a tenth more", got)
	}
	now = now.Add(settle)
	if got := c.adjust(90*time.Millisecond, maxLate, 352, settle, now); got != 352 {
		t.Fatalf("near the bound the limit moved: %d", got)
	}
	if got := c.adjust(150*time.Millisecond, maxLate, 352, settle, now); got != 352*4/5 {
		t.Fatalf("over the bound: %d, want four fifths of what runs", got)
	}
	if got := c.adjust(0, maxLate, 352, settle, now.Add(capacityHold/2)); got != 352*4/5 {
		t.Fatalf("raised during the hold after a fall: %d", got)
	}
	if got := c.adjust(time.Second, maxLate, 100, settle, now.Add(2*capacityHold)); got != capacityStart {
		t.Fatalf("fell under the start: %d", got)
	}
	if got := c.adjust(0, maxLate, 1000, 10*time.Minute, now.Add(3*capacityHold)); got <= capacityStart {
		t.Fatalf("no raise: %d", got)
	} else if c.hold.Sub(now.Add(3*capacityHold)) != maxSettle {
		t.Fatalf("a slow first token held the limit %v, want at most %v", c.hold.Sub(now.Add(3*capacityHold)), maxSettle)
	}
}
