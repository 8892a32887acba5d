package llm

import (
	"context"
	"strings"
	"sync"
	"time"
)

// DefaultMaxPending bounds the text of a generation waiting to be
// published, in bytes: past it the model waits for the publisher.
const DefaultMaxPending = 32 << 10

// pending is a generation's text that the model emitted and that is not
// yet published. The model appends whole tokens; the publisher loop takes
// all of them at once, so that when a publish is slow the next event
// carries every token that arrived meanwhile. Tokens are never split, so
// neither is a character.
type pending struct {
	limit int // bytes; one token larger than it is still taken alone

	mu     sync.Mutex
	text   strings.Builder
	tokens int
	since  time.Time // when the oldest pending token was emitted
	closed bool      // the model has returned
	err    error     // the publish failure that ended the loop

	ready chan struct{} // a token to take, or closed
	room  chan struct{} // the publisher took the text, or failed
}

func newPending(limit int) *pending {
	return &pending{limit: limit, ready: make(chan struct{}, 1), room: make(chan struct{}, 1)}
}

// signal wakes the waiter on c, if any, without blocking.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// add appends a token, waiting while the pending text is full; it returns
// the publisher's error once a publish failed.
func (p *pending) add(ctx context.Context, delta string) error {
	for {
		p.mu.Lock()
		if p.err != nil {
			p.mu.Unlock()
			return p.err
		}
		if p.tokens == 0 || p.text.Len()+len(delta) <= p.limit {
			if p.tokens == 0 {
				p.since = time.Now()
			}
			p.text.WriteString(delta)
			p.tokens++
			p.mu.Unlock()
			signal(p.ready)
			return nil
		}
		p.mu.Unlock()
		select {
		case <-p.room:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// take waits for pending tokens and takes them all: their text, how many
// and when the oldest was emitted. It returns ok false once the model has
// returned and nothing is left.
func (p *pending) take() (text string, n int, since time.Time, ok bool) {
	for {
		p.mu.Lock()
		if p.tokens > 0 {
			text, n, since = p.text.String(), p.tokens, p.since
			p.text = strings.Builder{}
			p.tokens = 0
			p.mu.Unlock()
			signal(p.room)
			return text, n, since, true
		}
		if p.closed {
			p.mu.Unlock()
			return "", 0, time.Time{}, false
		}
		p.mu.Unlock()
		<-p.ready
	}
}

// close tells the publisher the model has returned: it takes what is left
// and ends.
func (p *pending) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	signal(p.ready)
}

// fail records a publish failure, which the model gets from its next add.
func (p *pending) fail(err error) {
	p.mu.Lock()
	p.err = err
	p.mu.Unlock()
	signal(p.room)
}

// failure returns the publish failure, if any.
func (p *pending) failure() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}
