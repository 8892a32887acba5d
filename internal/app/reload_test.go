package app_test

import (
	"bytes"
	"crypto/tls"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ssehub/ssehub/internal/app/apptest"
	"github.com/ssehub/ssehub/internal/auth/authtest"
	"github.com/ssehub/ssehub/internal/tlstest"
)

// TestReloadTLSCertificate: Reload serves a renewed certificate to new
// connections while a stream opened before goes on; a certificate that does
// not load leaves the one served before, and Reload names the flag.
func TestReloadTLSCertificate(t *testing.T) {
	certA, keyA, _ := tlstest.SelfSigned(t)
	certB, keyB, _ := tlstest.SelfSigned(t)
	dir := t.TempDir()
	cfg := apptest.TestConfig(t)
	cfg.TLSCert, cfg.TLSKey = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	tlstest.Install(t, certA, keyA, cfg.TLSCert, cfg.TLSKey)
	s := serve(t, cfg, "https", &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}})
	servedCert := func() []byte { return tlstest.ServedCert(t, strings.TrimPrefix(s.URL, "https://")) }
	if !bytes.Equal(servedCert(), tlstest.CertDER(t, certA)) {
		t.Fatal("the first certificate is not the one served")
	}
	_, stream := s.Open(t, "/events?topic=reload")
	apptest.WaitHub(t, s.App, 1)

	tlstest.Install(t, certB, keyB, cfg.TLSCert, cfg.TLSKey)
	if err := s.App.Reload(); err != nil {
		t.Fatalf("reload: %v", err)
	}
	if !bytes.Equal(servedCert(), tlstest.CertDER(t, certB)) {
		t.Fatal("after the reload new connections do not get the renewed certificate")
	}
	s.Publish(t, "reload", "after the reload")
	apptest.ExpectData(t, stream, "after the reload")

	if err := os.WriteFile(cfg.TLSCert, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.App.Reload(); err == nil || !strings.Contains(err.Error(), "-tls-cert") {
		t.Fatalf("reload of a broken certificate: %v, want an error naming -tls-cert", err)
	}
	if !bytes.Equal(servedCert(), tlstest.CertDER(t, certB)) {
		t.Fatal("a broken certificate replaced the one served")
	}
}

// hs256 signs a publisher's token with secret.
func hs256(t *testing.T, secret string) string {
	t.Helper()
	return authtest.Sign(t, jwt.SigningMethodHS256, []byte(secret), authtest.Claims([]string{"*"}, nil, time.Now().Add(time.Hour)))
}

// TestReloadJWTKeyFile: Reload verifies new requests with a rotated key
// file; a key file that vanished is an error (not read as the key itself)
// and leaves the key in use.
func TestReloadJWTKeyFile(t *testing.T) {
	const old, rotated = "the first secret, 32 bytes or more", "the rotated secret, 32 bytes or more"
	cfg := apptest.TestConfig(t)
	cfg.JWTKey = filepath.Join(t.TempDir(), "jwt.key")
	if err := os.WriteFile(cfg.JWTKey, []byte(old+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := serve(t, cfg, "http", &http.Transport{})
	publish := func(token string) int {
		status, _, _ := s.post(t, token, url.Values{"topic": {"t"}, "data": {"x"}})
		return status
	}
	if code := publish(hs256(t, old)); code != http.StatusOK {
		t.Fatalf("publish with the first key: %d", code)
	}
	if err := os.WriteFile(cfg.JWTKey, []byte(rotated+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code := publish(hs256(t, rotated)); code != http.StatusUnauthorized {
		t.Fatalf("publish with the rotated key before the reload: %d, want 401", code)
	}
	if err := s.App.Reload(); err != nil {
		t.Fatalf("reload: %v", err)
	}
	if code := publish(hs256(t, old)); code != http.StatusUnauthorized {
		t.Fatalf("publish with the old key after the reload: %d, want 401", code)
	}
	if code := publish(hs256(t, rotated)); code != http.StatusOK {
		t.Fatalf("publish with the rotated key after the reload: %d", code)
	}

	if err := os.Remove(cfg.JWTKey); err != nil {
		t.Fatal(err)
	}
	if err := s.App.Reload(); err == nil || !strings.Contains(err.Error(), "-jwt-key") {
		t.Fatalf("reload without the key file: %v, want an error naming -jwt-key", err)
	}
	if code := publish(hs256(t, rotated)); code != http.StatusOK {
		t.Fatalf("publish after a failed reload: %d, want the key in use kept", code)
	}
}

// TestRotateJWTKeyWithPrevious: the rotation deploy.md describes. With
// -jwt-key-previous naming an empty file, only the key is accepted; the key
// moved to the previous file and a new one written, a reload accepts both;
// the previous file emptied, a reload accepts only the new key.
func TestRotateJWTKeyWithPrevious(t *testing.T) {
	const first, second = "the first secret, 32 bytes or more", "the second secret, 32 bytes or more"
	dir := t.TempDir()
	cfg := apptest.TestConfig(t)
	cfg.JWTKey, cfg.JWTKeyPrevious = filepath.Join(dir, "jwt.key"), filepath.Join(dir, "jwt.key.previous")
	write := func(file, key string) {
		if err := os.WriteFile(file, []byte(key), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(cfg.JWTKey, first)
	write(cfg.JWTKeyPrevious, "")
	s := serve(t, cfg, "http", &http.Transport{})
	accepts := func(secret string) bool {
		status, _, _ := s.post(t, hs256(t, secret), url.Values{"topic": {"t"}, "data": {"x"}})
		return status == http.StatusOK
	}
	if !accepts(first) || accepts(second) {
		t.Fatal("before the rotation: want the first key only")
	}
	write(cfg.JWTKeyPrevious, first)
	write(cfg.JWTKey, second)
	if err := s.App.Reload(); err != nil {
		t.Fatal(err)
	}
	if !accepts(first) || !accepts(second) {
		t.Fatal("during the rotation: want both keys")
	}
	write(cfg.JWTKeyPrevious, "")
	if err := s.App.Reload(); err != nil {
		t.Fatal(err)
	}
	if accepts(first) || !accepts(second) {
		t.Fatal("after the rotation: want the second key only")
	}
}
