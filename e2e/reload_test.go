package e2e

import (
	"bytes"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/tlstest"
)

// TestHangupReloads sends SIGHUP to the real binary serving TLS: it does
// not end (Go's default for SIGHUP), it logs the reload, and new connections
// get the certificate written over the old one's files.
func TestHangupReloads(t *testing.T) {
	certA, keyA, _ := tlstest.SelfSigned(t)
	certB, keyB, _ := tlstest.SelfSigned(t)
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	tlstest.Install(t, certA, keyA, cert, key)
	p := startBinary(t, "-data-dir", t.TempDir(), "-tls-cert", cert, "-tls-key", key, "-log-level", "info")
	addr := strings.TrimPrefix(p.base, "http://")
	served := func() []byte { return tlstest.ServedCert(t, addr) }
	if !bytes.Equal(served(), tlstest.CertDER(t, certA)) {
		t.Fatal("the hub does not serve its first certificate")
	}

	tlstest.Install(t, certB, keyB, cert, key)
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(p.stderr.String(), "reloaded the TLS certificate") {
		if time.Now().After(deadline) {
			t.Fatalf("no reload logged 5 s after SIGHUP\n%s", p.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !bytes.Equal(served(), tlstest.CertDER(t, certB)) {
		t.Fatalf("after SIGHUP new connections do not get the renewed certificate\n%s", p.stderr)
	}
	if err := p.cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("the hub ended after SIGHUP: %v\n%s", err, p.stderr)
	}
}
