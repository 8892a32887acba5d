package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/ssehub/ssehub/internal/auth"
	"github.com/ssehub/ssehub/internal/llm"
)

// Where a token is looked for, in the protocol's order of precedence: the
// Authorization header, then the authorization query parameter, then the
// cookie. The first present is used and the others ignored.
const (
	CookieName = "mercureAuthorization"
	queryParam = "authorization"
)

// GenerationTopic is the topic a token's mercure.publish claim must match to
// start an LLM generation or a chat completion: a generation's topic is not
// known before it starts, so this representative of "llm/generations/{id}"
// stands for it. Stopping a generation needs a right on its own topic.
const GenerationTopic = llm.DefaultTopicPrefix + "new"

// Values of "auth" in the health answer.
const (
	ModeOpenDev = "open-dev" // no key: anonymous publishing from loopback clients only
	ModeJWT     = "jwt"      // publishers, and subscribers with a token, present a verified JWT
)

// authMode says how the hub authorizes requests.
func (a *API) authMode() string {
	if a.cfg.Publishers == nil && a.cfg.Subscribers == nil {
		return ModeOpenDev
	}
	return ModeJWT
}

// authError is a refused request and the field (header, parameter, cookie
// or form field) at fault.
type authError struct {
	field string
	err   error
}

func (e *authError) Error() string { return e.err.Error() }
func (e *authError) Unwrap() error { return e.err }

// authField returns the field an authorization error names.
func authField(err error) string {
	var ae *authError
	if errors.As(err, &ae) {
		return ae.field
	}
	return ""
}

// setChallenge sets WWW-Authenticate on a 401 answer (RFC 6750).
func setChallenge(h http.Header, err error) {
	v := `Bearer realm="ssehub"`
	if errors.Is(err, auth.ErrInvalidToken) {
		v += `, error="invalid_token"`
	}
	h.Set("WWW-Authenticate", v)
}

// credential is a token a request presents and where it was found.
type credential struct {
	token string
	field string // "Authorization", "authorization" (query) or CookieName
}

// findToken returns the request's token, "" with no error when it presents
// none. A malformed Authorization header is an error, never anonymous.
func findToken(r *http.Request) (credential, error) {
	if hs := r.Header.Values("Authorization"); len(hs) > 0 {
		scheme, tok, ok := strings.Cut(hs[0], " ")
		if len(hs) > 1 || !ok || !strings.EqualFold(scheme, "Bearer") {
			return credential{}, &authError{"Authorization", fmt.Errorf("%w: the Authorization header must be one \"Bearer <token>\"", auth.ErrInvalidToken)}
		}
		return credential{strings.TrimSpace(tok), "Authorization"}, nil
	}
	if vs, ok := r.URL.Query()[queryParam]; ok {
		if len(vs) > 1 {
			return credential{}, &authError{queryParam, fmt.Errorf("%w: give the authorization parameter once", auth.ErrInvalidToken)}
		}
		return credential{vs[0], queryParam}, nil
	}
	if c, err := r.Cookie(CookieName); err == nil && c.Value != "" {
		return credential{c.Value, CookieName}, nil
	}
	return credential{}, nil
}

// verify checks a credential with v, naming where it came from on failure.
func verify(v *auth.Verifier, c credential, role string) (*auth.Claims, error) {
	if v == nil {
		return nil, &authError{c.field, fmt.Errorf("%w: this hub has no %s key, so it cannot verify %s tokens", auth.ErrInvalidToken, role, role)}
	}
	claims, err := v.Verify(c.token)
	if err != nil {
		return nil, &authError{c.field, fmt.Errorf("%s token in %s: %w", role, where(c.field), err)}
	}
	return claims, nil
}

func where(field string) string {
	switch field {
	case "Authorization":
		return "the Authorization header"
	case queryParam:
		return "the authorization query parameter"
	}
	return "the " + field + " cookie"
}

