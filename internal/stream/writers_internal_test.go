package stream

import (
	"testing"
	"time"
)

// TestWriterPoolQueue: pushes are refused before the pool starts; taken in
// order, at most a buffer at a time; a writer waiting for streams is woken
// by a push, and by close, after which the queue is drained and then
// nothing more is taken or accepted.
func TestWriterPoolQueue(t *testing.T) {
	var p writerPool
	s := make([]*leanStream, 5)
	for i := range s {
		s[i] = new(leanStream)
	}
	if p.push(s[0]) {
		t.Fatal("push accepted before the writers started")
	}
	p.start.Do(func() {}) // started without writers: the test takes itself
	p.started, p.wakeup = true, make(chan struct{}, 1)
	for _, x := range s[:3] {
		if !p.push(x) {
			t.Fatal("push refused")
		}
	}
	buf := make([]*leanStream, 2)
	if got := p.take(buf); len(got) != 2 || got[0] != s[0] || got[1] != s[1] {
		t.Fatalf("first take %v, want the first two", got)
	}
	if got := p.take(buf); len(got) != 1 || got[0] != s[2] {
		t.Fatalf("second take %v, want the third", got)
	}

	taken := make(chan []*leanStream)
	go func() { taken <- p.take(make([]*leanStream, 2)) }()
	waitIdle(t, &p)
	p.push(s[3])
	if got := <-taken; len(got) != 1 || got[0] != s[3] {
		t.Fatalf("a waiting writer took %v, want the pushed stream", got)
	}

	p.push(s[4])
	go func() { taken <- p.take(make([]*leanStream, 2)); taken <- p.take(make([]*leanStream, 2)) }()
	if got := <-taken; len(got) != 1 || got[0] != s[4] {
		t.Fatalf("take %v, want the last stream", got)
	}
	waitIdle(t, &p)
	p.close()
	if got := <-taken; got != nil {
		t.Fatalf("take after close: %v, want nil", got)
	}
	if p.push(s[0]) {
		t.Fatal("push accepted after close")
	}
}

// waitIdle waits until a writer waits for streams.
func waitIdle(t *testing.T, p *writerPool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		p.mu.Lock()
		idle := p.idle
		p.mu.Unlock()
		if idle > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no writer waiting after 5s")
		}
	}
}
