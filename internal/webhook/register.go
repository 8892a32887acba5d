package webhook

import (
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"sync/atomic"
	"time"

	"github.com/ssehub/ssehub/internal/subscriptions"
)

// On one node the events wait in memory: a crash would lose those not yet
// sent, and never end the subscribers open. With a Register, the node
// writes down its queued events and its open subscribers as they come and
// go (in batches, off the streams' paths). The next start sends first the
// events the last run did not send (a crash, or a shutdown while the
// application was down), under their ids, then finds the subscribers a
// crash left open and sends subscription.ended (ReasonRestarted) for each,
// then topic.vacated for their topics, before anything else.

// Register keeps records of open subscribers and of queued events across
// a crash of the process (internal/bolt implements it).
type Register interface {
	// Apply records opened (subscriber id → record) and forgets closed.
	Apply(opened map[string][]byte, closed []string) error
	// Open returns the records applied and not forgotten.
	Open() (map[string][]byte, error)
	// Queue records events under their keys (each one more than the
	// last), forgets those with keys up to sent, and keeps no more than
	// keep of the newest.
	Queue(keys []uint64, records [][]byte, sent uint64, keep int) error
	// Queued returns the events' records queued and not forgotten,
	// oldest first.
	Queued() (keys []uint64, records [][]byte, err error)
}

// registerWriter is what a single node has yet to write to its Register:
// opened, closed and events are d.mu's, sent is atomic, the rest its
// writer goroutine's.
type registerWriter struct {
	reg     Register
	opened  map[string]*subscriptions.Subscriber
	closed  []string
	events  []queued
	sent    atomic.Uint64 // the key of the last event sent, given up or dropped
	written uint64        // the last sent key written down
	ready   chan struct{} // something to write
	warned  time.Time
}

func newRegisterWriter(reg Register) *registerWriter {
	return &registerWriter{reg: reg, opened: map[string]*subscriptions.Subscriber{}, ready: make(chan struct{}, 1)}
}

// note records that s started or ended, for the writer to encode and
// write off the stream's path; called with d.mu held.
func (w *registerWriter) note(s *subscriptions.Subscriber, started bool) {
	if started {
		w.opened[s.ID] = s
	} else if _, pending := w.opened[s.ID]; pending {
		delete(w.opened, s.ID)
	} else {
		w.closed = append(w.closed, s.ID)
	}
	w.wake()
}

// queue records events queued to send; called with d.mu held.
func (w *registerWriter) queue(evs []queued) {
	w.events = append(w.events, evs...)
	w.wake()
}

// forget records that the events up to key were sent, given up or
// dropped: the register need not keep them.
func (w *registerWriter) forget(key uint64) {
	for {
		old := w.sent.Load()
		if key <= old || w.sent.CompareAndSwap(old, key) {
			break
		}
	}
	w.wake()
}

func (w *registerWriter) wake() {
	select {
	case w.ready <- struct{}{}:
	default:
	}
}

// restore returns the events the last run queued and did not send, under
// their keys, and the last key.
func (d *Dispatcher) restore(w *registerWriter) ([]queued, uint64) {
	keys, recs, err := w.reg.Queued()
	if err != nil {
		d.log.Error("webhooks: read the events the last run did not send; they are lost", slog.Any("err", err))
		return nil, 0
	}
	evs := make([]queued, 0, len(keys))
	for i, rec := range recs {
		var ev Event
		if json.Unmarshal(rec, &ev) == nil {
			evs = append(evs, queued{ev: ev, key: keys[i]})
		}
	}
	if len(keys) == 0 {
		return nil, 0
	}
	d.log.Warn("webhooks: sending first the events the last run did not send", slog.Int("events", len(evs)),
		slog.Int("unreadable", len(keys)-len(evs)))
	return evs, keys[len(keys)-1]
}

