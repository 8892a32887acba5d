package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/ssehub/ssehub/internal/auth"
	"github.com/ssehub/ssehub/internal/httpio"
	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/subscriptions"
	"github.com/ssehub/ssehub/internal/topic"
)

// The active subscriptions of the Mercure protocol (-subscriptions): every
// subscription that starts or ends is announced by a private update to
// /.well-known/mercure/subscriptions/{topic}/{subscriber}, and the web API
// under that path lists the active ones. On a cluster the lists come from
// every node (see Peers).

// Paths of the web API.
const (
	subscriptionsPattern      = subscriptions.Prefix
	topicSubscriptionsPattern = subscriptions.Prefix + "/{topic}"
	subscriptionPattern       = subscriptions.Prefix + "/{topic}/{subscriber}"
)

// subscriptionRoutes registers the web API in both forms (classic and
// 1.0, see subscriptions_modern.go), or the answer that it is off.
func (a *API) subscriptionRoutes() {
	list, two, three := a.handleSubscriptions, a.handleSubscriptionOrMatcher, a.handleMatcherSubscription
	if a.subs == nil {
		list, two, three = a.handleSubscriptionsOff, a.handleSubscriptionsOff, a.handleSubscriptionsOff
	}
	a.mux.Handle(subscriptionsPattern, httpio.Methods{http.MethodGet: list})
	a.mux.Handle(topicSubscriptionsPattern, httpio.Methods{http.MethodGet: list})
	a.mux.Handle(subscriptionPattern, httpio.Methods{http.MethodGet: two})
	a.mux.Handle(subscriptionMatcherPattern, httpio.Methods{http.MethodGet: three})
}

// checkAnnounceable refuses, with -subscriptions, a selector whose
// subscription could not be announced: its update's topic (the selector
// percent-encoded under /.well-known/mercure/subscriptions/) would be longer
// than a topic may be. Accepting it would make presence silently wrong.
func (a *API) checkAnnounceable(selectors []string) error {
	if a.subs == nil {
		return nil
	}
	for _, sel := range selectors {
		id := subscriptions.Subscription{Topic: sel, Subscriber: subscriberShape}.ID()
		if len(id) > hub.MaxTopicLength {
			return &httpio.Error{Status: http.StatusBadRequest, Field: "topic",
				Msg: fmt.Sprintf("topic selector of %d bytes: with active subscriptions on, its subscription's topic would be %d bytes once percent-encoded, over the %d a topic may have; use a shorter selector", len(sel), len(id), hub.MaxTopicLength)}
		}
	}
	return nil
}

// subscriberShape has the length of every subscriber id.
var subscriberShape = subscriptions.NewSubscriber()

// track tells of a stream that opened for the selectors of sq: with
// -subscriptions it records and announces its subscriptions (a topic= in
// the classic form, a matcher in Mercure 1.0's), and the Notifier, if any,
// is told it started. The release it returns also undoes all that,
// telling of the stream's end. With neither it returns release.
func (a *API) track(r *http.Request, sq subscribeQuery, claims *auth.Claims, release func()) func() {
	notify := a.cfg.Notifier
	if a.subs == nil && notify == nil {
		return release
	}
	s := &subscriptions.Subscriber{ID: subscriptions.NewSubscriber(), User: claims.Subject,
		ClientIP: a.clientIP(r), Since: time.Now()}
	subs := sq.subscriptions(s.ID, claims.PayloadFor)
	for _, sub := range subs {
		if !slices.Contains(s.Topics, sub.Topic) {
			s.Topics = append(s.Topics, sub.Topic)
		}
	}
	if len(subs) > 0 {
		s.Payload = subs[0].Payload // the first subscription's: a token's payload, or its first detail's that grants it
	}
	if a.subs != nil {
		a.subs.reg.Add(subs)
		a.subs.announce(subs, true)
	}
	if notify != nil {
		notify.Started(s)
	}
	return func() {
		release()
		if a.subs != nil {
			a.subs.announce(a.subs.reg.Remove(s.ID), false)
		}
		if notify != nil {
			notify.Ended(s)
		}
	}
}

// subscriptions returns the subscriptions of subscriber for sq, one per
// selector and matcher type, without repeats.
func (sq subscribeQuery) subscriptions(subscriber string, payload func(topic.Spec) json.RawMessage) []subscriptions.Subscription {
	var out []subscriptions.Subscription
	add := func(typ topic.Type, sel string) {
		if !slices.ContainsFunc(out, func(s subscriptions.Subscription) bool { return s.Topic == sel && s.MatchType == typ }) {
			p := payload(topic.Spec{Match: sel, Type: typ})
			out = append(out, subscriptions.Subscription{Topic: sel, Subscriber: subscriber, Payload: p, MatchType: typ})
		}
	}
	for _, t := range sq.topics {
		add(topic.Classic, t)
	}
	for _, sp := range sq.specs {
		add(sp.Type, sp.Match)
	}
	return out
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
		writeErr(w, r, err) // a selector over -max-topic-length, as for a subscription
		return
	}
	subs, err := a.listSubscriptions(r.Context(), sel)
	if err != nil {
		httpio.WriteError(w, http.StatusServiceUnavailable, "", "list the subscriptions of every node: "+err.Error())
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
	sub, found, err := a.findSubscription(r.Context(), topic.Classic, r.PathValue("topic"), r.PathValue("subscriber"))
	switch {
	case err != nil:
		httpio.WriteError(w, http.StatusServiceUnavailable, "", "ask the other nodes: "+err.Error())
	case !found:
		httpio.WriteError(w, http.StatusNotFound, "", "no active subscription "+r.URL.EscapedPath())
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
		writeErr(w, r, err)
		return "", false
	}
	last := a.hub.LastID()
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
	c, err := a.findToken(r)
	if err != nil {
		return err
	}
	if c.token == "" && c.field == "" {
		return &httpio.FieldError{Field: "Authorization", Err: fmt.Errorf("%w: the subscriptions API needs a subscriber token whose mercure.subscribe claim matches the path", auth.ErrNoToken)}
	}
	claims, err := a.verify(r, a.cfg.Subscribers, c, "subscriber")
	if err != nil {
		return err
	}
	if err := claims.CanSubscribe(r.URL.EscapedPath()); err != nil {
		return &httpio.FieldError{Field: c.field, Err: err}
	}
	return nil
}

// handleSubscriptionsOff answers the web API's paths when -subscriptions is
// off.
func (a *API) handleSubscriptionsOff(w http.ResponseWriter, r *http.Request) {
	httpio.WriteError(w, http.StatusNotFound, "", "the active subscriptions API is off on this hub: start ssehub with -subscriptions (SSEHUB_SUBSCRIPTIONS=true)")
}

// writeLD writes v as the JSON-LD answer of the web API.
func writeLD(w http.ResponseWriter, v any) {
	writeSubscriptions(w, v, "application/ld+json", `</.well-known/mercure>; rel="mercure"`)
}

// writeSubscriptions writes v, an answer of the subscriptions web API, as
// contentType with link as its Link header; it is encoded before anything
// is written, so that a failure is a clean 500.
func writeSubscriptions(w http.ResponseWriter, v any, contentType, link string) {
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		httpio.WriteErr(w, fmt.Errorf("encode the subscriptions: %w", err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Link", link)
	h.Set("Cache-Control", "must-revalidate")
	_, _ = w.Write(body.Bytes())
}
