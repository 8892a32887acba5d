package jwks

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
)

// key is one signing key of a set: its public key and the algorithm it
// verifies.
type key struct {
	alg string // RS256, ES256 or EdDSA
	pub any
}

// jwk is a JSON Web Key (RFC 7517) as a JWK Set lists it.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	Crv string `json:"crv"`
	N   string `json:"n"`
	E   string `json:"e"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// parseSet reads a JWK Set: its signing keys by kid. Keys of other uses,
// types or algorithms are left out; a signing key that does not parse
// refuses the set, so that a bad answer never replaces a good one.
func parseSet(b []byte) (map[string]key, error) {
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("not a JWK Set: %w", err)
	}
	if set.Keys == nil {
		return nil, errors.New("not a JWK Set: no keys member")
	}
	keys := make(map[string]key, len(set.Keys))
	for i, k := range set.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		parsed, ok, err := k.parse()
		if err != nil {
			return nil, fmt.Errorf("key %d (kid %q): %w", i, k.Kid, err)
		}
		if ok {
			keys[k.Kid] = parsed
		}
	}
	return keys, nil
}

// parse returns the key, or false for a type or algorithm not used to
// sign access tokens.
func (k jwk) parse() (key, bool, error) {
	var (
		out = key{alg: k.Alg}
		err error
	)
	switch {
	case k.Kty == "RSA" && (k.Alg == "" || k.Alg == "RS256"):
		out.alg = "RS256"
		out.pub, err = k.rsa()
	case k.Kty == "EC" && k.Crv == "P-256" && (k.Alg == "" || k.Alg == "ES256"):
		out.alg = "ES256"
		out.pub, err = k.ec()
	case k.Kty == "OKP" && k.Crv == "Ed25519" && (k.Alg == "" || k.Alg == "EdDSA" || k.Alg == "Ed25519"):
		out.alg = "EdDSA"
		out.pub, err = k.ed25519()
	default:
		return out, false, nil
	}
	return out, err == nil, err
}

func (k jwk) rsa() (*rsa.PublicKey, error) {
	n, err := b64int("n", k.N)
	if err != nil {
		return nil, err
	}
	e, err := b64int("e", k.E)
	if err != nil {
		return nil, err
	}
	if n.BitLen() < 2048 {
		return nil, fmt.Errorf("an RSA key of %d bits: at least 2048 are needed", n.BitLen())
	}
	if !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 {
		return nil, errors.New("an RSA exponent out of range")
	}
	return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
}

func (k jwk) ec() (*ecdsa.PublicKey, error) {
	x, err := b64("x", k.X)
	if err != nil {
		return nil, err
	}
	y, err := b64("y", k.Y)
	if err != nil {
		return nil, err
	}
	if len(x) != 32 || len(y) != 32 {
		return nil, errors.New("a P-256 point needs 32-byte x and y")
	}
	pt := append(append([]byte{4}, x...), y...)
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pt)
	if err != nil {
		return nil, fmt.Errorf("not a P-256 point: %w", err)
	}
	return pub, nil
}

func (k jwk) ed25519() (ed25519.PublicKey, error) {
	x, err := b64("x", k.X)
	if err != nil {
		return nil, err
	}
	if len(x) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("an Ed25519 key needs %d bytes", ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(x), nil
}

func b64(name, s string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) == 0 {
		return nil, fmt.Errorf("%s is not base64url: %v", name, err)
	}
	return b, nil
}

func b64int(name, s string) (*big.Int, error) {
	b, err := b64(name, s)
	if err != nil {
		return nil, err
	}
	return new(big.Int).SetBytes(b), nil
}
