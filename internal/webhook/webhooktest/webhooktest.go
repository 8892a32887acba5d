// Package webhooktest is an application receiving the hub's webhooks, for
// tests: a real HTTP server on loopback that verifies every request's
// signature, de-duplicates the events by id as an application should,
// and lets a test wait for what it expects. It can be taken down and
// brought back up on the same address.
package webhooktest

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	hook "github.com/ssehub/ssehub/client/webhook"
	"github.com/ssehub/ssehub/internal/webhook"
)

// Receiver is the test's application.
type Receiver struct {
	URL    string // where the hub posts
	secret []byte
	addr   string

	mu       sync.Mutex
	srv      *http.Server
	events   []webhook.Event // distinct, in the order received
	seen     map[string]bool
	requests int // requests answered 2xx
	dups     int // events received again
	bad      []string
	failing  int // answer this status instead of 204 when not 0
	changed  chan struct{}
}

// Start runs a receiver verifying signatures with secret, until the test
// ends.
func Start(t testing.TB, secret []byte) *Receiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &Receiver{secret: secret, addr: ln.Addr().String(), seen: map[string]bool{}, changed: make(chan struct{})}
	r.URL = "http://" + r.addr + "/webhook"
	r.serve(ln)
	t.Cleanup(r.Down)
	return r
}

func (r *Receiver) serve(ln net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(r.handle), ReadHeaderTimeout: 5 * time.Second}
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
	go func() { _ = srv.Serve(ln) }() // ends with Down
}

// Down stops the receiver: connections are refused until Up.
func (r *Receiver) Down() {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// Up serves again on the same address.
func (r *Receiver) Up(t testing.TB) {
	t.Helper()
	ln, err := net.Listen("tcp", r.addr)
	if err != nil {
		t.Fatalf("receiver back on %s: %v", r.addr, err)
	}
	r.serve(ln)
}

// Fail makes the receiver answer status to every request (0: accept
// again), as an application that misbehaves.
func (r *Receiver) Fail(status int) {
	r.mu.Lock()
	r.failing = status
	r.mu.Unlock()
}

func (r *Receiver) handle(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failing != 0 {
		http.Error(w, "failing on purpose", r.failing)
		return
	}
	sig := req.Header.Get(hook.SignatureHeader)
	if err := hook.Verify(r.secret, body, sig, time.Now(), hook.DefaultTolerance); err != nil {
		r.bad = append(r.bad, err.Error())
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var b webhook.Batch
	if err := json.Unmarshal(body, &b); err != nil || len(b.Events) == 0 || req.Header.Get("Content-Type") != "application/json" {
		r.bad = append(r.bad, fmt.Sprintf("body %q (%s): %v", body, req.Header.Get("Content-Type"), err))
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	for _, ev := range b.Events {
		if r.seen[ev.ID] {
			r.dups++
			continue
		}
		r.seen[ev.ID] = true
		r.events = append(r.events, ev)
	}
	r.requests++
	close(r.changed)
	r.changed = make(chan struct{})
	w.WriteHeader(http.StatusNoContent)
}

// Events returns the distinct events received so far, in order.
func (r *Receiver) Events() []webhook.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// Counts returns the requests accepted, the events received more than
// once, and the requests refused for their signature or body.
func (r *Receiver) Counts() (requests, dups int, bad []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests, r.dups, slices.Clone(r.bad)
}

// Wait waits until done accepts the events received, failing the test
// after timeout with what it has.
func (r *Receiver) Wait(t testing.TB, timeout time.Duration, what string, done func([]webhook.Event) bool) []webhook.Event {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		evs, changed := slices.Clone(r.events), r.changed
		r.mu.Unlock()
		if done(evs) {
			return evs
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("webhooks: no %s within %v; received %d events:\n%s", what, timeout, len(evs), Dump(evs))
			return nil
		}
	}
}

// Count returns the number of events of type typ in evs.
func Count(evs []webhook.Event, typ string) int {
	n := 0
	for _, ev := range evs {
		if ev.Type == typ {
			n++
		}
	}
	return n
}

// Dump lists events one per line, for failure messages.
func Dump(evs []webhook.Event) string {
	var b strings.Builder
	for _, ev := range evs {
		fmt.Fprintf(&b, "  %s %s", ev.ID, ev.Type)
		if ev.Subscriber != "" {
			fmt.Fprintf(&b, " %s %q", ev.Subscriber, ev.Topics)
		}
		if ev.Topic != "" {
			fmt.Fprintf(&b, " %q", ev.Topic)
		}
		if ev.Reason != "" {
			fmt.Fprintf(&b, " (%s)", ev.Reason)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// Presence is what the events say: the subscribers started and not ended,
// and the topics occupied and not vacated.
type Presence struct {
	Subscribers map[string]webhook.Event // by id: the started event
	Topics      map[string]bool
	Ended       map[string]webhook.Event // by subscriber: the ended event
}

// Replay applies events in order, checking what an application relies
// on: per subscriber, a start then at most one end (a subscriber of a node
// presumed lost and back may start again after its end); per topic,
// occupied and vacated alternating, starting with occupied.
func Replay(evs []webhook.Event) (Presence, error) {
	p := Presence{Subscribers: map[string]webhook.Event{}, Topics: map[string]bool{}, Ended: map[string]webhook.Event{}}
	for _, ev := range evs {
		switch ev.Type {
		case webhook.SubscriptionStarted:
			if _, live := p.Subscribers[ev.Subscriber]; live {
				return p, fmt.Errorf("%s: %s started twice", ev.ID, ev.Subscriber)
			}
			p.Subscribers[ev.Subscriber] = ev
			delete(p.Ended, ev.Subscriber)
		case webhook.SubscriptionEnded:
			if _, live := p.Subscribers[ev.Subscriber]; !live {
				return p, fmt.Errorf("%s: %s ended without being started", ev.ID, ev.Subscriber)
			}
			delete(p.Subscribers, ev.Subscriber)
			p.Ended[ev.Subscriber] = ev
		case webhook.TopicOccupied, webhook.TopicVacated:
			occupied := ev.Type == webhook.TopicOccupied
			if p.Topics[ev.Topic] == occupied {
				return p, fmt.Errorf("%s: %s %q while it already was (occupied and vacated must alternate)", ev.ID, ev.Type, ev.Topic)
			}
			if occupied {
				p.Topics[ev.Topic] = true
			} else {
				delete(p.Topics, ev.Topic)
			}
		}
	}
	return p, nil
}
