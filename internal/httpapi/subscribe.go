package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/ssehub/ssehub/internal/auth"
	"github.com/ssehub/ssehub/internal/hub"
)

// handleSubscribe opens an event stream for the topics in the query,
// resuming after Last-Event-ID (header, else the lastEventID parameter).
// The subscriber's token, if any, adds the private updates of the topics its
// mercure.subscribe claim matches, and the stream ends when it expires.
func (a *API) handleSubscribe(w http.ResponseWriter, r *http.Request) {
	claims, err := a.subscriber(r)
	if err != nil {
		writeErr(w, err)
		return
	}
	topics := r.URL.Query()["topic"]
	if len(topics) == 0 {
		writeError(w, http.StatusBadRequest, "topic", "at least one topic query parameter is required")
		return
	}
	if err := a.checkTopics(topics, true); err != nil {
		writeErr(w, err)
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
		writeErr(w, err)
		return
	}
	release = a.track(topics, claims, release)
	if a.canTakeOver(r) && a.takeOver(w, r, sub, claims, release) {
		return
	}
	defer release()
	defer sub.Close()
	a.runStream(w, r, sub, claims, nil, nil)
}

// runStream starts and serves a stream until the client leaves, the
// subscription ends or the subscriber's token expires, logging how it ended.
func (a *API) runStream(w http.ResponseWriter, r *http.Request, sub *hub.Subscriber, claims *auth.Claims, opening []byte, extra *ticker) {
	a.counts.replayed.Add(uint64(sub.Replayed()))
	s, err := a.startStream(w, r, sub, opening)
	if err == nil {
		s.expiry = claims.Expiry
		err = s.serve(r.Context().Done(), a.cfg.Heartbeat, extra)
	}
	if err != nil {
		if serr := sub.Err(); serr != nil {
			err = serr
		}
		a.log.LogAttrs(r.Context(), slog.LevelDebug, "stream ended",
			slog.String("remote", a.clientIP(r)), slog.String("reason", err.Error()))
	}
}

// lastEventID returns the resume point: the header takes precedence over
// the query parameter, as the protocol asks.
func lastEventID(r *http.Request) string {
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		return v
	}
	return r.URL.Query().Get("lastEventID")
}
