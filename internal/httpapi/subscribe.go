package httpapi

import (
	"net/http"

	"github.com/ssehub/ssehub/internal/httpio"
	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/stream"
)

// handleSubscribe opens an event stream for the topics in the query,
// resuming after Last-Event-ID (header, else the lastEventID parameter).
// The subscriber's token, if any, adds the private updates of the topics its
// mercure.subscribe claim matches, and the stream ends when it expires.
func (a *API) handleSubscribe(w http.ResponseWriter, r *http.Request) {
	claims, err := a.subscriber(r)
	if err != nil {
		httpio.WriteErr(w, err)
		return
	}
	topics := r.URL.Query()["topic"]
	if len(topics) == 0 {
		httpio.WriteError(w, http.StatusBadRequest, "topic", "at least one topic query parameter is required")
		return
	}
	if err := a.checkTopics(topics, true); err != nil {
		httpio.WriteErr(w, err)
		return
	}
	if err := a.checkAnnounceable(topics); err != nil {
		httpio.WriteErr(w, err)
		return
	}
	release, ok := a.admitStream(w, r)
	if !ok {
		return
	}
	sub, err := a.hub.Subscribe(r.Context(), hub.SubscribeOptions{
		Topics:      topics,
		Private:     claims.Subscribe,
		LastEventID: lastEventID(r),
	})
	if err != nil {
		release()
		httpio.WriteErr(w, err)
		return
	}
	a.serveStream(w, r, stream.Options{Sub: sub, Expiry: claims.Expiry, Release: a.track(r, topics, claims, release)})
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
