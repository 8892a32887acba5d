// Package subscriptions keeps the hub's active subscriptions, for the
// Mercure protocol's optional "active subscriptions" feature: each
// subscription's topic selector, subscriber and JWT payload, the topic of
// the update announcing it, and the JSON-LD documents that describe it. It
// knows nothing of HTTP or of how updates are published.
package subscriptions

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/ssehub/ssehub/internal/topic"
)

// Prefix is the path of the subscriptions web API, and the start of every
// subscription update's topic.
const Prefix = "/.well-known/mercure/subscriptions"

// Context is the fixed JSON-LD @context of the documents.
const Context = "https://mercure.rocks/"

// Reserved reports whether topic is in the namespace of the subscription
// updates, which only the hub publishes.
func Reserved(topic string) bool {
	return topic == Prefix || strings.HasPrefix(topic, Prefix+"/")
}

// Subscription is one topic selector of one subscriber: a stream with
// several topics is several subscriptions of the same subscriber.
type Subscription struct {
	Topic      string          // the topic selector, as the subscriber sent it (its match in 1.0)
	Subscriber string          // the subscriber's identifier, an urn:uuid IRI
	Payload    json.RawMessage // mercure.payload of the subscriber's token; nil for none
	// MatchType is the matcher type of a Mercure 1.0 subscription (match=,
	// match_urlpattern=); topic.Classic (topic=) for the classic form.
	MatchType topic.Type `json:",omitempty"`
}

// Modern reports whether s is in Mercure 1.0 form: a subscription with a
// matcher type (match=, match_urlpattern=), not a classic topic=.
func (s Subscription) Modern() bool { return s.MatchType != topic.Classic }

// ID is the subscription's identifier: the topic of the updates announcing
// it and the path of its document in the web API,
// Prefix/{topic}/{subscriber} in the classic form,
// Prefix/{match_type}/{match}/{subscriber} in Mercure 1.0's, every
// variable percent-encoded once as an RFC 6570 expansion does.
func (s Subscription) ID() string {
	if s.Modern() {
		return MatcherPath(s.MatchType, s.Topic) + "/" + Escape(s.Subscriber)
	}
	return Prefix + "/" + Escape(s.Topic) + "/" + Escape(s.Subscriber)
}

// MatcherPath is the path of the collection of the Mercure 1.0
// subscriptions to one matcher: Prefix/{match_type}/{match}.
func MatcherPath(typ topic.Type, match string) string {
	return Prefix + "/" + Escape(string(typ)) + "/" + Escape(match)
}

// NewSubscriber returns a new subscriber identifier: "urn:uuid:" and a
// random (version 4) UUID.
func NewSubscriber() string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // never fails (crypto/rand)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u[:])
	return "urn:uuid:" + h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Escape percent-encodes every byte of s but RFC 3986's unreserved
// characters (letters, digits, "-", ".", "_", "~"), as an RFC 6570 simple
// or path expansion does, with upper-case hex digits.
func Escape(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}
