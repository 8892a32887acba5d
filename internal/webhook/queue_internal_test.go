package webhook

import (
	"fmt"
	"slices"
	"testing"
)

// TestQueue: first in, first out across the ring's wrap and growth; when
// full the oldest go, counted; closed, it refuses and drains.
func TestQueue(t *testing.T) {
	q := newQueue[int](40, 0, nil)
	next, want := 0, []int{}
	push := func(k int) {
		for range k {
			q.push(next)
			want = append(want, next)
			next++
		}
		if over := len(want) - 40; over > 0 {
			want = want[over:]
		}
	}
	pop := func(k int) {
		got := q.pop(k)
		k = min(k, len(want))
		if !slices.Equal(got, want[:k]) {
			t.Fatalf("pop(%d) = %v, want %v", k, got, want[:k])
		}
		want = want[k:]
	}
	for _, step := range []struct{ push, pop int }{{10, 3}, {20, 20}, {30, 5}, {100, 7}, {3, 50}, {45, 1}} {
		push(step.push)
		pop(step.pop)
		if q.len() != len(want) {
			t.Fatalf("after %v: len %d, want %d", step, q.len(), len(want))
		}
	}
	q.close()
	if _, _, ok := q.push(1); ok {
		t.Error("push after close")
	}
	for q.pop(7) != nil {
	}
	if !q.done() {
		t.Error("closed and drained, not done")
	}
}

// TestQueueDrops counts exactly what a full queue drops, oldest first.
func TestQueueDrops(t *testing.T) {
	for _, size := range []int{1, 7, 16, 100} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			q := newQueue[int](size, 0, nil)
			for i := range 3 * size {
				q.push(i)
			}
			if q.drops() != uint64(2*size) || q.len() != size {
				t.Fatalf("dropped %d, holds %d", q.drops(), q.len())
			}
			if got := q.pop(size); got[0] != 2*size || got[size-1] != 3*size-1 {
				t.Errorf("kept %v, want the newest %d", got, size)
			}
		})
	}
}

// TestQueueBytes: a queue bounded by bytes drops its oldest to make room,
// reports the last it dropped, and still takes an item larger than the
// bound, alone.
func TestQueueBytes(t *testing.T) {
	q := newQueue(100, 10, func(n int) int { return n })
	for _, n := range []int{3, 3, 3} {
		if dropped, _, _ := q.push(n); dropped != 0 {
			t.Fatalf("push %d dropped %d", n, dropped)
		}
	}
	if dropped, last, _ := q.push(4); dropped != 1 || last != 3 || q.len() != 3 {
		t.Fatalf("push 4: dropped %d (last %d), holds %d; want 1 (3), 3", dropped, last, q.len())
	}
	if dropped, _, _ := q.push(25); dropped != 3 || q.len() != 1 {
		t.Fatalf("push 25: dropped %d, holds %d; want 3, 1", dropped, q.len())
	}
	if got := q.pop(5); !slices.Equal(got, []int{25}) {
		t.Fatalf("pop = %v", got)
	}
	q.push(6)
	q.push(4)
	if dropped, _, _ := q.push(1); dropped != 1 || q.drops() != 5 {
		t.Fatalf("after popping: dropped %d, %d in all", dropped, q.drops())
	}
}
