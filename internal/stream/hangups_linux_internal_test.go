//go:build linux && !portable

package stream

import (
	"bytes"
	"runtime/pprof"
	"strings"
	"testing"
	"time"
)

// TestWatcherWaitsInThePoller: an idle hangup watcher is parked in the
// runtime's poller ("IO wait"), not in an epoll_wait system call holding a
// thread ("syscall").
func TestWatcherWaitsInThePoller(t *testing.T) {
	var h hangups
	h.run(nil)
	defer h.close()
	if h.ep == nil {
		t.Fatal("the epoll instance is not in the runtime's poller")
	}
	var state string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if state = watcherState(); state == "IO wait" {
			return
		}
	}
	t.Fatalf("the idle watcher's goroutine is in %q, want \"IO wait\"", state)
}

// watcherState returns the state of the watcher's goroutine, from a dump
// of every goroutine ("goroutine 7 [IO wait]:").
func watcherState() string {
	var b bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&b, 2)
	for _, g := range strings.Split(b.String(), "\n\n") {
		if strings.Contains(g, ".watchAll(") {
			head, _, _ := strings.Cut(g, "\n")
			_, state, _ := strings.Cut(head, "[")
			state, _, _ = strings.Cut(state, "]")
			state, _, _ = strings.Cut(state, ",") // "IO wait, 2 minutes"
			return state
		}
	}
	return "not found"
}
