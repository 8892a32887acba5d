package auth

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/ssehub/ssehub/internal/topic"
)

// Claims is what a verified token grants. A classic token's (draft-07)
// selectors are topic.Classic specs; a Mercure 1.0 access token's come
// from its authorization_details, typed.
type Claims struct {
	// Publish are the selectors of the topics it may publish to
	// (mercure.publish, or the topics of the details with the publish
	// action); none means it may publish nothing.
	Publish []topic.Spec
	// Subscribe are the selectors of the topics whose private updates it may
	// receive (mercure.subscribe, or the details with the subscribe
	// action); none means only public updates.
	Subscribe []topic.Spec
	// Payload is mercure.payload, kept as sent; an access token has none
	// (see PayloadFor).
	Payload json.RawMessage
	// Details are an access token's Mercure authorization details, in
	// order; nil for a classic token.
	Details []Detail
	// Expiry is exp; the zero time when the token has none.
	Expiry time.Time
	// Subject is sub: whom the token was issued to, "" when it does not
	// say. An LLM generation belongs to the subject that started it.
	Subject string
	// Base is the URL relative URL patterns resolve against: the hub's
	// resource identifier, or its URL. Classic selectors ignore it.
	Base string
}

// Detail is one Mercure authorization detail of an access token.
type Detail struct {
	Publish   bool            // actions holds "publish"
	Subscribe bool            // actions holds "subscribe"
	Topics    []topic.Spec    // the topic matchers, typed
	Payload   json.RawMessage // the subscriber payload, a JSON object; nil when none
}

// AccessToken reports whether the claims are a Mercure 1.0 access
// token's.
func (c *Claims) AccessToken() bool { return c.Details != nil }

// claimName names where selectors of the action come from, for messages.
func (c *Claims) claimName(action string) string {
	if c.AccessToken() {
		return "authorization_details " + action + " action"
	}
	return "mercure." + action + " claim"
}

// Selectors compiles specs against the claims' Base.
func (c *Claims) Selectors(specs []topic.Spec) ([]topic.Selector, error) {
	out := make([]topic.Selector, 0, len(specs))
	for _, s := range specs {
		sel, err := topic.CompileSpec(s, c.Base)
		if err != nil {
			return nil, fmt.Errorf("selector %q: %w", s.Match, err)
		}
		out = append(out, sel)
	}
	return out, nil
}

// CanPublish returns nil when every topic matches a selector of Publish,
// else an error wrapping ErrForbidden that names the first topic refused.
func (c *Claims) CanPublish(topics []string) error {
	if len(c.Publish) == 0 {
		return fmt.Errorf("%w: the token has no %s, so it may not publish", ErrForbidden, c.claimName("publish"))
	}
	sels, err := c.Selectors(c.Publish)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrForbidden, c.claimName("publish"), err)
	}
	set := topic.NewSet(sels) // many claims and topics: exact claims looked up
	for _, t := range topics {
		if !set.Match(t) {
			return fmt.Errorf("%w: the token may not publish to topic %q: no selector of its %s matches it", ErrForbidden, t, c.claimName("publish"))
		}
	}
	return nil
}

// CanSubscribe returns nil when a selector of Subscribe matches t, else
// an error wrapping ErrForbidden: the check of the subscriptions web API,
// whose paths a subscriber's selectors must match.
func (c *Claims) CanSubscribe(t string) error {
	sels, err := c.Selectors(c.Subscribe)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrForbidden, c.claimName("subscribe"), err)
	}
	if !topic.MatchAny(sels, []string{t}) {
		return fmt.Errorf("%w: no selector of the token's %s matches %q", ErrForbidden, c.claimName("subscribe"), t)
	}
	return nil
}

// PayloadFor returns the payload of the subscription whose own matcher is
// s: a classic token's mercure.payload; for an access token, the payload
// of the first subscribe detail one of whose topics matches s.Match read
// as a topic (draft-08 "Payloads"), nil when none does.
func (c *Claims) PayloadFor(s topic.Spec) json.RawMessage {
	if !c.AccessToken() {
		return c.Payload
	}
	for _, d := range c.Details {
		if !d.Subscribe {
			continue
		}
		sels, err := c.Selectors(d.Topics)
		if err == nil && topic.MatchAny(sels, []string{s.Match}) {
			return d.Payload
		}
	}
	return nil
}
