// Package webhook tells the application what happens on the hub: it POSTs
// signed batches of events ({"events": [...]}) to one URL, the
// application's, with retries. The events are subscribers starting and
// ending their streams, topics gaining their first subscriber and losing
// their last one (counted over the whole cluster), and, optionally,
// updates published.
//
// Delivery never slows a stream or a publish: events wait in a bounded
// queue whose oldest are dropped, and counted, when it is full; one
// goroutine sends them in order, in batches, retrying with exponential
// backoff and jitter for a configured time. With a Register a single
// node's queue outlives the process (register.go). Delivery is at least once:
// every event has an id, the same at every retry, for the application to
// de-duplicate.
//
// On a cluster the events go through Redis (the Cluster interface, which
// internal/redis implements): the counts are shared there, each node's
// changes are applied atomically with the events they cause, and one node
// at a time, the holder of a lease, sends the cluster's events in order.
// A node that stops renewing its lease is presumed dead and the others end
// its subscribers.
package webhook

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	hook "github.com/ssehub/ssehub/client/webhook"
	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/subscriptions"
)

// The events' types and reasons, as the application's side names them.
const (
	SubscriptionStarted = hook.SubscriptionStarted
	SubscriptionEnded   = hook.SubscriptionEnded
	TopicOccupied       = hook.TopicOccupied
	TopicVacated        = hook.TopicVacated
	UpdatePublished     = hook.UpdatePublished

	ReasonDisconnected = hook.ReasonDisconnected
	ReasonNodeLost     = hook.ReasonNodeLost
	ReasonRestarted    = hook.ReasonRestarted
)

// AllTypes are the types of events, in the order of the documentation.
var AllTypes = []string{SubscriptionStarted, SubscriptionEnded, TopicOccupied, TopicVacated, UpdatePublished}

// DefaultTypes are the events sent unless configured otherwise: all but
// update.published, which the application usually knows of since it
// publishes.
var DefaultTypes = []string{SubscriptionStarted, SubscriptionEnded, TopicOccupied, TopicVacated}

// ParseTypes reads a comma-separated list of event types; "*" or "all"
// is every type.
func ParseTypes(list string) ([]string, error) {
	var out []string
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		switch {
		case t == "":
			continue
		case t == "*" || t == "all":
			return AllTypes, nil
		case !knownType(t):
			return nil, fmt.Errorf("unknown event type %q: the types are %s", t, strings.Join(AllTypes, ", "))
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no event type: give one or more of %s", strings.Join(AllTypes, ", "))
	}
	return out, nil
}

func knownType(t string) bool { return slices.Contains(AllTypes, t) }

// Batch, Event and Update are the requests' bodies, which the
// application decodes with the same types.
type (
	Batch  = hook.Batch
	Event  = hook.Event
	Update = hook.Update
)

// subscriberFields are the fields of a subscription event that describe
// the subscriber: what a cluster stores of it, to end it for its node.
type subscriberFields struct {
	Subscriber string          `json:"subscriber"`
	Topics     []string        `json:"topics"`
	User       string          `json:"user,omitempty"`
	Payload    json.RawMessage `json:"payload,omitempty"`
	ClientIP   string          `json:"client_ip,omitempty"`
	Since      time.Time       `json:"since"`
}

func fieldsOf(s *subscriptions.Subscriber) subscriberFields {
	f := subscriberFields{Subscriber: s.ID, Topics: s.Topics, User: s.User, ClientIP: s.ClientIP, Since: s.Since.UTC()}
	if len(s.Payload) > 0 && string(s.Payload) != "null" {
		f.Payload = s.Payload
	}
	return f
}

// subscriptionEvent is the event of type typ about s.
func subscriptionEvent(id, typ string, at time.Time, s *subscriptions.Subscriber) Event {
	f := fieldsOf(s)
	ev := Event{ID: id, Type: typ, Time: at.UTC(), Subscriber: f.Subscriber, Topics: f.Topics,
		User: f.User, Payload: f.Payload, ClientIP: f.ClientIP, Since: &f.Since}
	if typ == SubscriptionEnded {
		ev.Reason = ReasonDisconnected
	}
	return ev
}

// updateOf is what update.published reports of u.
func updateOf(u *hub.Update) *Update {
	return &Update{ID: u.ID, Topics: u.Topics, Type: u.Type, Private: u.Private, Data: u.Data}
}

// ids numbers the events of one node: a random prefix per process, so
// that ids never repeat across restarts, and a sequence.
type ids struct {
	node   string // the random part, also the node's id in a cluster
	prefix string // "evt_<node>_"
	seq    atomic.Uint64
}

func newIDs() *ids {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	node := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
	return &ids{node: node, prefix: "evt_" + node + "_"}
}

func (g *ids) next() string { return g.prefix + strconv.FormatUint(g.seq.Add(1), 10) }