// endLeftOpen returns the events that end what the last process left
// open: subscription.ended for each subscriber, oldest first, then
// topic.vacated for each of their topics, and forgets them.
func (d *Dispatcher) endLeftOpen(w *registerWriter) []Event {
	left, err := w.reg.Open()
	if err != nil {
		d.log.Error("webhooks: read the subscribers the last run left open; they are not ended", slog.Any("err", err))
		return nil
	}
	subs := make([]subscriberFields, 0, len(left))
	for id, rec := range left {
		var f subscriberFields
		if json.Unmarshal(rec, &f) == nil && f.Subscriber == id {
			subs = append(subs, f)
		}
	}
	slices.SortFunc(subs, func(a, b subscriberFields) int { return a.Since.Compare(b.Since) })
	now := d.cfg.Now().UTC()
	var evs []Event
	var topics []string
	seen := map[string]bool{}
	for _, f := range subs {
		if d.types[SubscriptionEnded] {
			since := f.Since
			evs = append(evs, Event{ID: d.ids.next(), Type: SubscriptionEnded, Time: now, Subscriber: f.Subscriber, Topics: f.Topics,
				User: f.User, Payload: f.Payload, ClientIP: f.ClientIP, Since: &since, Reason: ReasonRestarted})
		}
		for _, t := range f.Topics {
			if !seen[t] {
				seen[t] = true
				topics = append(topics, t)
			}
		}
	}
	if d.types[TopicVacated] {
		for _, t := range topics {
			evs = append(evs, Event{ID: d.ids.next(), Type: TopicVacated, Time: now, Topic: t})
		}
	}
	if err := w.reg.Apply(nil, slices.Collect(maps.Keys(left))); err != nil {
		d.log.Error("webhooks: forget the subscribers the last run left open", slog.Any("err", err))
	}
	if len(subs) > 0 {
		d.log.Warn("webhooks: the last run ended without ending its subscribers (a crash); sending their ends",
			slog.Int("subscribers", len(subs)), slog.Int("topics", len(topics)))
	}
	return evs
}

// registerGather is how long the register's writer lets changes gather
// before it writes them: events sent meanwhile (an application that
// answers) are never written, a subscriber that came and went is written
// neither way, and a crash loses at most this much.
const registerGather = 50 * time.Millisecond

// runRegister writes what the node notes to its Register until the
// dispatcher stops, then writes what is left.
func (d *Dispatcher) runRegister(w *registerWriter, stop <-chan struct{}) {
	t := time.NewTimer(registerGather)
	defer t.Stop()
	for {
		select {
		case <-w.ready:
		case <-stop:
			d.writeRegister(w)
			return
		}
		t.Reset(registerGather)
		select {
		case <-t.C:
			d.writeRegister(w)
		case <-stop:
			d.writeRegister(w)
			return
		}
	}
}

// writeRegister writes what was noted since the last write; a failure is
// logged once a minute and what it held is dropped (only what a crash
// leaves depends on it).
func (d *Dispatcher) writeRegister(w *registerWriter) {
	d.mu.Lock()
	opened, closed, evs := w.opened, w.closed, w.events
	w.opened, w.closed, w.events = map[string]*subscriptions.Subscriber{}, nil, nil
	d.mu.Unlock()
	var err error
	if len(opened) > 0 || len(closed) > 0 {
		records := make(map[string][]byte, len(opened))
		for id, sub := range opened {
			records[id], _ = json.Marshal(fieldsOf(sub)) // strings, times and raw JSON always encode
		}
		err = w.reg.Apply(records, closed)
	}
	if sent := w.sent.Load(); len(evs) > 0 || sent > w.written {
		// Those sent, given up or dropped from the full queue (all noted
		// in sent, under d.mu, before the events were taken) are not written.
		var keys []uint64
		var records [][]byte
		for _, q := range evs {
			if q.key > sent {
				rec, _ := json.Marshal(q.ev) // as above
				keys, records = append(keys, q.key), append(records, rec)
			}
		}
		err = errors.Join(err, w.reg.Queue(keys, records, sent, d.cfg.QueueSize))
		w.written = sent
	}
	if err != nil && time.Since(w.warned) > warnEvery {
		w.warned = time.Now()
		d.log.Warn("webhooks: write the queue and the open subscribers down; a crash now would lose some events", slog.Any("err", err))
	}
}
