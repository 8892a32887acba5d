package app_test

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app/apptest"
	"github.com/ssehub/ssehub/internal/tlstest"
)

// h2Transport trusts roots and attempts HTTP/2.
func h2Transport(roots *x509.CertPool) *http.Transport {
	return &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}
}

// TestTLS serves with TLSCert and TLSKey: streams use HTTP/2 and deliver,
// and the shutdown is still graceful.
func TestTLS(t *testing.T) {
	t.Parallel()
	cfg := apptest.TestConfig(t)
	var roots *x509.CertPool
	cfg.TLSCert, cfg.TLSKey, roots = tlstest.SelfSigned(t)
	s := serve(t, cfg, "https", h2Transport(roots))

	const topic = "https://example.com/tls"
	resp, p := s.Open(t, "/events?topic="+topic)
	if resp.ProtoMajor != 2 {
		t.Errorf("stream protocol %s, want HTTP/2", resp.Proto)
	}
	apptest.WaitHub(t, s.App, 1)
	id := s.Publish(t, topic, "over TLS")
	ev, err := p.Next()
	if err != nil {
		t.Fatal(err)
	}
	if ev.ID != id || ev.Data != "over TLS" {
		t.Errorf("got id %q data %q, want %q %q", ev.ID, ev.Data, id, "over TLS")
	}
	if err := s.Stop(t, cfg.ShutdownTimeout+time.Second); err != nil {
		t.Errorf("Serve: %v", err)
	}
	if _, err := p.Next(); err == nil {
		t.Error("stream still open after shutdown")
	}
}
