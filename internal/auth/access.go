package auth

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
)

// Access says how Mercure 1.0 access tokens (RFC 9068, typ at+jwt) are
// checked: their iss must be one of Issuers, their aud must hold
// Audience, their exp is required. An issuer with a KeySet in Keys is
// verified with its keys only; the others with the verifier's static key.
type Access struct {
	Issuers  []string          // the trusted issuers; none: access tokens are refused
	Audience string            // the hub's resource identifier; "": access tokens are refused
	Keys     map[string]KeySet // by issuer: its signing keys (a JWKS)
}

// KeySet is the signing keys of one issuer, chosen by kid.
type KeySet interface {
	// Key returns the public key of kid, for the algorithm alg (RS256,
	// ES256 or EdDSA), or an error saying why there is none.
	Key(kid, alg string) (any, error)
}

// jwksAlgs are the algorithms a token verified with a KeySet may use.
var jwksAlgs = []string{RS256, ES256, EdDSA}

// EdDSA is the Ed25519 signature algorithm, which JWKS keys may use.
const EdDSA = "EdDSA"

// IsAccessType reports whether a JOSE header's typ names a JWT access
// token: at+jwt or application/at+jwt, whatever their case (RFC 9068).
func IsAccessType(typ string) bool {
	typ = strings.ToLower(typ)
	return typ == "at+jwt" || typ == "application/at+jwt"
}

// PeekAccess reports whether token's header, read without verifying
// anything, says typ at+jwt: to refuse an access token where only classic
// ones may go (a URL), before any verification.
func PeekAccess(token string) bool {
	seg, _, _ := strings.Cut(token, ".")
	if len(seg) > 8192 {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return false
	}
	h, err := checkHeader(b)
	return err == nil && IsAccessType(h.typ)
}

// SetAccess has v accept access tokens as a says; call it before v is
// used. Without it v refuses them.
func (v *Verifier) SetAccess(a *Access) { v.access = a }

// NewAccessVerifier returns a Verifier of access tokens only: one that
// has no static key, so refuses classic tokens.
func NewAccessVerifier(a *Access) *Verifier {
	v := &Verifier{parser: newParser(), access: a}
	v.current.Store(&signingKey{})
	return v
}

// ready refuses access tokens when a is not configured for them.
func (a *Access) ready() error {
	switch {
	case a == nil || len(a.Issuers) == 0 && a.Audience == "":
		return invalid(ErrClaims, "this hub accepts no Mercure 1.0 access token (typ at+jwt): it has no trusted issuer (-jwt-issuer) and no resource identifier (-jwt-audience)")
	case len(a.Issuers) == 0:
		return invalid(ErrClaims, "this hub accepts no Mercure 1.0 access token (typ at+jwt): it has no trusted issuer (-jwt-issuer)")
	case a.Audience == "":
		return invalid(ErrClaims, "this hub accepts no Mercure 1.0 access token (typ at+jwt): it has no resource identifier (-jwt-audience)")
	}
	return nil
}

// keyFor returns the key of an access token: its issuer's KeySet's key
// of kid, else the static key. The issuer is read leniently from the
// payload here; claims checks it again once the payload is read strictly.
func (a *Access) keyFor(k *signingKey, alg string, kid any, payload []byte) (any, error) {
	if err := a.ready(); err != nil {
		return nil, err
	}
	var p struct {
		Iss any `json:"iss"`
	}
	_ = json.Unmarshal(payload, &p)
	iss, _ := p.Iss.(string)
	if !slices.Contains(a.Issuers, iss) {
		return nil, invalid(ErrIssuer, "the access token's iss %q is not one of this hub's trusted issuers", iss)
	}
	ks := a.Keys[iss]
	if ks == nil {
		if len(k.keys) == 0 {
			return nil, invalid(ErrAlgorithm, "issuer %q has no key on this hub", iss)
		}
		return k.keyOf(alg)
	}
	if !slices.Contains(jwksAlgs, alg) {
		return nil, invalid(ErrAlgorithm, "the token is signed with %q; keys of issuer %q verify only RS256, ES256 and EdDSA", alg, iss)
	}
	id, _ := kid.(string)
	key, err := ks.Key(id, alg)
	if err != nil {
		return nil, invalid(ErrSignature, "issuer %q: %v", iss, err)
	}
	return key, nil
}

// claims checks an access token's verified payload (RFC 9068 section 4:
// iss, aud, exp) and returns what its Mercure details grant.
func (a *Access) claims(p *payload) (*Claims, error) {
	if err := a.ready(); err != nil {
		return nil, err
	}
	switch {
	case !slices.Contains(a.Issuers, p.iss):
		return nil, invalid(ErrIssuer, "the access token's iss %q is not one of this hub's trusted issuers", p.iss)
	case !slices.Contains(p.aud, a.Audience):
		return nil, invalid(ErrAudience, "the access token's aud %q does not hold this hub's resource identifier %q", p.aud, a.Audience)
	case p.claims.Expiry.IsZero():
		return nil, invalid(ErrExpired, "the access token has no exp, which RFC 9068 requires")
	}
	c := Claims{Expiry: p.claims.Expiry, Subject: p.claims.Subject, Base: a.Audience, Details: p.details}
	if c.Details == nil {
		c.Details = []Detail{}
	}
	for _, d := range c.Details {
		if d.Publish {
			c.Publish = append(c.Publish, d.Topics...)
		}
		if d.Subscribe {
			c.Subscribe = append(c.Subscribe, d.Topics...)
		}
	}
	return &c, nil
}
