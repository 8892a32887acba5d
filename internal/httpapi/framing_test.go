package httpapi_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ssehub/ssehub/internal/app/apptest"
)

// TestFramingMarkerRefused: a request carrying the marker of ambiguous
// framing (which the engine's plain connections write over a second
// framing header, and which a client may send itself) is refused with 400
// and Connection: close, before CORS and routing, on any endpoint.
func TestFramingMarkerRefused(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil)
	for _, name := range []string{"Ssehub-Framing", "ssehub-framing-te"} {
		req, _ := http.NewRequest(http.MethodOptions, s.URL+"/healthz", nil)
		req.Header.Set("Origin", "https://example.com")
		req.Header.Set(name, "1")
		resp, err := s.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !resp.Close {
			t.Errorf("%s: %d, close %v; want 400, closing", name, resp.StatusCode, resp.Close)
		}
		if m := apptest.ErrorBody(t, resp.Header.Get("Content-Type"), string(body)); m["field"] != "Transfer-Encoding" ||
			!strings.Contains(m["error"].(string), "RFC 9112") {
			t.Errorf("%s: error %v", name, m)
		}
	}
}

// TestUncheckedFramingCloses: served on a listener that is not the
// engine's, where a request with both Content-Length and Transfer-Encoding
// cannot be told from a chunked one, every request with a
// Transfer-Encoding is answered with Connection: close, and nothing after
// its body is read.
func TestUncheckedFramingCloses(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil)
	other := httptest.NewServer(s.App.Handler())
	t.Cleanup(other.Close)
	c, err := net.Dial("tcp", other.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const chunked = "POST /.well-known/mercure HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
		"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\ne\r\ntopic=a&data=b\r\n0\r\n\r\n" +
		"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
	if a := apptest.Exchange(t, c, chunked, 1, true)[0]; a.StatusCode != http.StatusOK || !a.Close {
		t.Errorf("chunked publish: %d, close %v; want 200, closing", a.StatusCode, a.Close)
	}
}
