package app_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// selfSigned writes a certificate for 127.0.0.1 and its key as PEM files
// in a temporary directory, and returns them with a pool trusting it.
func selfSigned(t *testing.T) (certFile, keyFile string, roots *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "ssehub test"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	roots = x509.NewCertPool()
	roots.AddCert(cert)
	return certFile, keyFile, roots
}

// h2Transport trusts roots and attempts HTTP/2.
func h2Transport(roots *x509.CertPool) *http.Transport {
	return &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}
}

// TestTLS serves with TLSCert and TLSKey: streams use HTTP/2 and deliver,
// and the shutdown is still graceful.
func TestTLS(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	var roots *x509.CertPool
	cfg.TLSCert, cfg.TLSKey, roots = selfSigned(t)
	s := serve(t, cfg, "https", h2Transport(roots))

	const topic = "https://example.com/tls"
	resp, p := s.open(t, "/events?topic="+topic)
	if resp.ProtoMajor != 2 {
		t.Errorf("stream protocol %s, want HTTP/2", resp.Proto)
	}
	waitSubscribers(t, s.app, 1)
	id := s.publish(t, topic, "over TLS")
	ev, err := p.Next()
	if err != nil {
		t.Fatal(err)
	}
	if ev.ID != id || ev.Data != "over TLS" {
		t.Errorf("got id %q data %q, want %q %q", ev.ID, ev.Data, id, "over TLS")
	}
	if err := s.stop(t, cfg.ShutdownTimeout+time.Second); err != nil {
		t.Errorf("Serve: %v", err)
	}
	if _, err := p.Next(); err == nil {
		t.Error("stream still open after shutdown")
	}
}
