package subscriptions

import (
	"encoding/json"
	"time"
)

// Subscriber is the subscriber of one event stream, as the hub's
// observers (webhooks) see it: who it is and what it subscribed to. It is
// immutable once its stream has started.
type Subscriber struct {
	ID       string          // a new urn:uuid IRI per stream (see NewSubscriber)
	Topics   []string        // its topic selectors, as sent, without repeats
	User     string          // the sub claim of its token; "" without one
	Payload  json.RawMessage // the mercure.payload claim of its token; nil without one
	ClientIP string          // the client's address (behind a trusted proxy, the forwarded one)
	Since    time.Time       // when its stream started
}
