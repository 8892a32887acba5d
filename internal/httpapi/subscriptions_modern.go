package httpapi

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/ssehub/ssehub/internal/httpio"
	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/subscriptions"
	"github.com/ssehub/ssehub/internal/topic"
)

// The active subscriptions web API in Mercure 1.0 form (draft-08):
// /.well-known/mercure/subscriptions/{match_type}/{match}[/{subscriber}],
// plain JSON, the cursor on the Link header. The classic form's
// /.well-known/mercure/subscriptions/{topic}/{subscriber} has as many
// segments as the 1.0 collection of one matcher: a request is classic
// unless its first segment names a matcher type and its second is no
// subscriber identifier this hub could have made (every one starts with
// urn:uuid:), so a classic request is answered as it always was.

// subscriptionMatcherPattern is the path of one 1.0 subscription.
const subscriptionMatcherPattern = subscriptions.Prefix + "/{type}/{match}/{subscriber}"

// handleSubscriptionOrMatcher answers the paths of two segments: one
// classic subscription, or the 1.0 subscriptions of one matcher.
func (a *API) handleSubscriptionOrMatcher(w http.ResponseWriter, r *http.Request) {
	typ, modern := topic.ParseType(r.PathValue("topic"))
	if !modern || strings.HasPrefix(r.PathValue("subscriber"), "urn:uuid:") {
		a.handleSubscription(w, r)
		return
	}
	last, ok := a.subscriptionsReader(w, r)
	if !ok {
		return
	}
	match := r.PathValue("subscriber")
	if err := a.checkTopics([]string{match}, false); err != nil {
		httpio.WriteErr(w, err)
		return
	}
	subs, err := a.listSubscriptions(r.Context(), match) // the selectors match matches, itself among them
	if err != nil {
		httpio.WriteError(w, http.StatusServiceUnavailable, "", "list the subscriptions of every node: "+err.Error())
		return
	}
	kept := subs[:0]
	for _, s := range subs {
		if s.MatchType == typ && s.Topic == match {
			kept = append(kept, s)
		}
	}
	a.writeModern(w, r, last, subscriptions.NewModernCollection(r.URL.EscapedPath(), kept))
}

// handleMatcherSubscription answers
// /.well-known/mercure/subscriptions/{match_type}/{match}/{subscriber}:
// one active 1.0 subscription, or 404.
func (a *API) handleMatcherSubscription(w http.ResponseWriter, r *http.Request) {
	last, ok := a.subscriptionsReader(w, r)
	if !ok {
		return
	}
	typ, known := topic.ParseType(r.PathValue("type"))
	if !known {
		httpio.WriteError(w, http.StatusNotFound, "", fmt.Sprintf("no active subscription %s: the matcher types are exact and urlpattern", r.URL.EscapedPath()))
		return
	}
	sub, found, err := a.findSubscription(r.Context(), typ, r.PathValue("match"), r.PathValue("subscriber"))
	switch {
	case err != nil:
		httpio.WriteError(w, http.StatusServiceUnavailable, "", "ask the other nodes: "+err.Error())
	case !found:
		httpio.WriteError(w, http.StatusNotFound, "", "no active subscription "+r.URL.EscapedPath())
	default:
		a.writeModern(w, r, last, sub.Doc(true))
	}
}

// writeModern writes v as a 1.0 answer of the web API: JSON, with the
// reconciliation cursor last on the Link header, as draft-08 asks.
func (a *API) writeModern(w http.ResponseWriter, r *http.Request, last string, v any) {
	writeSubscriptions(w, v, "application/json", fmt.Sprintf(`<%s>; rel="mercure"; last-event-id=%s; type="mercure"; content-type="application/json"`,
		a.hubURL(r), quoteParam(last)))
}

// quoteParam quotes s as a Link parameter's quoted-string.
func quoteParam(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// checkAnnounceableMatchers refuses, with -subscriptions, a matcher whose
// subscription could not be announced: its 1.0 update's topic would be
// longer than a topic may be (see checkAnnounceable).
func (a *API) checkAnnounceableMatchers(sq subscribeQuery) error {
	if a.subs == nil {
		return nil
	}
	for i, sp := range sq.specs {
		id := subscriptions.Subscription{Topic: sp.Match, Subscriber: subscriberShape, MatchType: sp.Type}.ID()
		if len(id) > hub.MaxTopicLength {
			return &httpio.Error{Status: http.StatusBadRequest, Field: sq.params[i],
				Msg: fmt.Sprintf("matcher of %d bytes: with active subscriptions on, its subscription's topic would be %d bytes once percent-encoded, over the %d a topic may have; use a shorter matcher", len(sp.Match), len(id), hub.MaxTopicLength)}
		}
	}
	return nil
}
