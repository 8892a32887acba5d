package app

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"

	"github.com/ssehub/ssehub/internal/auth"
	"github.com/ssehub/ssehub/internal/jwks"
)

// TokenConfig is the settings of Mercure 1.0 access tokens (typ at+jwt)
// and of where tokens may be presented.
type TokenConfig struct {
	Issuers    string // comma-separated trusted issuers (iss); -jwt-issuer may repeat
	Audience   string // the hub's resource identifier, which aud must hold
	JWKSURLs   string // comma-separated "[ISSUER ]URL" of the issuers' JWK Sets
	CookieName string // the Mercure 1.0 cookie (mercureAuthorization is read too)
	QueryToken bool   // the authorization query parameter takes classic tokens
}

// tokenFlags defines the flags of c.
func tokenFlags(fs *flag.FlagSet, c *TokenConfig) {
	fs.Var(&listValue{p: &c.Issuers, fs: fs}, "jwt-issuer", "trusted issuer of Mercure 1.0 access tokens (typ at+jwt), their iss: repeat it or separate with commas; with -jwt-audience it turns access tokens on")
	fs.StringVar(&c.Audience, "jwt-audience", c.Audience, "the hub's resource identifier, which an access token's aud must hold, e.g. https://hub.example.com/.well-known/mercure; also the base of relative URL patterns")
	fs.Var(&listValue{p: &c.JWKSURLs, fs: fs}, "jwt-jwks-url", "JWK Set URL of an issuer's signing keys (RS256, ES256, EdDSA): the URL when there is one -jwt-issuer, else \"ISSUER URL\"; repeat it for several issuers")
	fs.StringVar(&c.CookieName, "cookie-name", c.CookieName, "the cookie holding a token (Mercure 1.0); the classic mercureAuthorization cookie is read too")
	fs.BoolVar(&c.QueryToken, "query-token", c.QueryToken, "accept a classic token in the authorization query parameter (never an access token); false refuses it with 400")
}

// listValue is a comma-separated setting that the command line may repeat:
// a file or the environment sets it whole, the command line replaces
// that and then adds to its own.
type listValue struct {
	p        *string
	fs       *flag.FlagSet
	fromArgs bool
}

func (l *listValue) String() string {
	if l.p == nil {
		return ""
	}
	return *l.p
}

// Set sets or adds v.
func (l *listValue) Set(v string) error {
	if l.fs.Parsed() && l.fromArgs && *l.p != "" {
		*l.p += "," + v
		return nil
	}
	l.fromArgs = l.fs.Parsed()
	*l.p = v
	return nil
}

// split returns the items of a comma-separated list.
func split(s string) []string {
	var out []string
	for _, it := range strings.Split(s, ",") {
		if it = strings.TrimSpace(it); it != "" {
			out = append(out, it)
		}
	}
	return out
}

// validate checks the settings alone.
func (c TokenConfig) validate() error {
	var errs []error
	if c.CookieName == "" || strings.ContainsAny(c.CookieName, " ;,=\t\"") {
		errs = append(errs, fmt.Errorf("-cookie-name %q is not a cookie name", c.CookieName))
	}
	if c.Audience != "" {
		if u, err := url.Parse(c.Audience); err != nil || !u.IsAbs() {
			errs = append(errs, fmt.Errorf("-jwt-audience %q must be an absolute URL, e.g. https://hub.example.com/.well-known/mercure", c.Audience))
		}
	}
	if (c.Audience == "") != (c.Issuers == "") {
		errs = append(errs, errors.New("-jwt-issuer and -jwt-audience go together: access tokens need both a trusted issuer and the hub's resource identifier"))
	}
	if c.JWKSURLs != "" && c.Issuers == "" {
		errs = append(errs, errors.New("-jwt-jwks-url needs -jwt-issuer and -jwt-audience: a JWK Set's keys belong to an issuer"))
	}
	return errors.Join(errs...)
}

// jwksSource is an issuer's JWK Set URL.
type jwksSource struct{ issuer, url string }

