// Package auth decides who may publish and subscribe to which topics: it
// verifies the JSON Web Tokens of the Mercure protocol (a compact JWS signed
// with HS256, RS256 or ES256, or EdDSA by an issuer's KeySet) and reads
// their grants: a classic token's mercure.publish and mercure.subscribe
// topic selectors, a Mercure 1.0 access token's (RFC 9068, typ at+jwt)
// authorization_details, as typed topic.Specs. It knows nothing of HTTP.
package auth

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ssehub/ssehub/internal/topic"
)

// Errors, by what the HTTP layer answers: ErrNoToken and ErrInvalidToken
// (401), ErrForbidden (403). Every error of Verify is ErrInvalidToken and
// also one of the reasons below it.
var (
	ErrNoToken      = errors.New("no token")
	ErrInvalidToken = errors.New("invalid token")
	ErrForbidden    = errors.New("forbidden")
	// ErrInvalidRequest is a token presented the wrong way (a malformed
	// Authorization header, an access token in the URL): 400.
	ErrInvalidRequest = errors.New("invalid request")

	ErrMalformed   = errors.New("malformed token")
	ErrAlgorithm   = errors.New("algorithm refused")
	ErrSignature   = errors.New("signature does not verify")
	ErrExpired     = errors.New("token expired")
	ErrNotYetValid = errors.New("token not valid yet")
	ErrClaims      = errors.New("bad mercure claim")
	ErrExtension   = errors.New("critical extension not understood")
	ErrIssuer      = errors.New("issuer not trusted")
	ErrAudience    = errors.New("audience not this hub")
)

// tokenError is a refused token: ErrInvalidToken and its reason.
type tokenError struct {
	reason error
	msg    string
}

func (e *tokenError) Error() string   { return "invalid token: " + e.msg }
func (e *tokenError) Unwrap() []error { return []error{ErrInvalidToken, e.reason} }

func invalid(reason error, format string, args ...any) error {
	return &tokenError{reason: reason, msg: fmt.Sprintf(format, args...)}
}

// Leeway is how far ahead of the hub's clock a token's nbf may be, to allow
// for clock skew between the issuer and the hub. exp is checked exactly: a
// subscription ends at that time.
const Leeway = 5 * time.Second

// signedPayload is the payload as the jwt package sees it: kept as JSON
// text, for decodePayload to read once the signature verifies.
type signedPayload struct {
	jwt.RegisteredClaims // what jwt.Claims needs; never filled
	json                 []byte
}

// UnmarshalJSON keeps b, which encoding/json has found valid JSON.
func (p *signedPayload) UnmarshalJSON(b []byte) error {
	p.json = slices.Clone(b)
	return nil
}

// Verifier checks tokens signed with one algorithm and key, which Replace
// may change while it is in use. It is safe for concurrent use.
type Verifier struct {
	current atomic.Pointer[signingKey]
	parser  *jwt.Parser
	access  *Access // nil: access tokens refused
}

// signingKey is a verifier's algorithm and keys: the current one, and any
// previous one still accepted.
type signingKey struct {
	alg  string
	keys []jwt.VerificationKey
}

// Alg returns the algorithm the verifier accepts.
func (v *Verifier) Alg() string { return v.current.Load().alg }

// Replace makes v verify with w's algorithm and key from now on (a key
// file reloaded); tokens verified before stay verified.
func (v *Verifier) Replace(w *Verifier) { v.current.Store(w.current.Load()) }

// Verify checks a compact JWS: its algorithm (only the configured one; never
// "none"), its signature, then, strictly, its header and payload (members
// named once, no crit, NumericDates that are numbers in range), exp and
// nbf, and the shape of its mercure claim. Every error wraps
// ErrInvalidToken and names the reason.
func (v *Verifier) Verify(token string) (*Claims, error) {
	if token == "" {
		return nil, invalid(ErrMalformed, "the token is empty")
	}
	var sp signedPayload
	k := v.current.Load()
	t, err := v.parser.ParseWithClaims(token, &sp, func(t *jwt.Token) (any, error) { return v.keyFor(k, t, &sp) })
	if err != nil {
		return nil, k.refusal(t, err)
	}
	h, p, err := readSigned(token, sp.json)
	if err != nil {
		return nil, err
	}
	if err := p.checkTimes(time.Now()); err != nil {
		return nil, err
	}
	if IsAccessType(h.typ) {
		return v.access.claims(p)
	}
	return p.classicClaims()
}

