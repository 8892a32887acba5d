package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/ssehub/ssehub/internal/appauth"
	"github.com/ssehub/ssehub/internal/auth"
	"github.com/ssehub/ssehub/internal/httpio"
	"github.com/ssehub/ssehub/internal/topic"
)

// Values of "auth" in the health answer.
const (
	ModeOpenDev     = "open-dev"     // no key: anonymous publishing from loopback clients only
	ModeJWT         = "jwt"          // publishers, and subscribers with a token, present a verified JWT
	ModeCallback    = "callback"     // no key: the app's authorization callback decides (Config.App)
	ModeJWTCallback = "jwt+callback" // verified JWTs, and the app's callback for the rest
)

// authMode says how the hub authorizes requests.
func (a *API) authMode() string {
	if a.cfg.Publishers == nil && a.cfg.Subscribers == nil {
		return ModeOpenDev
	}
	return ModeJWT
}

// healthMode says in the health answer who authorizes requests.
func (a *API) healthMode() string {
	switch mode := a.authMode(); {
	case a.cfg.App == nil:
		return mode
	case mode == ModeOpenDev:
		return ModeCallback
	}
	return ModeJWTCallback
}

// verify checks a credential with v, naming where it came from on failure.
// Relative URL patterns of an access token resolve against the hub's URL.
func (a *API) verify(r *http.Request, v *auth.Verifier, c credential, role string) (*auth.Claims, error) {
	if v == nil {
		return nil, &httpio.FieldError{Field: c.field, Err: fmt.Errorf("%w: this hub has no %s key, so it cannot verify %s tokens", auth.ErrInvalidToken, role, role)}
	}
	claims, err := v.Verify(c.token)
	if err != nil {
		return nil, &httpio.FieldError{Field: c.field, Err: fmt.Errorf("%s token in %s: %w", role, where(c.field), err)}
	}
	if claims.Base == "" {
		claims.Base = a.hubURL(r)
	}
	return claims, nil
}

// subscriber authorizes a subscription to topics, once it has checked them
// (checkSubscription; after the token, when one decides). An anonymous subscriber
// (allowed unless DenyAnonymous) gets empty claims: public updates only. In
// open development mode tokens are ignored: nothing could verify them.
// When the application decides (see appDecides), it is asked, once the
// topics are checked, and renew asks it again when its rights expire; a
// token it never sees is verified, in open development mode too, so that
// presenting one cannot bypass it.
func (a *API) subscriber(r *http.Request, topics []string) (claims *auth.Claims, renew func(context.Context) (time.Time, error), err error) {
	app, err := a.appDecides(r, false)
	switch {
	case err != nil:
		return nil, nil, err
	case app:
		if err := a.checkSubscription(topics); err != nil {
			return nil, nil, err
		}
		claims, q, err := a.askApp(r, appauth.ActionSubscribe, topics)
		if err != nil {
			return nil, nil, err
		}
		return claims, a.renewer(q, claims), nil
	case a.cfg.App != nil:
		c, _ := a.findToken(r) // appDecides found it
		claims, err = a.verify(r, a.cfg.Subscribers, c, "subscriber")
	default:
		claims, err = a.tokenSubscriber(r)
	}
	if err == nil {
		err = a.checkSubscription(topics)
	}
	return claims, nil, err
}

// tokenSubscriber authorizes a subscription by its token, if any.
func (a *API) tokenSubscriber(r *http.Request) (*auth.Claims, error) {
	if a.authMode() == ModeOpenDev {
		return &auth.Claims{}, nil
	}
	c, err := a.findToken(r)
	if err != nil {
		return nil, err
	}
	if c.token == "" && c.field == "" {
		if a.cfg.DenyAnonymous {
			return nil, &httpio.FieldError{Field: "Authorization", Err: fmt.Errorf("%w: this hub admits no anonymous subscriber: send a token (Authorization: Bearer, the authorization query parameter or the %s cookie)", auth.ErrNoToken, CookieName)}
		}
		return &auth.Claims{}, nil
	}
	return a.verify(r, a.cfg.Subscribers, c, "subscriber")
}

