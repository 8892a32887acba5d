package httpapi

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/ssehub/ssehub/internal/auth"
	"github.com/ssehub/ssehub/internal/httpio"
)

// Where a token is looked for, in this order of precedence: the
// Authorization header, then the authorization query parameter (classic
// tokens only, unless Config.NoQueryToken refuses it), then the cookie of
// Mercure 1.0 (Config.CookieName), then the classic cookie. The first
// present is used and the others ignored, as draft-07 and draft-08 both
// have the header win over a cookie.
const (
	CookieName        = "mercureAuthorization"          // the classic (draft-07) cookie
	DefaultCookieName = "__Secure-mercure_access_token" // draft-08's cookie, the default of Config.CookieName
	queryParam        = "authorization"
)

// credential is a token a request presents and where it was found.
type credential struct {
	token string
	field string // "Authorization", "authorization" (query) or a cookie's name
}

// badPresentation is a malformed presentation of a token: 400
// invalid_request (RFC 6750 section 3.1).
func badPresentation(field, format string, args ...any) error {
	return &httpio.FieldError{Field: field, Err: fmt.Errorf("%w: "+format, append([]any{auth.ErrInvalidRequest}, args...)...)}
}

// findToken returns the request's token, "" with no error when it presents
// none. A malformed Authorization header is an error, never anonymous, and
// so is a token in the query when the hub takes none there.
func (a *API) findToken(r *http.Request) (credential, error) {
	if hs := r.Header.Values("Authorization"); len(hs) > 0 {
		scheme, tok, ok := strings.Cut(hs[0], " ")
		if len(hs) > 1 || !ok || !strings.EqualFold(scheme, "Bearer") {
			return credential{}, badPresentation("Authorization", "the Authorization header must be one \"Bearer <token>\"")
		}
		return credential{strings.TrimSpace(tok), "Authorization"}, nil
	}
	if vs, ok := r.URL.Query()[queryParam]; ok {
		return a.queryToken(vs)
	}
	for _, name := range []string{a.cfg.CookieName, CookieName} {
		if c, err := r.Cookie(name); err == nil && c.Value != "" {
			return credential{c.Value, name}, nil
		}
	}
	return credential{}, nil
}

// queryToken reads the authorization query parameter: once, a classic
// token, and only where the hub takes tokens in the URL.
func (a *API) queryToken(vs []string) (credential, error) {
	switch {
	case a.cfg.NoQueryToken:
		return credential{}, badPresentation(queryParam, "this hub takes no token in the URL (-query-token=false): send it in the Authorization header or the %s cookie", a.cfg.CookieName)
	case len(vs) > 1:
		return credential{}, badPresentation(queryParam, "give the authorization parameter once")
	case auth.PeekAccess(vs[0]):
		return credential{}, badPresentation(queryParam, "an access token (typ at+jwt) may not travel in the URL (RFC 9700, Mercure draft-08): send it in the Authorization header or the %s cookie", a.cfg.CookieName)
	}
	return credential{vs[0], queryParam}, nil
}

// where names the place a token was found, for messages.
func where(field string) string {
	switch field {
	case "Authorization":
		return "the Authorization header"
	case queryParam:
		return "the authorization query parameter"
	}
	return "the " + field + " cookie"
}

// writeErr answers err, naming the hub's protected resource metadata in
// the challenge of a refused token.
func writeErr(w http.ResponseWriter, r *http.Request, err error) {
	httpio.WriteErr(w, httpio.Bearer(r, err))
}
