package webhook

import (
	"encoding/json"
	"time"
)

// Types of events.
const (
	SubscriptionStarted = "subscription.started" // a subscriber's stream started
	SubscriptionEnded   = "subscription.ended"   // a subscriber's stream ended
	TopicOccupied       = "topic.occupied"       // a topic selector got its first subscriber in the cluster
	TopicVacated        = "topic.vacated"        // a topic selector lost its last subscriber in the cluster
	UpdatePublished     = "update.published"     // an update was published through the publish endpoint
)

// Reasons a subscription ended, in subscription.ended's reason.
const (
	ReasonDisconnected = "disconnected"   // its stream ended on its node: the client left, the token expired, the hub shut down
	ReasonNodeLost     = "node_lost"      // its node stopped answering in the cluster (crashed, or cut off from Redis)
	ReasonRestarted    = "node_restarted" // its node (a single node with a data directory) crashed, and this is its next start
)

// MaxBodyBytes is the largest body the hub sends, unless one event alone
// is larger (a subscriber's token payload may be).
const MaxBodyBytes = 1 << 20

// Batch is the body of every request: one or more events, oldest first.
type Batch struct {
	Events []Event `json:"events"`
}

// Event is one thing that happened on the hub. ID, Type and Time are
// always set; the other fields depend on the type.
type Event struct {
	ID   string    `json:"id"`   // unique, and the same at every retry: de-duplicate by it
	Type string    `json:"type"` // one of the constants above
	Time time.Time `json:"time"` // when it happened

	// subscription.started and subscription.ended: the subscriber.
	Subscriber string          `json:"subscriber,omitempty"` // its id, an urn:uuid IRI (the same as -subscriptions')
	Topics     []string        `json:"topics,omitempty"`     // its topic selectors
	User       string          `json:"user,omitempty"`       // its token's sub claim
	Payload    json.RawMessage `json:"payload,omitempty"`    // its token's mercure.payload claim
	ClientIP   string          `json:"client_ip,omitempty"`  // its address
	Since      *time.Time      `json:"since,omitempty"`      // when its stream started
	Reason     string          `json:"reason,omitempty"`     // subscription.ended: ReasonDisconnected, ReasonNodeLost or ReasonRestarted

	// topic.occupied and topic.vacated: the topic selector.
	Topic string `json:"topic,omitempty"`

	// update.published: the update.
	Update *Update `json:"update,omitempty"`
}

// Update is a published update, as update.published reports it.
type Update struct {
	ID      string   `json:"id"`
	Topics  []string `json:"topics"`
	Type    string   `json:"type,omitempty"`
	Private bool     `json:"private,omitempty"`
	Data    string   `json:"data"`
}
