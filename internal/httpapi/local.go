package httpapi

import (
	"fmt"
	"net/http"

	"github.com/ssehub/ssehub/internal/auth"
)

// VerifiedOrLocal guards what costs money, such as an upstream model: it
// returns nil when the hub knows who asks (publishers present verified
// tokens, or the application's callback decides publishes), or when r
// comes straight from a loopback client. In open development mode any
// other request is refused (auth.ErrForbidden), including one from a
// loopback peer that forwards for someone else (X-Forwarded-For,
// Forwarded or X-Real-IP from a proxy not in -trusted-proxies): a proxy on
// the same machine would otherwise make every client local.
func (a *API) VerifiedOrLocal(r *http.Request) error {
	if a.authMode() != ModeOpenDev || (a.cfg.App != nil && a.cfg.AppPublish) {
		return nil
	}
	peer := remoteAddr(r.RemoteAddr)
	if a.clientAddr(r).IsLoopback() && (a.trusted(peer) || !forwarding(r.Header)) {
		return nil
	}
	return fmt.Errorf("%w: this hub runs in open development mode (no JWT key configured), where only loopback clients reached directly, not through a proxy, may use it; set -jwt-key (SSEHUB_JWT_KEY) and send a token (an OpenAI SDK sends its API key as one), or -auth-url with -auth-publish", auth.ErrForbidden)
}

// forwarding reports whether h carries a proxy's forwarding headers.
func forwarding(h http.Header) bool {
	return h.Get("X-Forwarded-For") != "" || h.Get("Forwarded") != "" || h.Get("X-Real-IP") != ""
}
