package httpapi

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ssehub/ssehub/internal/subscriptions"
	"github.com/ssehub/ssehub/internal/topic"
)

// The active subscriptions of every node: on a cluster a node answering
// the web API asks the others for theirs (see Peers).

// Kinds of questions nodes ask each other about their subscriptions.
const (
	peerListSubscriptions = "subscriptions.list" // key: a topic selector, "" for all
	peerGetSubscription   = "subscriptions.get"  // key: the JSON of [topic, subscriber], [match, subscriber, match_type] in 1.0
)

// Peers are the other nodes of a cluster.
type Peers interface {
	// Ask returns the answer of the node that knows key, if any does.
	Ask(ctx context.Context, kind, key string) (body []byte, found bool, err error)
	// Gather returns the answers of every node, this one's included.
	Gather(ctx context.Context, kind, key string) ([][]byte, error)
}

// listSubscriptions returns the active subscriptions whose topic selector
// sel matches (all for ""), of every node of a cluster.
func (a *API) listSubscriptions(ctx context.Context, sel string) ([]subscriptions.Subscription, error) {
	if a.cfg.Peers == nil {
		return a.localSubscriptions(sel), nil
	}
	bodies, err := a.cfg.Peers.Gather(ctx, peerListSubscriptions, sel)
	if err != nil {
		return nil, err
	}
	var all []subscriptions.Subscription
	for _, b := range bodies {
		var subs []subscriptions.Subscription
		if err := json.Unmarshal(b, &subs); err != nil {
			return nil, fmt.Errorf("a node's answer: %w", err)
		}
		all = append(all, subs...)
	}
	subscriptions.Sort(all)
	return all, nil
}

// localSubscriptions returns this node's active subscriptions whose topic
// selector sel matches (all for "").
func (a *API) localSubscriptions(sel string) []subscriptions.Subscription {
	if sel == "" {
		return a.subs.reg.List(nil)
	}
	s, err := topic.Compile(sel)
	if err != nil {
		return nil
	}
	return a.subs.reg.List(func(sub subscriptions.Subscription) bool { return s.Match(sub.Topic) })
}

// findSubscription returns the active subscription of subscriber to the
// topic selector t of matcher type typ, on this node or another.
func (a *API) findSubscription(ctx context.Context, typ topic.Type, t, subscriber string) (subscriptions.Subscription, bool, error) {
	if s, ok := a.subs.reg.Get(typ, t, subscriber); ok || a.cfg.Peers == nil {
		return s, ok, nil
	}
	var key []byte
	if typ == topic.Classic {
		key, _ = json.Marshal([2]string{t, subscriber}) // as nodes of earlier versions ask
	} else {
		key, _ = json.Marshal([3]string{t, subscriber, string(typ)})
	}
	body, found, err := a.cfg.Peers.Ask(ctx, peerGetSubscription, string(key))
	if err != nil || !found {
		return subscriptions.Subscription{}, false, err
	}
	var s subscriptions.Subscription
	if err := json.Unmarshal(body, &s); err != nil {
		return s, false, fmt.Errorf("a node's answer: %w", err)
	}
	return s, true, nil
}

// AnswerPeer answers another node's question about this node's active
// subscriptions; it reports false for a subscription it does not have or a
// question it does not know.
func (a *API) AnswerPeer(kind, key string) ([]byte, bool) {
	if a.subs == nil {
		return nil, false
	}
	var v any
	switch kind {
	case peerListSubscriptions:
		subs := a.localSubscriptions(key)
		if subs == nil {
			subs = []subscriptions.Subscription{}
		}
		v = subs
	case peerGetSubscription:
		var k [3]string // a classic question has two
		if json.Unmarshal([]byte(key), &k) != nil {
			return nil, false
		}
		s, ok := a.subs.reg.Get(topic.Type(k[2]), k[0], k[1])
		if !ok {
			return nil, false
		}
		v = s
	default:
		return nil, false
	}
	body, err := json.Marshal(v)
	return body, err == nil
}