// subscriber authorizes a subscription. An anonymous subscriber (allowed
// unless DenyAnonymous) gets empty claims: public updates only. In open
// development mode tokens are ignored: nothing could verify them.
func (a *API) subscriber(r *http.Request) (*auth.Claims, error) {
	if a.authMode() == ModeOpenDev {
		return &auth.Claims{}, nil
	}
	c, err := findToken(r)
	if err != nil {
		return nil, err
	}
	if c.token == "" && c.field == "" {
		if a.cfg.DenyAnonymous {
			return nil, &authError{"Authorization", fmt.Errorf("%w: this hub admits no anonymous subscriber: send a token (Authorization: Bearer, the authorization query parameter or the %s cookie)", auth.ErrNoToken, CookieName)}
		}
		return &auth.Claims{}, nil
	}
	return verify(a.cfg.Subscribers, c, "subscriber")
}

// publisher authenticates a publisher; the caller checks the update's topics
// with CanPublish. In open development mode a loopback client may publish
// anything and any other is refused.
func (a *API) publisher(r *http.Request) (*auth.Claims, error) {
	if a.authMode() == ModeOpenDev {
		if !a.clientAddr(r).IsLoopback() {
			return nil, fmt.Errorf("%w: this hub runs in open development mode (no JWT key configured) and takes anonymous publishes only from loopback clients; set -jwt-key (SSEHUB_JWT_KEY) to a secret or a PEM public key file and publish with a token", auth.ErrForbidden)
		}
		return &auth.Claims{Publish: []string{"*"}}, nil
	}
	c, err := findToken(r)
	if err != nil {
		return nil, err
	}
	if c.token == "" && c.field == "" {
		return nil, &authError{"Authorization", fmt.Errorf("%w: publishing needs a token with a mercure.publish claim (Authorization: Bearer <token>)", auth.ErrNoToken)}
	}
	if c.field == CookieName {
		if err := a.checkOrigin(r); err != nil {
			return nil, err
		}
	}
	return verify(a.cfg.Publishers, c, "publisher")
}

// authorizePublish checks that the request may publish to topics.
func (a *API) authorizePublish(r *http.Request, topics ...string) error {
	claims, err := a.publisher(r)
	if err != nil {
		return err
	}
	return canPublish(claims, topics)
}

// canPublish checks the topics against the claims, naming the topic field.
func canPublish(claims *auth.Claims, topics []string) error {
	if err := claims.CanPublish(topics); err != nil {
		return &authError{"topic", err}
	}
	return nil
}

// checkOrigin guards publishes authenticated by a cookie against cross-site
// request forgery, as the protocol asks: the Origin header (else the origin
// of the Referer) must be the hub's own or one listed in CORSOrigins, and a
// request with neither header is refused. "*" does not count: like the CORS
// answers, which allow credentials only to listed origins, it admits no
// cross-origin request that carries the cookie.
func (a *API) checkOrigin(r *http.Request) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		if ref, err := url.Parse(r.Header.Get("Referer")); err == nil && ref.Scheme != "" && ref.Host != "" {
			origin = ref.Scheme + "://" + ref.Host
		}
	}
	if origin == "" {
		return &authError{"Origin", fmt.Errorf("%w: a publish authenticated by the %s cookie needs an Origin or Referer header", auth.ErrForbidden, CookieName)}
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if origin == scheme+"://"+r.Host || slices.Contains(a.cors.origins, origin) {
		return nil
	}
	return &authError{"Origin", fmt.Errorf("%w: origin %s may not publish with the %s cookie: it is neither the hub's origin nor listed in -cors-origins", auth.ErrForbidden, origin, CookieName)}
}

// publishing wraps h so that it runs only for a publisher allowed to publish
// to the topic topicOf returns; fail writes refusals.
func (a *API) publishing(topicOf func(*http.Request) string, h http.HandlerFunc, fail func(http.ResponseWriter, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := a.authorizePublish(r, topicOf(r)); err != nil {
			if status, _ := statusOf(err); status == http.StatusUnauthorized {
				setChallenge(w.Header(), err)
			}
			fail(w, err)
			return
		}
		h(w, r)
	}
}

// generationTopic is the topic of the generation a request names.
func (a *API) generationTopic(r *http.Request) string {
	id := r.PathValue("id")
	if g, ok := a.cfg.Generations.Get(id); ok {
		return g.Topic()
	}
	return llm.DefaultTopicPrefix + id
}

func fixedTopic(t string) func(*http.Request) string {
	return func(*http.Request) string { return t }
}
