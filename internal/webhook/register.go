package webhook

import (
	"encoding/json"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/ssehub/ssehub/internal/subscriptions"
)

// On one node the subscribers open at a crash would never be ended: the
// events were in memory. With a Register, the node writes its open
// subscribers down as they come and go; the next start finds those a crash
// left open, and sends subscription.ended (ReasonRestarted) for each, then
// topic.vacated for their topics, before anything else.

// Register keeps records of open subscribers across a crash of the
// process (internal/bolt implements it).
type Register interface {
	// Apply records opened (subscriber id → record) and forgets closed.
	Apply(opened map[string][]byte, closed []string) error
	// Open returns the records applied and not forgotten.
	Open() (map[string][]byte, error)
}

// registerWriter is what a single node has yet to write to its Register:
// opened and closed are d.mu's, the rest its writer goroutine's.
type registerWriter struct {
	reg    Register
	opened map[string]*subscriptions.Subscriber
	closed []string
	ready  chan struct{} // something to write
	warned time.Time
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
	select {
	case w.ready <- struct{}{}:
	default:
	}
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

// runRegister writes what the node notes to its Register until the
// dispatcher stops, then writes what is left.
func (d *Dispatcher) runRegister(w *registerWriter, stop <-chan struct{}) {
	for {
		select {
		case <-w.ready:
			d.writeRegister(w)
		case <-stop:
			d.writeRegister(w)
			return
		}
	}
}

// writeRegister applies what was noted since the last write, in one
// transaction; a failure is logged once a minute and what it held is
// dropped (only a crash's ends depend on it).
func (d *Dispatcher) writeRegister(w *registerWriter) {
	d.mu.Lock()
	opened, closed := w.opened, w.closed
	w.opened, w.closed = map[string]*subscriptions.Subscriber{}, nil
	d.mu.Unlock()
	if len(opened) == 0 && len(closed) == 0 {
		return
	}
	records := make(map[string][]byte, len(opened))
	for id, sub := range opened {
		records[id], _ = json.Marshal(fieldsOf(sub)) // strings, times and raw JSON always encode
	}
	if err := w.reg.Apply(records, closed); err != nil && time.Since(w.warned) > warnEvery {
		w.warned = time.Now()
		d.log.Warn("webhooks: write the open subscribers down; a crash now would leave some never ended", slog.Any("err", err))
	}
}