// Publisher authenticates a publisher; the caller checks the update's topics
// with CanPublish. In open development mode a loopback client may publish
// anything and any other is refused. When the application decides
// publishes (see appDecides) it is asked, with no topics: the LLM
// endpoints' topic is not known before the generation starts.
func (a *API) Publisher(r *http.Request) (*auth.Claims, error) {
	return a.publisher(r, nil)
}

// publisher authenticates a publisher to topics: by the application, or
// by its token.
func (a *API) publisher(r *http.Request, topics []string) (*auth.Claims, error) {
	app, err := a.appDecides(r, true)
	if err != nil {
		return nil, err
	}
	if app {
		return a.appPublisher(r, topics)
	}
	return a.tokenPublisher(r)
}

// tokenPublisher authenticates a publisher by its token, or in open
// development mode by its address, unless the application decides
// publishes: a token it never sees is then verified in any mode.
func (a *API) tokenPublisher(r *http.Request) (*auth.Claims, error) {
	if a.authMode() == ModeOpenDev && !(a.cfg.App != nil && a.cfg.AppPublish) {
		if !a.clientAddr(r).IsLoopback() {
			return nil, fmt.Errorf("%w: this hub runs in open development mode (no JWT key configured) and takes anonymous publishes only from loopback clients; set -jwt-key (SSEHUB_JWT_KEY) to a secret or a PEM public key file and publish with a token", auth.ErrForbidden)
		}
		return &auth.Claims{Publish: topic.Specs([]string{topic.Wildcard})}, nil
	}
	c, err := a.findToken(r)
	if err != nil {
		return nil, err
	}
	if c.token == "" && c.field == "" {
		return nil, &httpio.FieldError{Field: "Authorization", Err: fmt.Errorf("%w: publishing needs a token with a mercure.publish claim or a publish authorization detail (Authorization: Bearer <token>)", auth.ErrNoToken)}
	}
	if c.field == CookieName || c.field == a.cfg.CookieName {
		if err := a.checkOrigin(r, "the "+c.field+" cookie"); err != nil {
			return nil, err
		}
	}
	return a.verify(r, a.cfg.Publishers, c, "publisher")
}

// authorizePublish checks that the request may publish to topics.
func (a *API) authorizePublish(r *http.Request, topics ...string) error {
	claims, err := a.publisher(r, topics)
	if err != nil {
		return err
	}
	return canPublish(claims, topics)
}

// canPublish checks the topics against the claims, naming the topic field.
func canPublish(claims *auth.Claims, topics []string) error {
	if err := claims.CanPublish(topics); err != nil {
		return &httpio.FieldError{Field: "topic", Err: err}
	}
	return nil
}

// checkOrigin guards publishes authenticated by a cookie against cross-site
// request forgery, as the protocol asks: the Origin header (else the origin
// of the Referer) must be the hub's own or one listed in CORSOrigins, and a
// request with neither header is refused. "*" does not count: like the CORS
// answers, which allow credentials only to listed origins, it admits no
// cross-origin request that carries the cookie. by names the credentials
// (the cookie, or the cookies the application is asked with).
func (a *API) checkOrigin(r *http.Request, by string) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		if ref, err := url.Parse(r.Header.Get("Referer")); err == nil && ref.Scheme != "" && ref.Host != "" {
			origin = ref.Scheme + "://" + ref.Host
		}
	}
	if origin == "" {
		return &httpio.FieldError{Field: "Origin", Err: fmt.Errorf("%w: a publish authenticated by %s needs an Origin or Referer header", auth.ErrForbidden, by)}
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if origin == scheme+"://"+r.Host || slices.Contains(a.cors.origins, origin) {
		return nil
	}
	return &httpio.FieldError{Field: "Origin", Err: fmt.Errorf("%w: origin %s may not publish with %s: it is neither the hub's origin nor listed in -cors-origins", auth.ErrForbidden, origin, by)}
}

// publishing wraps h so that it runs only for a publisher allowed to publish
// to topic.
func (a *API) publishing(topic string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := a.authorizePublish(r, topic); err != nil {
			writeErr(w, r, err)
			return
		}
		h(w, r)
	}
}
