package httpapi

import (
	"github.com/ssehub/ssehub/internal/topic"

	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/ssehub/ssehub/internal/appauth"
	"github.com/ssehub/ssehub/internal/auth"
	"github.com/ssehub/ssehub/internal/httpio"
)

// Authorizer asks the application behind the hub who may subscribe or
// publish, with the request's own credentials (package appauth implements
// it over HTTP). Its rights are those a token would carry; its errors are
// an *appauth.Refusal (the application said no), an error wrapping
// appauth.ErrUnavailable (it decided nothing), or ctx's.
type Authorizer interface {
	Authorize(ctx context.Context, q appauth.Request) (*auth.Claims, error)
}

// appRetry is the Retry-After of a request refused because the application
// could not decide.
const appRetry = 2 * time.Second

// errRightsChanged ends a stream whose renewed rights differ from those it
// was opened with: the client reconnects, and gets the new ones.
var errRightsChanged = errors.New("the app now grants other rights: the client must reconnect for them")

// appDecides reports whether the application decides r's rights rather
// than a token: when it is configured (for publishes, with AppPublish),
// for every request with AppAlways, else for a request without a token. A
// malformed Authorization header is refused, as without the application.
func (a *API) appDecides(r *http.Request, publishing bool) (bool, error) {
	if a.cfg.App == nil || (publishing && !a.cfg.AppPublish) {
		return false, nil
	}
	if a.cfg.AppAlways {
		return true, nil
	}
	c, err := a.findToken(r)
	if err != nil {
		return false, err
	}
	return c.token == "" && c.field == "", nil
}

// askApp asks the application about r: action on topics. It returns the
// rights granted and the question, to ask again when they expire.
func (a *API) askApp(r *http.Request, action string, topics []string) (*auth.Claims, *appauth.Request, error) {
	q := &appauth.Request{Action: action, Topics: topics, ClientIP: a.clientIP(r),
		Origin: r.Header.Get("Origin"), Query: appQuery(r), Header: r.Header}
	claims, err := a.cfg.App.Authorize(r.Context(), *q)
	if err != nil {
		return nil, nil, appError(r, action, err)
	}
	return claims, q, nil
}

// appQuery is r's query without what the application is told otherwise
// (the topics) or needs not know (the resume point, which differs at
// every reconnection and would defeat the cache).
func appQuery(r *http.Request) url.Values {
	q := r.URL.Query()
	delete(q, "topic")
	delete(q, "lastEventID")
	return q
}

// appError turns the application's refusal into the answer passing its
// status and message on, and its failure into a 503: never a grant.
func appError(r *http.Request, action string, err error) error {
	var refusal *appauth.Refusal
	var failure *appauth.Failure
	switch {
	case errors.As(err, &refusal):
		msg := "the app refused"
		if refusal.Msg != "" {
			msg += ": " + refusal.Msg
		}
		field := "Cookie"
		if r.Header.Get("Cookie") == "" && r.Header.Get("Authorization") != "" {
			field = "Authorization"
		}
		return &httpio.Error{Status: refusal.Status, Field: field, Msg: msg}
	case errors.As(err, &failure):
		what := map[string]string{
			appauth.FailUnreachable: "cannot be reached",
			appauth.FailTimeout:     "did not answer in time",
			appauth.FailStatus:      fmt.Sprintf("answered %d", failure.Status),
			appauth.FailMalformed:   "answered something that is not rights",
		}[failure.Kind]
		return &httpio.Error{Status: http.StatusServiceUnavailable, RetryAfter: appRetry,
			Msg: fmt.Sprintf("the app, which decides who may %s, %s: nothing is granted; retry later", action, what)}
	}
	return err
}

// renewer returns the stream's Renew for rights the application granted
// that expire: it asks the application again, and the stream goes on while
// the answer grants the same subscriber the same private topics, until its
// new expiry. nil for rights that do not expire, or came from a token.
func (a *API) renewer(q *appauth.Request, granted *auth.Claims) func(context.Context) (time.Time, error) {
	if q == nil || granted.Expiry.IsZero() {
		return nil
	}
	want := sorted(granted.Subscribe)
	return func(ctx context.Context) (time.Time, error) {
		c, err := a.cfg.App.Authorize(ctx, *q)
		if err != nil {
			return time.Time{}, err
		}
		if c.Subject != granted.Subject || !slices.Equal(sorted(c.Subscribe), want) {
			return time.Time{}, errRightsChanged
		}
		return c.Expiry, nil
	}
}

// sorted returns the selectors of specs, typed and sorted.
func sorted(specs []topic.Spec) []string {
	s := make([]string, len(specs))
	for i, sp := range specs {
		s[i] = string(sp.Type) + ":" + sp.Match
	}
	slices.Sort(s)
	return s
}

// appPublisher asks the application whether r may publish to topics (none
// for the LLM endpoints, whose topic is not known yet). A request with
// cookies must come from the hub's origin or one of CORSOrigins, against
// cross-site request forgery.
func (a *API) appPublisher(r *http.Request, topics []string) (*auth.Claims, error) {
	if r.Header.Get("Cookie") != "" {
		if err := a.checkOrigin(r, "cookies"); err != nil {
			return nil, err
		}
	}
	claims, _, err := a.askApp(r, appauth.ActionPublish, topics)
	return claims, err
}
