package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/ssehub/ssehub/internal/hub"
)

// handleSubscribe opens an event stream for the topics in the query,
// resuming after Last-Event-ID (header, else the lastEventID parameter).
func (a *API) handleSubscribe(w http.ResponseWriter, r *http.Request) {
	topics := r.URL.Query()["topic"]
	if len(topics) == 0 {
		writeError(w, http.StatusBadRequest, "topic", "at least one topic query parameter is required")
		return
	}
	sub, err := a.hub.Subscribe(r.Context(), hub.SubscribeOptions{
		Topics:      topics,
		LastEventID: lastEventID(r),
	})
	if err != nil {
		writeErr(w, err)
		return
	}
	defer sub.Close()
	a.runStream(w, r, sub, nil, nil)
}

// runStream starts and serves a stream, logging how it ended.
func (a *API) runStream(w http.ResponseWriter, r *http.Request, sub *hub.Subscriber, opening []byte, extra *ticker) {
	s, err := a.startStream(w, r, sub, opening)
	if err == nil {
		err = s.serve(r.Context().Done(), a.cfg.Heartbeat, extra)
	}
	if err != nil {
		if serr := sub.Err(); serr != nil {
			err = serr
		}
		a.log.LogAttrs(r.Context(), slog.LevelDebug, "stream ended",
			slog.String("remote", r.RemoteAddr), slog.String("reason", err.Error()))
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
