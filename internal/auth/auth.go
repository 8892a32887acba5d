// Package auth decides who may publish and subscribe to which topics: it
// verifies the JSON Web Tokens of the Mercure protocol (a compact JWS signed
// with HS256, RS256 or ES256) and reads their mercure.publish and
// mercure.subscribe topic selectors. It knows nothing of HTTP.
package auth

import (
	"encoding/base64"
	"encoding/json"
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

	ErrMalformed   = errors.New("malformed token")
	ErrAlgorithm   = errors.New("algorithm refused")
	ErrSignature   = errors.New("signature does not verify")
	ErrExpired     = errors.New("token expired")
	ErrNotYetValid = errors.New("token not valid yet")
	ErrClaims      = errors.New("bad mercure claim")
	ErrExtension   = errors.New("critical extension not understood")
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

// Claims is what a verified token grants.
type Claims struct {
	// Publish are the selectors of the topics it may publish to
	// (mercure.publish); none means it may publish nothing.
	Publish []string
	// Subscribe are the selectors of the topics whose private updates it may
	// receive (mercure.subscribe); none means only public updates.
	Subscribe []string
	// Payload is mercure.payload, kept as sent.
	Payload json.RawMessage
	// Expiry is exp; the zero time when the token has none.
	Expiry time.Time
	// Subject is sub: whom the token was issued to, "" when it does not
	// say. An LLM generation belongs to the subject that started it.
	Subject string
}

// CanPublish returns nil when every topic matches a selector of Publish,
// else an error wrapping ErrForbidden that names the first topic refused.
func (c *Claims) CanPublish(topics []string) error {
	if len(c.Publish) == 0 {
		return fmt.Errorf("%w: the token has no mercure.publish claim, so it may not publish", ErrForbidden)
	}
	sels, err := topic.CompileAll(c.Publish)
	if err != nil {
		return fmt.Errorf("%w: mercure.publish: %w", ErrForbidden, err)
	}
	set := topic.NewSet(sels) // many claims and topics: exact claims looked up
	for _, t := range topics {
		if !set.Match(t) {
			return fmt.Errorf("%w: the token may not publish to topic %q: no selector of its mercure.publish claim matches it", ErrForbidden, t)
		}
	}
	return nil
}

// CanSubscribe returns nil when a selector of Subscribe matches t, else
// an error wrapping ErrForbidden: the check of the subscriptions web API,
// whose paths a subscriber's mercure.subscribe claim must match.
func (c *Claims) CanSubscribe(t string) error {
	sels, err := topic.CompileAll(c.Subscribe)
	if err != nil {
		return fmt.Errorf("%w: mercure.subscribe: %w", ErrForbidden, err)
	}
	if !topic.MatchAny(sels, []string{t}) {
		return fmt.Errorf("%w: no selector of the token's mercure.subscribe claim matches %q", ErrForbidden, t)
	}
	return nil
}

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
	t, err := v.parser.ParseWithClaims(token, &sp, k.keyFor)
	if err != nil {
		return nil, k.refusal(t, err)
	}
	p, err := readSigned(token, sp.json)
	if err != nil {
		return nil, err
	}
	if err := p.checkTimes(time.Now()); err != nil {
		return nil, err
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
func readSigned(token string, claims []byte) (*payload, error) {
	seg, _, _ := strings.Cut(token, ".")
	header, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return nil, invalid(ErrMalformed, "the header is not base64url: %v", err)
	}
	if err := checkHeader(header); err != nil {
		return nil, err
	}
	if claims == nil { // the payload is null: encoding/json gave it no UnmarshalJSON
		claims = []byte("null")
	}
	return decodePayload(claims)
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

// keyFor returns the key when the token claims the configured algorithm.
// Checking it here, before any signature check, refuses "none" and the
// confusion of algorithms (an HS256 token whose secret is a public key).
func (k *signingKey) keyFor(t *jwt.Token) (any, error) {
	alg, _ := t.Header["alg"].(string)
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
func checkSelectors(claim string, sels []string) error {
	for i, s := range sels {
		if s == "" {
			return invalid(ErrClaims, "%s[%d] is an empty topic selector", claim, i)
		}
	}
	return nil
}