// access returns the access token settings, nil when access tokens are
// off, and the issuers' JWK Set URLs, which startJWKS starts.
func (c TokenConfig) access() (*auth.Access, []jwksSource, error) {
	issuers := split(c.Issuers)
	if len(issuers) == 0 {
		return nil, nil, nil
	}
	a := &auth.Access{Issuers: issuers, Audience: c.Audience, Keys: map[string]auth.KeySet{}}
	var srcs []jwksSource
	for _, item := range split(c.JWKSURLs) {
		iss, u, err := jwksItem(item, issuers)
		if err != nil {
			return nil, nil, err
		}
		if slices.ContainsFunc(srcs, func(s jwksSource) bool { return s.issuer == iss }) {
			return nil, nil, fmt.Errorf("-jwt-jwks-url: issuer %q has two JWK Set URLs", iss)
		}
		srcs = append(srcs, jwksSource{iss, u})
	}
	return a, srcs, nil
}

// startJWKS starts fetching the JWK Sets of srcs into a's keys; the
// caller closes the sets. Call it before a is used.
func startJWKS(a *auth.Access, srcs []jwksSource, log *slog.Logger) []*jwks.Set {
	sets := make([]*jwks.Set, 0, len(srcs))
	for _, src := range srcs {
		s := jwks.New(jwks.Config{URL: src.url, Logger: log})
		a.Keys[src.issuer] = s
		sets = append(sets, s)
		log.Info("access tokens: signing keys from a JWK Set", "issuer", src.issuer, "url", src.url)
	}
	return sets
}

// withAccess has the verifiers of publishers and subscribers (static
// keys; nil for none) accept access tokens as a says, adding verifiers
// of access tokens only for a role without a static key when JWK Sets
// can verify them. The static key verifies the tokens of at most one
// issuer, the one without a JWK Set: draft-08 binds each key to one
// issuer. With a nil a in JWT mode the log says access tokens are
// refused, and why.
func withAccess(pub, sub *auth.Verifier, a *auth.Access, srcs []jwksSource, log *slog.Logger) (*auth.Verifier, *auth.Verifier, error) {
	if a == nil {
		if pub != nil || sub != nil {
			log.Info("Mercure 1.0 access tokens (typ at+jwt) are refused with 401: set -jwt-issuer and -jwt-audience to accept them beside classic tokens")
		}
		return pub, sub, nil
	}
	if err := checkSelfIssued(a.Issuers, srcs, pub != nil || sub != nil); err != nil {
		return nil, nil, err
	}
	role := func(v *auth.Verifier) *auth.Verifier {
		switch {
		case v != nil:
			v.SetAccess(a)
		case len(srcs) > 0:
			v = auth.NewAccessVerifier(a)
		}
		return v
	}
	pub, sub = role(pub), role(sub)
	log.Info("Mercure 1.0 access tokens accepted beside classic tokens", "issuers", a.Issuers, "audience", a.Audience)
	return pub, sub, nil
}

// checkSelfIssued refuses issuers without a JWK Set beyond the one the
// static key (when there is one) verifies.
func checkSelfIssued(issuers []string, srcs []jwksSource, static bool) error {
	var self []string
	for _, iss := range issuers {
		if !slices.ContainsFunc(srcs, func(s jwksSource) bool { return s.issuer == iss }) {
			self = append(self, iss)
		}
	}
	switch {
	case len(self) > 1:
		return fmt.Errorf("-jwt-issuer: %q have no JWK Set, and -jwt-key verifies the access tokens of one issuer only (draft-08 binds each key to one issuer): give the others -jwt-jwks-url", self)
	case len(self) == 1 && !static:
		return fmt.Errorf("-jwt-issuer %q has no key to verify its access tokens with: set -jwt-key (its own key) or -jwt-jwks-url", self[0])
	}
	return nil
}

// jwksItem reads one -jwt-jwks-url: "ISSUER URL", or the URL of the only
// issuer.
func jwksItem(item string, issuers []string) (iss, u string, err error) {
	iss, u, ok := strings.Cut(item, " ")
	if !ok {
		if len(issuers) != 1 {
			return "", "", fmt.Errorf("-jwt-jwks-url %q: with several -jwt-issuer, write \"ISSUER URL\"", item)
		}
		iss, u = issuers[0], item
	}
	u = strings.TrimSpace(u)
	if !slices.Contains(issuers, iss) {
		return "", "", fmt.Errorf("-jwt-jwks-url %q: %q is not one of -jwt-issuer", item, iss)
	}
	if p, err := url.Parse(u); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
		return "", "", fmt.Errorf("-jwt-jwks-url %q: not an http(s) URL", item)
	}
	return iss, u, nil
}
