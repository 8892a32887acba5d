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
// begun. It holds a timer, not a goroutine (a stream waiting for its model
// holds no stack for it), stopped by stop.
type keepAlive struct {
	w     http.ResponseWriter
	rc    *http.ResponseController
	every time.Duration

	mu      sync.Mutex
	begun   bool      // the head is written: comments may follow
	stopped bool      // no more comments, and no write from the timer
	wrote   time.Time // the last write
	err     error     // the first write error: the client has left
	timer   *time.Timer
}

// startKeepAlive returns the keep-alive writer of w, silent until begin.
func startKeepAlive(w http.ResponseWriter, every time.Duration) *keepAlive {
	k := &keepAlive{w: w, rc: http.NewResponseController(w), every: every, wrote: time.Now()}
	k.mu.Lock()
	k.timer = time.AfterFunc(every, k.beat)
	k.mu.Unlock()
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

// beat sends a comment after an interval of silence, and sets the timer
// for the end of the next one.
func (k *keepAlive) beat() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped || k.err != nil {
		return
	}
	next := k.every // before the head, look again an interval later
	if idle := time.Since(k.wrote); k.begun && idle >= k.every {
		_, _ = k.write(keepAliveComment)
	} else if k.begun {
		next = k.every - idle
	}
	k.timer.Reset(next)
}

// stop ends the comments: once it returns, the timer writes no more and
// the handler may go on writing to w itself.
func (k *keepAlive) stop() {
	k.mu.Lock()
	k.stopped = true
	k.timer.Stop()
	k.mu.Unlock()
}
