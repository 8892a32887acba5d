package llmapi

import (
	"net/http"
	"sync"
	"time"
)

// DefaultKeepAlive is the silence after which an LLM stream (a response's
// or a chat's) sends a comment, when Config.KeepAlive is 0: a model that
// thinks for a minute before its first token must not let a proxy's idle
// timeout cut the stream.
const DefaultKeepAlive = 15 * time.Second

// keepAliveComment is the SSE comment sent on silence; every SSE client
// (EventSource, the openai and AI SDK parsers) skips comments.
var keepAliveComment = []byte(":\n\n")

// keepAlive writes a stream's bytes, each write flushed, and a comment
// whenever the stream has been silent for its interval once it has
// begun. It owns one goroutine, ended by stop.
type keepAlive struct {
	w     http.ResponseWriter
	rc    *http.ResponseController
	every time.Duration

	mu      sync.Mutex
	begun   bool      // the head is written: comments may follow
	wrote   time.Time // the last write
	err     error     // the first write error: the client has left
	stopped chan struct{}
	done    chan struct{}
}

// startKeepAlive returns the keep-alive writer of w, silent until begin.
func startKeepAlive(w http.ResponseWriter, every time.Duration) *keepAlive {
	k := &keepAlive{w: w, rc: http.NewResponseController(w), every: every, stopped: make(chan struct{}), done: make(chan struct{})}
	go k.run()
	return k
}

// begin tells k that the stream's head is written.
func (k *keepAlive) begin() {
	k.mu.Lock()
	k.begun, k.wrote = true, time.Now()
	k.mu.Unlock()
}

// Write writes p and flushes it.
func (k *keepAlive) Write(p []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.write(p)
}

// write writes p and flushes it; k.mu is held.
func (k *keepAlive) write(p []byte) (int, error) {
	if k.err != nil {
		return 0, k.err
	}
	n, err := k.w.Write(p)
	if err == nil {
		err = k.rc.Flush()
	}
	k.err, k.wrote = err, time.Now()
	return n, err
}

// run sends a comment after each interval of silence until stop.
func (k *keepAlive) run() {
	defer close(k.done)
	t := time.NewTimer(k.every)
	defer t.Stop()
	for {
		select {
		case <-k.stopped:
			return
		case <-t.C:
		}
		k.mu.Lock()
		idle := time.Since(k.wrote)
		if k.begun && idle >= k.every {
			_, _ = k.write(keepAliveComment)
			idle = 0
		}
		k.mu.Unlock()
		t.Reset(k.every - idle)
	}
}

// stop ends the comments; the handler may go on writing to w itself.
func (k *keepAlive) stop() {
	close(k.stopped)
	<-k.done
}
