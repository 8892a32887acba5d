package bolt_test

import (
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/bolt"
	"github.com/ssehub/ssehub/internal/history/historytest"
	"github.com/ssehub/ssehub/internal/hub"
)

// lazy is a lazy update (hub.Update.Lazy), as a generation's token event.
func lazy(seq uint64, data string) *hub.Update {
	u := historytest.Update(seq, data, "t")
	u.Lazy = true
	return u
}

// waitDurable runs durable and returns a channel of its result.
func waitDurable(durable func() error) <-chan error {
	done := make(chan error, 1)
	go func() { done <- durable() }()
	return done
}

// TestLazyWaitsForTheNextUpdate holds lazy updates for as long as nothing
// else comes (LazyHold far longer than the test), readable at once, and
// commits them with the next update that is not lazy.
func TestLazyWaitsForTheNextUpdate(t *testing.T) {
	s := open(t, bolt.Config{LazyHold: time.Hour})
	first := waitDurable(stageWithin(t, s, lazy(1, "a")))
	second := waitDurable(stageWithin(t, s, lazy(2, "b")))
	if got := historytest.IDs(t, s, hub.Query{Upto: 9}); got != "id1,id2" {
		t.Fatalf("held lazy updates read %q", got)
	}
	select {
	case err := <-first:
		t.Fatalf("a lazy update was committed (%v) with nothing else to commit", err)
	case err := <-second:
		t.Fatalf("a lazy update was committed (%v) with nothing else to commit", err)
	case <-time.After(200 * time.Millisecond):
	}

	historytest.Append(t, s, historytest.Update(3, "c", "u")) // not lazy: commits at once, with them
	for _, done := range []<-chan error{first, second} {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the lazy updates stayed held after an update that is not lazy")
		}
	}
}

// TestLazyCommittedAfterLazyHold commits a lazy update alone once it has
// waited LazyHold, and one held at Close before the store closes.
func TestLazyCommittedAfterLazyHold(t *testing.T) {
	dir := t.TempDir()
	s := open(t, bolt.Config{Dir: dir, LazyHold: 50 * time.Millisecond})
	start := time.Now()
	if err := <-waitDurable(stageWithin(t, s, lazy(1, "a"))); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 50*time.Millisecond {
		t.Fatalf("a lazy update alone was committed after %v, before LazyHold", took)
	}

	dir = t.TempDir()
	s = open(t, bolt.Config{Dir: dir, LazyHold: time.Hour})
	held := waitDurable(stageWithin(t, s, lazy(1, "a")))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-held; err != nil {
		t.Fatalf("a lazy update held at Close: %v", err)
	}
	if got := historytest.IDs(t, open(t, bolt.Config{Dir: dir}), hub.Query{Upto: 9}); got != "id1" {
		t.Fatalf("after a Close that held a lazy update, the store reads %q", got)
	}
}
