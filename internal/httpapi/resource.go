package httpapi

import (
	"net/http"

	"github.com/ssehub/ssehub/internal/auth"
	"github.com/ssehub/ssehub/internal/httpio"
	"github.com/ssehub/ssehub/internal/topic"
)

// Paths of the hub and of its OAuth 2.0 protected resource metadata
// (RFC 9728): served at MetadataPath and, as draft-08 derives it from the
// hub's URL, at MetadataPath+HubPath, which challenges point to.
const (
	HubPath      = "/.well-known/mercure"
	MetadataPath = "/.well-known/oauth-protected-resource"
)

// resourceID returns the hub's resource identifier (RFC 9728), the
// audience of its access tokens: Resource when set, else the hub's URL.
func (a *API) resourceID(r *http.Request) string {
	if a.cfg.Resource != "" {
		return a.cfg.Resource
	}
	return a.hubURL(r)
}

// resourceMetadata is the protected resource metadata document.
type resourceMetadata struct {
	Resource             string   `json:"resource"`
	AuthorizationServers []string `json:"authorization_servers,omitempty"`
	DetailTypes          []string `json:"authorization_details_types_supported"`
	BearerMethods        []string `json:"bearer_methods_supported"`
	Cookie               string   `json:"mercure_cookie,omitempty"`
	MatcherTypes         []string `json:"mercure_matcher_types_supported"`
	Subscriptions        bool     `json:"mercure_subscriptions,omitempty"`
}

// handleResourceMetadata answers GET of the metadata document: what a
// client needs to get a token for this hub and present it.
func (a *API) handleResourceMetadata(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	httpio.WriteJSON(w, http.StatusOK, resourceMetadata{
		Resource:             a.resourceID(r),
		AuthorizationServers: a.cfg.Issuers,
		DetailTypes:          []string{auth.DetailType},
		BearerMethods:        []string{"header"},
		Cookie:               a.cfg.CookieName,
		MatcherTypes:         []string{string(topic.Exact), string(topic.URLPattern)},
		Subscriptions:        a.cfg.Subscriptions,
	})
}