// classicClaims returns the claims of a classic token, which may not
// carry Mercure authorization details: they need typ at+jwt.
func (p *payload) classicClaims() (*Claims, error) {
	if len(p.details) > 0 {
		return nil, invalid(ErrClaims, "the token has Mercure authorization_details but its header's typ is not at+jwt: a Mercure 1.0 access token must say typ at+jwt (RFC 9068)")
	}
	if err := checkSelectors("mercure.publish", p.claims.Publish); err != nil {
		return nil, err
	}
	if err := checkSelectors("mercure.subscribe", p.claims.Subscribe); err != nil {
		return nil, err
	}
	return &p.claims, nil
}

// readSigned reads the header and the payload of a token whose signature
// verifies, strictly: the jwt package read them leniently.
func readSigned(token string, claims []byte) (header, *payload, error) {
	seg, _, _ := strings.Cut(token, ".")
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return header{}, nil, invalid(ErrMalformed, "the header is not base64url: %v", err)
	}
	h, err := checkHeader(b)
	if err != nil {
		return h, nil, err
	}
	if claims == nil { // the payload is null: encoding/json gave it no UnmarshalJSON
		claims = []byte("null")
	}
	p, err := decodePayload(claims)
	return h, p, err
}

// checkTimes refuses a token expired at now, or not valid yet.
func (p *payload) checkTimes(now time.Time) error {
	if exp := p.claims.Expiry; !exp.IsZero() && !now.Before(exp) {
		return invalid(ErrExpired, "expired at %s", exp.UTC().Format(time.RFC3339))
	}
	if !p.nbf.IsZero() && now.Add(Leeway).Before(p.nbf) {
		return invalid(ErrNotYetValid, "not valid before %s (nbf)", p.nbf.UTC().Format(time.RFC3339))
	}
	return nil
}

// keyFor returns the key to verify t with: an access token's issuer's
// (see Access.keyFor), else the static key when the token claims the
// configured algorithm. Checking it here, before any signature check,
// refuses "none" and the confusion of algorithms (an HS256 token whose
// secret is a public key).
func (v *Verifier) keyFor(k *signingKey, t *jwt.Token, sp *signedPayload) (any, error) {
	alg, _ := t.Header["alg"].(string)
	if typ, _ := t.Header["typ"].(string); IsAccessType(typ) {
		return v.access.keyFor(k, alg, t.Header["kid"], sp.json)
	}
	if len(k.keys) == 0 {
		return nil, invalid(ErrAlgorithm, "this hub has no static key for classic tokens (-jwt-key): present a Mercure 1.0 access token (typ at+jwt)")
	}
	return k.keyOf(alg)
}

// keyOf returns the static key when alg is its algorithm.
func (k *signingKey) keyOf(alg string) (any, error) {
	if alg != k.alg {
		return nil, invalid(ErrAlgorithm, "the token is signed with %q, this hub accepts only %s", alg, k.alg)
	}
	if len(k.keys) == 1 {
		return k.keys[0], nil
	}
	return jwt.VerificationKeySet{Keys: k.keys}, nil
}

// refusal turns a parse error of the jwt package into one of ours.
func (k *signingKey) refusal(t *jwt.Token, err error) error {
	var (
		te  *tokenError
		alg string
	)
	if t != nil {
		alg, _ = t.Header["alg"].(string)
	}
	switch {
	case errors.As(err, &te):
		return te
	case errors.Is(err, jwt.ErrTokenMalformed):
		return invalid(ErrMalformed, "%v", err)
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return invalid(ErrAlgorithm, "the token is signed with %q, which is unknown; this hub accepts only %s", alg, k.alg)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return invalid(ErrSignature, "the signature does not verify with the hub's %s key", k.alg)
	}
	return invalid(ErrMalformed, "%v", err)
}

// checkSelectors refuses empty selectors, which would match nothing and
// which the hub refuses.
func checkSelectors(claim string, sels []topic.Spec) error {
	for i, s := range sels {
		if s.Match == "" {
			return invalid(ErrClaims, "%s[%d] is an empty topic selector", claim, i)
		}
	}
	return nil
}
