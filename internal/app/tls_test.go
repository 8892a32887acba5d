package app_test

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app/apptest"
	"github.com/ssehub/ssehub/internal/httpapi"
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

// TestTLSRequestState: requests over TLS keep their TLS state, HTTP/1.1
// ones framed by the engine's listener as HTTP/2 ones: a publish
// authorized by the cookie is accepted from the hub's own origin with the
// https scheme, and refused from its http one.
func TestTLSRequestState(t *testing.T) {
	t.Parallel()
	const secret = "the TLS test's secret, 32 bytes or more"
	cfg := apptest.TestConfig(t)
	cfg.JWTKey = secret
	var roots *x509.CertPool
	cfg.TLSCert, cfg.TLSKey, roots = tlstest.SelfSigned(t)
	s := serve(t, cfg, "https", apptest.HTTP1TLS(roots))
	cookie := httpapi.CookieName + "=" + hs256(t, secret)
	for proto, tr := range map[int]*http.Transport{1: apptest.HTTP1TLS(roots), 2: h2Transport(roots)} {
		for origin, want := range map[string]int{s.URL: http.StatusOK, "http://" + strings.TrimPrefix(s.URL, "https://"): http.StatusForbidden} {
			req, _ := http.NewRequest(http.MethodPost, s.URL+"/.well-known/mercure", strings.NewReader("topic=a&data=b"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Cookie", cookie)
			req.Header.Set("Origin", origin)
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.ProtoMajor != proto || resp.StatusCode != want {
				t.Errorf("cookie publish from %s: %d over %s, want %d over HTTP/%d", origin, resp.StatusCode, resp.Proto, want, proto)
			}
		}
		tr.CloseIdleConnections()
	}
}
