package httpapi

import (
	"net/http"
	"slices"

	"github.com/ssehub/ssehub/internal/httpio"
)

// corsPolicy answers cross-origin requests from the allowed origins.
type corsPolicy struct {
	any     bool
	origins []string
}

func newCORS(origins []string) corsPolicy {
	return corsPolicy{any: slices.Contains(origins, "*"), origins: origins}
}

func (c corsPolicy) allowed(origin string) bool {
	return origin != "" && (c.any || slices.Contains(c.origins, origin))
}

// apply sets the CORS headers for an allowed origin and answers preflight
// requests; it reports whether the request has been answered.
func (c corsPolicy) apply(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	h := w.Header()
	if !c.any {
		h.Add("Vary", "Origin") // the answer depends on the origin: caches must know
	}
	if !c.allowed(origin) {
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			httpio.WriteError(w, http.StatusForbidden, "Origin", "origin "+origin+" is not allowed")
			return true
		}
		return false
	}
	if c.any {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	h.Set("Access-Control-Expose-Headers", "Last-Event-ID, Link")
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Last-Event-ID, Cache-Control")
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	return false
}
