// Package authtest mints real tokens for tests: an HS256 secret and RSA
// and ECDSA key pairs generated per test, their public keys written as PEM
// files in the test's temporary directory, as ssehub is configured with.
package authtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Keys are the keys of one test.
type Keys struct {
	Secret     []byte            // HS256 shared secret, 32 random bytes as base64 text
	SecretFile string            // a file holding Secret and a newline
	RSA        *rsa.PrivateKey   // signs RS256 tokens
	RSAFile    string            // PEM "PUBLIC KEY" of RSA
	RSACert    string            // PEM self-signed certificate of RSA
	EC         *ecdsa.PrivateKey // signs ES256 tokens
	ECFile     string            // PEM "PUBLIC KEY" of EC
}

// NewKeys generates the keys and writes the PEM files.
func NewKeys(t testing.TB) *Keys {
	t.Helper()
	dir := t.TempDir()
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	k := &Keys{Secret: []byte(base64.StdEncoding.EncodeToString(raw))}
	var err error
	if k.RSA, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if k.EC, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	k.SecretFile = write(t, dir, "secret", append(k.Secret, '\n'))
	k.RSAFile = write(t, dir, "rsa.pem", publicPEM(t, &k.RSA.PublicKey))
	k.ECFile = write(t, dir, "ec.pem", publicPEM(t, &k.EC.PublicKey))
	k.RSACert = write(t, dir, "rsa-cert.pem", certPEM(t, k.RSA))
	return k
}

func publicPEM(t testing.TB, pub any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func certPEM(t testing.TB, key *rsa.PrivateKey) []byte {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func write(t testing.TB, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Claims builds a payload with a mercure claim; nil lists are left out, a
// zero exp too.
func Claims(publish, subscribe []string, exp time.Time) jwt.MapClaims {
	m := map[string]any{}
	if publish != nil {
		m["publish"] = publish
	}
	if subscribe != nil {
		m["subscribe"] = subscribe
	}
	c := jwt.MapClaims{"mercure": m}
	if !exp.IsZero() {
		c["exp"] = exp.Unix()
	}
	return c
}

// Sign signs claims with method and key (for "none", jwt.UnsafeAllowNoneSignatureType).
func Sign(t testing.TB, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatalf("sign %s token: %v", method.Alg(), err)
	}
	return s
}

// HS256 signs claims with the shared secret.
func (k *Keys) HS256(t testing.TB, claims jwt.MapClaims) string {
	return Sign(t, jwt.SigningMethodHS256, k.Secret, claims)
}

// RS256 signs claims with the RSA key.
func (k *Keys) RS256(t testing.TB, claims jwt.MapClaims) string {
	return Sign(t, jwt.SigningMethodRS256, k.RSA, claims)
}

// ES256 signs claims with the ECDSA key.
func (k *Keys) ES256(t testing.TB, claims jwt.MapClaims) string {
	return Sign(t, jwt.SigningMethodES256, k.EC, claims)
}

// SignRaw signs a header and a payload given as JSON text, as written: for
// tokens no encoder writes (duplicated members, dates as strings, crit).
func SignRaw(t testing.TB, method jwt.SigningMethod, key any, header, payload string) string {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	signed := enc([]byte(header)) + "." + enc([]byte(payload))
	sig, err := method.Sign(signed, key)
	if err != nil {
		t.Fatalf("sign %s token: %v", method.Alg(), err)
	}
	return signed + "." + enc(sig)
}
