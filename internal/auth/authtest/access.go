package authtest

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// DetailType is the type of a Mercure authorization detail.
const DetailType = "https://mercure.rocks/authorization-detail"

// Access builds the claims of a Mercure 1.0 access token (RFC 9068): iss,
// aud, exp (left out when zero), sub, client_id, iat, jti and the
// authorization details given.
func Access(iss, aud string, exp time.Time, details ...map[string]any) jwt.MapClaims {
	c := jwt.MapClaims{
		"iss": iss, "aud": aud, "sub": "urn:test:subject", "client_id": iss,
		"iat": time.Now().Unix(), "jti": "urn:test:" + time.Now().Format(time.RFC3339Nano),
		"authorization_details": details,
	}
	if !exp.IsZero() {
		c["exp"] = exp.Unix()
	}
	return c
}

// Detail builds a Mercure authorization detail of actions on topics.
func Detail(actions []string, topics ...map[string]any) map[string]any {
	return map[string]any{"type": DetailType, "actions": actions, "topics": topics}
}

// Exact is a topic matcher without match_type (exact by default).
func Exact(match string) map[string]any { return map[string]any{"match": match} }

// URLPattern is a topic matcher of type urlpattern.
func URLPattern(match string) map[string]any {
	return map[string]any{"match": match, "match_type": "urlpattern"}
}

// SignAccess signs claims as an access token: the header says typ at+jwt
// and, when kid is not empty, kid.
func SignAccess(t testing.TB, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	tok.Header["typ"] = "at+jwt"
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign %s access token: %v", method.Alg(), err)
	}
	return s
}

// JWK returns the JSON Web Key of a public key (RSA, P-256 or Ed25519)
// named kid.
func JWK(kid string, pub any) map[string]any {
	enc := base64.RawURLEncoding.EncodeToString
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return map[string]any{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": enc(k.N.Bytes()), "e": enc(big.NewInt(int64(k.E)).Bytes())}
	case *ecdsa.PublicKey:
		b, _ := k.Bytes()
		return map[string]any{"kty": "EC", "kid": kid, "crv": "P-256", "x": enc(b[1:33]), "y": enc(b[33:])}
	case ed25519.PublicKey:
		return map[string]any{"kty": "OKP", "kid": kid, "crv": "Ed25519", "x": enc(k)}
	}
	panic("authtest.JWK: unsupported key type")
}

// JWKS returns the JSON text of a JWK Set of keys.
func JWKS(keys ...map[string]any) []byte {
	if keys == nil {
		keys = []map[string]any{}
	}
	b, _ := json.Marshal(map[string]any{"keys": keys})
	return b
}
