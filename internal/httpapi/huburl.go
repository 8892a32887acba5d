package httpapi

import "net/http"

// hubURL is the hub's URL: Config.HubURL when set, else the request's
// scheme and Host followed by /.well-known/mercure. The scheme is https
// over TLS, or what a trusted proxy says in X-Forwarded-Proto. Relative
// URL patterns and topics are resolved against it, and discovery
// advertises it.
func (a *API) hubURL(r *http.Request) string {
	if a.cfg.HubURL != "" {
		return a.cfg.HubURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); (p == "http" || p == "https") && a.trusted(remoteAddr(r.RemoteAddr)) {
		scheme = p
	}
	host := r.Host
	if host == "" {
		host = "localhost"
	}
	return scheme + "://" + host + HubPath
}
