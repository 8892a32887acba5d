package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/ssehub/ssehub/internal/subscriptions"
)

// SubscriptionsTopic is the topic selector of every subscription update of
// a hub with active subscriptions (ssehub's -subscriptions, Mercure's
// "subscriptions" option). Subscribe to it, with a token whose
// mercure.subscribe claim allows it, to follow subscriptions as they start
// and end; decode each event with [ParseActiveSubscription].
const SubscriptionsTopic = subscriptions.Prefix + "{/topic}{/subscriber}"

// ActiveSubscription is one subscription of a hub with active
// subscriptions: one topic selector of one subscriber.
type ActiveSubscription struct {
	// ID is the subscription's identifier, also the topic of the updates
	// announcing it.
	ID string `json:"id"`
	// Topic is the topic selector subscribed to.
	Topic string `json:"topic"`
	// Subscriber identifies the subscriber (one per stream in ssehub).
	Subscriber string `json:"subscriber"`
	// Active is false in the update announcing that it ended.
	Active bool `json:"active"`
	// Payload is the mercure.payload claim of the subscriber's token, such
	// as a user id; nil when it had none.
	Payload json.RawMessage `json:"payload,omitempty"`
}

// ParseActiveSubscription decodes the data of a subscription update.
func ParseActiveSubscription(data string) (ActiveSubscription, error) {
	var s ActiveSubscription
	if err := json.Unmarshal([]byte(data), &s); err != nil {
		return s, fmt.Errorf("client: subscription update: %w", err)
	}
	if s.ID == "" || s.Subscriber == "" {
		return s, fmt.Errorf("client: subscription update without id or subscriber: %.100s", data)
	}
	return s, nil
}

// maxListBody bounds the bytes of a subscriptions list that are read.
const maxListBody = 64 << 20

// ActiveSubscriptions returns the hub's active subscriptions, only those
// whose topic selector selector matches when it is not empty, and the id
// of the last update the hub had dispatched when it answered. To keep a
// list up to date, subscribe to [SubscriptionsTopic] with [FromID] of that
// id: every change made after the list was taken arrives as an update
// (some already in the list may arrive again). The token needs a
// mercure.subscribe selector matching the list's path, such as
// SubscriptionsTopic itself.
func (c *Client) ActiveSubscriptions(ctx context.Context, selector string) ([]ActiveSubscription, string, error) {
	u := *c.hub
	u.RawQuery, u.Fragment = "", ""
	target := u.String() + "/subscriptions"
	if selector != "" {
		target += "/" + subscriptions.Escape(selector)
	}
	req, err := c.newRequest(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, "", fmt.Errorf("active subscriptions: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("active subscriptions: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", errorOf(resp)
	}
	defer resp.Body.Close()
	var list struct {
		LastEventID   string               `json:"lastEventID"`
		Subscriptions []ActiveSubscription `json:"subscriptions"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxListBody)).Decode(&list); err != nil {
		return nil, "", fmt.Errorf("active subscriptions: decode the list: %w", err)
	}
	return list.Subscriptions, list.LastEventID, nil
}
