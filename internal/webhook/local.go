package webhook

import (
	"log/slog"
	"time"

	"github.com/ssehub/ssehub/internal/subscriptions"
)

// On one node the dispatcher counts the subscribers of each topic
// selector in memory and sends its own events.

// local records, on one node, that s started or ended and queues the
// events: the subscriber's, then those of the topics it occupies or
// vacates, all under d.mu so that they are queued in the order the
// changes happened.
func (d *Dispatcher) local(s *subscriptions.Subscriber, started bool) {
	now := d.cfg.Now()
	// A start adds one to the count of each of its topics and occupies
	// those whose count becomes 1; an end takes one off and vacates those
	// whose count becomes 0.
	typ, delta, edge, topicType := SubscriptionStarted, 1, 1, TopicOccupied
	if !started {
		typ, delta, edge, topicType = SubscriptionEnded, -1, 0, TopicVacated
	}
	d.mu.Lock()
	evs := make([]Event, 0, 1+len(s.Topics))
	if d.types[typ] {
		evs = append(evs, subscriptionEvent(d.ids.next(), typ, now, s))
	}
	if d.topics {
		for _, t := range s.Topics {
			n := d.counts[t] + delta
			if n == 0 {
				delete(d.counts, t)
			} else {
				d.counts[t] = n
			}
			if n == edge && d.types[topicType] {
				evs = append(evs, Event{ID: d.ids.next(), Type: topicType, Time: now.UTC(), Topic: t})
			}
		}
	}
	if d.reg != nil {
		d.reg.note(s, started)
	}
	n := d.enqueue(evs)
	d.mu.Unlock()
	d.dropped(n, "events")
}

// enqueue queues events to send, dropping the oldest when the queue is
// full, and returns how many it dropped; called with d.mu held, so that
// the events are queued in the order things happened. With a Register
// the events are numbered and written down until sent.
func (d *Dispatcher) enqueue(evs []Event) int {
	if len(evs) == 0 {
		return 0
	}
	items := make([]queued, len(evs))
	for i, ev := range evs {
		d.lastKey++
		items[i] = queued{ev: ev, key: d.lastKey}
	}
	if d.reg != nil {
		d.reg.queue(items)
	}
	n, last, _ := d.events.push(items...)
	if n > 0 && d.reg != nil {
		d.reg.forget(last.key) // the dropped are not kept either
	}
	return n
}

// queued is an event in a single node's queue, numbered in the order of
// the queue (as its Register keeps it until sent).
type queued struct {
	ev  Event
	key uint64
}

func queuedSize(q queued) int { return eventSize(q.ev) }

// dropped logs, once per warnEvery, that a queue dropped its n oldest;
// it is called without d.mu held.
func (d *Dispatcher) dropped(n int, what string) {
	if n == 0 {
		return
	}
	d.dropMu.Lock()
	d.dropSince += n
	since, now := d.dropSince, time.Now()
	if now.Sub(d.dropWarned) < warnEvery {
		d.dropMu.Unlock()
		return
	}
	d.dropWarned, d.dropSince = now, 0
	d.dropMu.Unlock()
	d.log.Warn("webhook queue full: the oldest "+what+" were dropped (the application is down or too slow; see ssehub_webhook_events_dropped_total)",
		slog.Int("dropped_since_last_warning", since), slog.Int("queue_size", d.cfg.QueueSize), slog.String("url", d.out.post.shown))
}

// runLocal sends the queued events of a single node, in order, until the
// queue is closed and empty or the dispatcher is cancelled.
func (d *Dispatcher) runLocal() {
	var carry []Event
	var keys []uint64 // carry's keys
	for {
		if len(carry) == 0 {
			carry, keys = unzip(d.events.pop(MaxBatchEvents))
		}
		if len(carry) == 0 {
			if d.events.done() {
				return
			}
			select {
			case <-d.events.ready:
			case <-d.ctx.Done():
				return
			}
			continue
		}
		body, n := encode(carry)
		if d.out.send(d.ctx, body, n, nil, 0) == abandoned {
			d.lost.Add(int64(len(carry)))
			return
		}
		if d.reg != nil {
			d.reg.forget(keys[n-1]) // sent, or given up after RetryFor
		}
		carry, keys = carry[n:], keys[n:]
	}
}

// unzip splits queued events into the events and their keys.
func unzip(qs []queued) ([]Event, []uint64) {
	evs, keys := make([]Event, len(qs)), make([]uint64, len(qs))
	for i, q := range qs {
		evs[i], keys[i] = q.ev, q.key
	}
	return evs, keys
}
