package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

	"github.com/ssehub/ssehub/internal/auth"
	"github.com/ssehub/ssehub/internal/subscriptions"
	"github.com/ssehub/ssehub/internal/topic"
)

// The active subscriptions of the Mercure protocol (-subscriptions): every
// subscription that starts or ends is announced by a private update to
// /.well-known/mercure/subscriptions/{topic}/{subscriber}, and the web API
// under that path lists the active ones. On a cluster the lists come from
// every node (see Peers).

// Kinds of questions nodes ask each other about their subscriptions.
const (
	peerListSubscriptions = "subscriptions.list" // key: a topic selector, "" for all
	peerGetSubscription   = "subscriptions.get"  // key: the JSON of [topic, subscriber]
)

// Paths of the web API.
const (
	subscriptionsPattern      = subscriptions.Prefix
	topicSubscriptionsPattern = subscriptions.Prefix + "/{topic}"
	subscriptionPattern       = subscriptions.Prefix + "/{topic}/{subscriber}"
)

// subscriptionRoutes registers the web API, or the answer that it is off.
func (a *API) subscriptionRoutes() {
	list, one := a.handleSubscriptions, a.handleSubscription
	if a.subs == nil {
		list, one = a.handleSubscriptionsOff, a.handleSubscriptionsOff
	}
	a.mux.Handle(subscriptionsPattern, methods{http.MethodGet: list})
	a.mux.Handle(topicSubscriptionsPattern, methods{http.MethodGet: list})
	a.mux.Handle(subscriptionPattern, methods{http.MethodGet: one})
}

// gatherer is Peers that can also collect the answers of every node.
type gatherer interface {
	Gather(ctx context.Context, kind, key string) ([][]byte, error)
}

// track records the subscriptions of a stream that opened for topics and
// announces them; the release it returns also forgets them and announces
// their end. Without -subscriptions it returns release.
func (a *API) track(topics []string, claims *auth.Claims, release func()) func() {
	if a.subs == nil {
		return release
	}
	id := subscriptions.NewSubscriber()
	subs := make([]subscriptions.Subscription, 0, len(topics))
	for i, t := range topics {
		if !slices.Contains(topics[:i], t) {
			subs = append(subs, subscriptions.Subscription{Topic: t, Subscriber: id, Payload: claims.Payload})
		}
	}
	a.subs.reg.Add(subs)
	a.subs.announce(subs, true)
	return func() {
		release()
		a.subs.announce(a.subs.reg.Remove(id), false)
	}
}

// handleSubscriptions answers GET /.well-known/mercure/subscriptions[/{topic}]:
// the active subscriptions, of the topic selectors the {topic} selector
// matches when given.
func (a *API) handleSubscriptions(w http.ResponseWriter, r *http.Request) {
	last, ok := a.subscriptionsReader(w, r)
	if !ok {
		return
	}
	sel := r.PathValue("topic") // "" for all; never empty in the path: the mux needs a segment
	if err := a.checkTopics([]string{sel}, false); err != nil {
		writeErr(w, err) // a selector over -max-topic-length, as for a subscription
		return
	}
	subs, err := a.listSubscriptions(r.Context(), sel)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "", "list the subscriptions of every node: "+err.Error())
		return
	}
	writeLD(w, subscriptions.NewCollection(r.URL.EscapedPath(), last, subs))
}

// handleSubscription answers GET
// /.well-known/mercure/subscriptions/{topic}/{subscriber}: one active
// subscription, or 404.
func (a *API) handleSubscription(w http.ResponseWriter, r *http.Request) {
	last, ok := a.subscriptionsReader(w, r)
	if !ok {
		return
	}
	sub, found, err := a.findSubscription(r.Context(), r.PathValue("topic"), r.PathValue("subscriber"))
	switch {
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, "", "ask the other nodes: "+err.Error())
	case !found:
		writeError(w, http.StatusNotFound, "", "no active subscription "+r.URL.EscapedPath())
	default:
		doc := sub.Doc(true)
		doc.Context, doc.LastEventID = subscriptions.Context, last
		writeLD(w, doc)
	}
}

// subscriptionsReader authorizes a request of the web API and returns the
// id of the last update dispatched, read before the subscriptions so that
// a client resuming from it misses no change made after the list was
// taken. It answers the request itself when it is refused.
func (a *API) subscriptionsReader(w http.ResponseWriter, r *http.Request) (lastEventID string, ok bool) {
	if err := a.mayReadSubscriptions(r); err != nil {
		writeErr(w, err)
		return "", false
	}
	last := a.hub.Stats().LastID
	if last == "" {
		last = "earliest"
	}
	return last, true
}

// mayReadSubscriptions checks that the request's token has a
// mercure.subscribe selector matching the requested path, as the protocol
// asks. In open development mode only loopback clients may read.
func (a *API) mayReadSubscriptions(r *http.Request) error {
	if a.authMode() == ModeOpenDev {
		if !a.clientAddr(r).IsLoopback() {
			return fmt.Errorf("%w: this hub runs in open development mode (no JWT key configured) and shows its subscriptions only to loopback clients", auth.ErrForbidden)
		}
		return nil
	}
	c, err := findToken(r)
	if err != nil {
		return err
	}
	if c.token == "" && c.field == "" {
		return &authError{"Authorization", fmt.Errorf("%w: the subscriptions API needs a subscriber token whose mercure.subscribe claim matches the path", auth.ErrNoToken)}
	}
	claims, err := verify(a.cfg.Subscribers, c, "subscriber")
	if err != nil {
		return err
	}
	if err := claims.CanSubscribe(r.URL.EscapedPath()); err != nil {
		return &authError{c.field, err}
	}
	return nil
}

// listSubscriptions returns the active subscriptions whose topic selector
// sel matches (all for ""), of every node of a cluster.
func (a *API) listSubscriptions(ctx context.Context, sel string) ([]subscriptions.Subscription, error) {
	g, ok := a.cfg.Peers.(gatherer)
	if !ok {
		return a.localSubscriptions(sel), nil
	}
	bodies, err := g.Gather(ctx, peerListSubscriptions, sel)
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
// topic selector t, on this node or another.
func (a *API) findSubscription(ctx context.Context, t, subscriber string) (subscriptions.Subscription, bool, error) {
	if s, ok := a.subs.reg.Get(t, subscriber); ok || a.cfg.Peers == nil {
		return s, ok, nil
	}
	key, _ := json.Marshal([2]string{t, subscriber})
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

// answerSubscriptions answers another node's question about this node's
// subscriptions; it reports false for a question it does not know.
func (a *API) answerSubscriptions(kind, key string) ([]byte, bool) {
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
		var k [2]string
		if json.Unmarshal([]byte(key), &k) != nil {
			return nil, false
		}
		s, ok := a.subs.reg.Get(k[0], k[1])
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

// handleSubscriptionsOff answers the web API's paths when -subscriptions is
// off.
func (a *API) handleSubscriptionsOff(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotFound, "", "the active subscriptions API is off on this hub: start ssehub with -subscriptions (SSEHUB_SUBSCRIPTIONS=true)")
}

// writeLD writes v as the JSON-LD answer of the web API.
func writeLD(w http.ResponseWriter, v any) {
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		writeErr(w, fmt.Errorf("encode the subscriptions: %w", err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/ld+json")
	h.Set("Link", `</.well-known/mercure>; rel="mercure"`)
	h.Set("Cache-Control", "must-revalidate")
	_, _ = w.Write(body.Bytes())
}
