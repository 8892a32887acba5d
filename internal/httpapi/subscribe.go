package httpapi

import (
	"net/http"

	"github.com/ssehub/ssehub/internal/httpio"
	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/stream"
)

// handleSubscribe opens an event stream for the selectors in the query
// (classic topic= and Mercure 1.0 matchers, see parseSubscribeQuery),
// resuming after Last-Event-ID (header, else the lastEventID parameter).
// The subscriber's token, if any, adds the private updates of the topics its
// mercure.subscribe claim matches, and the stream ends when it expires; the
// rights the application grants instead (see appDecides) are asked for
// again when they expire.
func (a *API) handleSubscribe(w http.ResponseWriter, r *http.Request) {
	sq, err := parseSubscribeQuery(r.URL.Query())
	if err == nil {
		err = a.checkMatchers(sq)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	claims, renew, err := a.subscriber(r, sq.selectors())
	if err != nil {
		writeErr(w, r, err)
		return
	}
	matchers, err := a.compileMatchers(sq, a.hubURL(r))
	if err != nil {
		writeErr(w, r, err)
		return
	}
	release, ok := a.admitStream(w, r)
	if !ok {
		return
	}
	var sub *hub.Subscriber
	private, err := claims.Selectors(claims.Subscribe)
	if err == nil {
		sub, err = a.hub.Subscribe(r.Context(), hub.SubscribeOptions{
			Topics:           sq.topics,
			Matchers:         matchers,
			PrivateSelectors: private,
			LastEventID:      lastEventID(r),
			TagSelectors:     sq.tagSelectors,
		})
	}
	if err != nil {
		release()
		writeErr(w, r, err)
		return
	}
	a.serveStream(w, r, stream.Options{Sub: sub, Expiry: claims.Expiry, Renew: renew, Release: a.track(r, sq, claims, release)})
}

// checkSubscription checks the topics of a subscription: at least one,
// within the limits, and announceable.
func (a *API) checkSubscription(topics []string) error {
	if len(topics) == 0 {
		return &httpio.Error{Status: http.StatusBadRequest, Field: "topic", Msg: "at least one topic query parameter is required"}
	}
	if err := a.checkTopics(topics, true); err != nil {
		return err
	}
	return a.checkAnnounceable(topics)
}

// serveStream has the engine serve a stream, which a token in the URL
// keeps out of shared caches.
func (a *API) serveStream(w http.ResponseWriter, r *http.Request, o stream.Options) {
	if r.URL.Query().Has(queryParam) {
		w.Header().Set("Cache-Control", "private, no-cache") // the URL carries a token
	}
	o.Remote = a.clientIP(r)
	a.cfg.Streams.Serve(w, r, o)
}

// lastEventID returns the resume point: the header takes precedence over
// the query parameter, as the protocol asks.
func lastEventID(r *http.Request) string {
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		return v
	}
	return r.URL.Query().Get("lastEventID")
}
