package subscriptions

import (
	"encoding/json"
	"fmt"

	"github.com/ssehub/ssehub/internal/topic"
)

// Doc is the document of a subscription: the data of the updates
// announcing it and an item of the web API's answers. The classic form is
// JSON-LD with a topic; Mercure 1.0's is plain JSON with match and
// match_type.
type Doc struct {
	Context    string          `json:"@context,omitempty"`
	ID         string          `json:"id"`
	Type       string          `json:"type"` // "Subscription"; "subscription" in 1.0
	Topic      string          `json:"topic,omitempty"`
	MatchType  topic.Type      `json:"match_type,omitempty"`
	Match      string          `json:"match,omitempty"`
	Subscriber string          `json:"subscriber"`
	Active     bool            `json:"active"`
	Payload    json.RawMessage `json:"payload,omitempty"`
	// LastEventID is set on the web API's answer for one subscription.
	LastEventID string `json:"lastEventID,omitempty"`
}

// Doc returns s's document; active tells whether s is still active.
func (s Subscription) Doc(active bool) Doc {
	d := Doc{ID: s.ID(), Type: "Subscription", Topic: s.Topic, Subscriber: s.Subscriber, Active: active}
	if s.Modern() {
		d.Type, d.Topic, d.MatchType, d.Match = "subscription", "", s.MatchType, s.Topic
	}
	if len(s.Payload) > 0 && string(s.Payload) != "null" {
		d.Payload = s.Payload
	}
	return d
}

// Update returns the data of the update that announces s becoming active
// or ending: its document, with the @context in the classic form.
func (s Subscription) Update(active bool) (string, error) {
	d := s.Doc(active)
	if !s.Modern() {
		d.Context = Context
	}
	b, err := json.Marshal(d)
	if err != nil {
		return "", fmt.Errorf("subscription document: %w", err)
	}
	return string(b), nil
}

// Collection is the web API's answer listing subscriptions.
type Collection struct {
	Context       string `json:"@context"`
	ID            string `json:"id"`   // the path that was asked for
	Type          string `json:"type"` // always "Subscriptions"
	LastEventID   string `json:"lastEventID"`
	Subscriptions []Doc  `json:"subscriptions"`
}

// NewCollection returns the collection at path of subs, all active, as of
// the update lastEventID.
func NewCollection(path, lastEventID string, subs []Subscription) Collection {
	docs := make([]Doc, len(subs))
	for i, s := range subs {
		docs[i] = s.Doc(true)
	}
	return Collection{Context: Context, ID: path, Type: "Subscriptions", LastEventID: lastEventID, Subscriptions: docs}
}

// ModernCollection is the web API's answer listing subscriptions in
// Mercure 1.0 form: plain JSON, the cursor in the Link header.
type ModernCollection struct {
	ID            string `json:"id"`   // the path that was asked for
	Type          string `json:"type"` // always "subscriptions"
	Subscriptions []Doc  `json:"subscriptions"`
}

// NewModernCollection returns the 1.0 collection at path of subs, all
// active.
func NewModernCollection(path string, subs []Subscription) ModernCollection {
	docs := make([]Doc, len(subs))
	for i, s := range subs {
		docs[i] = s.Doc(true)
	}
	return ModernCollection{ID: path, Type: "subscriptions", Subscriptions: docs}
}
