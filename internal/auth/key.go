package auth

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// The algorithms a Verifier accepts.
const (
	HS256 = "HS256" // HMAC with SHA-256 and a shared secret
	RS256 = "RS256" // RSA PKCS #1 v1.5 with SHA-256; verified with the public key
	ES256 = "ES256" // ECDSA on P-256 with SHA-256; verified with the public key
)

// MinSecretBytes is the shortest HS256 secret accepted: 256 bits, as
// RFC 7518 section 3.2 requires.
const MinSecretBytes = 32

// LoadKey resolves a key setting: when value names an existing file, the
// file's contents, else value itself. Trailing line breaks are removed, so
// a secret written with echo works.
func LoadKey(value string) ([]byte, error) {
	if value == "" {
		return nil, errors.New("the key is empty")
	}
	st, err := os.Stat(value)
	if err != nil {
		return bytes.TrimRight([]byte(value), "\r\n"), nil
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s is a directory, not a key file", value)
	}
	b, err := os.ReadFile(value)
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	return bytes.TrimRight(b, "\r\n"), nil
}

// NewVerifier returns a Verifier of tokens signed with alg. For HS256 key is
// the shared secret; for RS256 and ES256 a PEM public key (PKIX, or PKCS #1
// for RSA) or a PEM certificate.
func NewVerifier(alg string, key []byte) (*Verifier, error) {
	k, err := parseKey(alg, key)
	if err != nil {
		return nil, err
	}
	v := &Verifier{parser: newParser()}
	v.current.Store(&signingKey{alg: alg, keys: []jwt.VerificationKey{k}})
	return v, nil
}

// newParser returns the jwt parser of a Verifier, which checks the claims
// itself.
func newParser() *jwt.Parser { return jwt.NewParser(jwt.WithoutClaimsValidation()) }

// Accept has v also accept tokens signed with key, in v's algorithm: the
// previous key during a rotation, until the tokens signed with it expire.
func (v *Verifier) Accept(key []byte) error {
	cur := v.current.Load()
	k, err := parseKey(cur.alg, key)
	if err != nil {
		return err
	}
	v.current.Store(&signingKey{alg: cur.alg, keys: append(cur.keys[:len(cur.keys):len(cur.keys)], k)})
	return nil
}

// parseKey parses a key of alg: see NewVerifier.
func parseKey(alg string, key []byte) (jwt.VerificationKey, error) {
	switch alg {
	case HS256:
		return hmacSecret(key)
	case RS256:
		return rsaPublicKey(key)
	case ES256:
		return ecPublicKey(key)
	}
	return nil, fmt.Errorf("unsupported algorithm %q: use HS256, RS256 or ES256", alg)
}

// hmacSecret refuses short secrets and PEM text: an HS256 "secret" that is a
// public key lets anyone who has the public key forge tokens.
func hmacSecret(key []byte) ([]byte, error) {
	if bytes.Contains(key, []byte("-----BEGIN ")) {
		return nil, errors.New("HS256 needs a shared secret, not a PEM key: use RS256 or ES256 for a public key")
	}
	if len(key) < MinSecretBytes {
		return nil, fmt.Errorf("the HS256 secret has %d bytes, at least %d are needed (e.g. openssl rand -base64 32)", len(key), MinSecretBytes)
	}
	return bytes.Clone(key), nil
}

// publicKey decodes the first PEM block: a public key or a certificate.
func publicKey(alg string, key []byte) (any, error) {
	block, _ := pem.Decode(key)
	if block == nil {
		return nil, fmt.Errorf("%s needs a PEM public key or certificate (a file path or the PEM text): no PEM block found", alg)
	}
	var (
		pub any
		err error
	)
	switch block.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			pub = cert.PublicKey
		}
	default:
		return nil, fmt.Errorf("%s needs a PEM public key or certificate, not a %q block (the hub never needs the private key)", alg, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("parse the %s %s: %w", alg, strings.ToLower(block.Type), err)
	}
	return pub, nil
}

func rsaPublicKey(key []byte) (*rsa.PublicKey, error) {
	pub, err := publicKey(RS256, key)
	if err != nil {
		return nil, err
	}
	rk, ok := pub.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("RS256 needs an RSA public key, not %T", pub)
	}
	if rk.N.BitLen() < 2048 {
		return nil, fmt.Errorf("the RSA key has %d bits, at least 2048 are needed", rk.N.BitLen())
	}
	return rk, nil
}

func ecPublicKey(key []byte) (*ecdsa.PublicKey, error) {
	pub, err := publicKey(ES256, key)
	if err != nil {
		return nil, err
	}
	ek, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("ES256 needs an ECDSA public key, not %T", pub)
	}
	if ek.Curve != elliptic.P256() {
		return nil, fmt.Errorf("ES256 needs a key on the P-256 curve, not %s", ek.Curve.Params().Name)
	}
	return ek, nil
}
