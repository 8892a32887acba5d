package httpapi

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	"github.com/ssehub/ssehub/internal/httpio"
)

// Pinger is a history that can tell whether it is usable: the durable
// store runs a read transaction. A history without Ping is always ready.
type Pinger interface {
	Ping(ctx context.Context) error
}

// readyTimeout bounds the history check of /readyz.
const readyTimeout = 2 * time.Second

// StreamStats counts the API's event streams.
type StreamStats struct {
	Open      int    // streams open now
	Delivered uint64 // updates written to streams, replayed ones included, internal ones aside
	Replayed  uint64 // updates replayed from history
}

// StreamStats returns the counts of the API's event streams.
func (a *API) StreamStats() StreamStats {
	st := a.cfg.Streams.Stats()
	return StreamStats{Open: a.conns.open(), Delivered: st.Delivered, Replayed: st.Replayed}
}

// handleMetrics serves the metrics on the hub's address: to a scraper
// presenting the token when one is configured, else to loopback clients
// only (the metrics name the topics token holders subscribe to).
func (a *API) handleMetrics(w http.ResponseWriter, r *http.Request) {
	if a.cfg.MetricsToken == "" && !a.localClient(r) {
		httpio.WriteError(w, http.StatusForbidden, "", "/metrics is served to loopback clients only: set -metrics-token (SSEHUB_METRICS_TOKEN) to scrape it from elsewhere with Authorization: Bearer <token>, or serve it on a private address of its own with -metrics-addr")
		return
	}
	a.serveMetrics(w, r)
}

// localClient reports whether r comes from this machine itself: a loopback
// client, and not one a proxy on this machine forwards (the proxy is then
// the peer, and a forwarding header names the real client), unless the
// proxy is trusted and the address it names is a loopback one.
func (a *API) localClient(r *http.Request) bool {
	if !a.clientAddr(r).IsLoopback() {
		return false
	}
	if a.trusted(remoteAddr(r.RemoteAddr)) {
		return true
	}
	h := r.Header
	return h.Get("X-Forwarded-For") == "" && h.Get("X-Real-IP") == "" && h.Get("Forwarded") == ""
}

// MetricsHandler serves the metrics to anyone who reaches it, but for the
// token when one is configured: for a listener of its own (-metrics-addr),
// whose address is its access control. Nil when metrics are off.
func (a *API) MetricsHandler() http.Handler {
	if a.cfg.Metrics == nil {
		return nil
	}
	return http.HandlerFunc(a.serveMetrics)
}

// serveMetrics serves the metrics to a scraper presenting the token when
// one is configured.
func (a *API) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if tok := a.cfg.MetricsToken; tok != "" {
		scheme, got, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(tok)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ssehub metrics"`)
			httpio.WriteError(w, http.StatusUnauthorized, "Authorization", "/metrics needs the metrics token: Authorization: Bearer <-metrics-token>")
			return
		}
	}
	a.cfg.Metrics.ServeHTTP(w, r)
}

// handleReady answers 200 when the hub can serve: it is not shutting down
// and its history is usable. Otherwise 503, naming each problem.
func (a *API) handleReady(w http.ResponseWriter, r *http.Request) {
	checks := map[string]string{"hub": "ok", "history": "ok"}
	var problems []string
	if a.hub.Closing() {
		checks["hub"] = "shutting down"
		problems = append(problems, "hub: shutting down")
	}
	if p, ok := a.cfg.History.(Pinger); ok {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if err := p.Ping(ctx); err != nil {
			checks["history"] = err.Error()
			problems = append(problems, "history: "+err.Error())
		}
	}
	if len(problems) > 0 {
		w.Header().Set("Retry-After", "5")
		httpio.WriteJSON(w, http.StatusServiceUnavailable, map[string]any{
			"status": "unavailable", "error": strings.Join(problems, "; "), "checks": checks,
		})
		return
	}
	httpio.WriteJSON(w, http.StatusOK, map[string]any{"status": "ready", "checks": checks})
}
