package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/ssehub/ssehub/client"
	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/tlstest"
)

// TestExampleNodeOverTLS: the Node.js example (the npm eventsource package
// on Node's fetch, HTTP/1.1 over TLS) subscribes to a hub serving TLS, which
// takes the stream over from net/http and encrypts it in its own writers:
// Node's TLS stack reads every event, a large one included, from the
// history and live.
func TestExampleNodeOverTLS(t *testing.T) {
	node, script := nodeExample(t, "subscribe.mjs")
	certFile, keyFile, roots := tlstest.SelfSigned(t)
	cfg := app.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.TLSCert, cfg.TLSKey = certFile, keyFile
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveOn(t, cfg, ln)
	base := "https://" + ln.Addr().String()
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	c, err := client.New(base+"/.well-known/mercure", client.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	var want []map[string]string
	publish := func(typ, data string) {
		id, err := c.Publish(context.Background(), client.Update{Topics: []string{"secure"}, Type: typ, Data: data})
		if err != nil {
			t.Fatal(err)
		}
		if typ == "" {
			typ = "message"
		}
		want = append(want, map[string]string{"id": id, "type": typ, "data": data})
	}
	publish("notification", "from the history")

	env := []string{"SSEHUB_URL=" + base, "SSEHUB_LAST_EVENT_ID=earliest", "SSEHUB_COUNT=3", "NODE_EXTRA_CA_CERTS=" + certFile}
	got, log := nodeSubscribe(t, node, script, env, []string{"secure"}, func() {
		publish("alert", strings.Repeat("large ", 8000)) // several TLS records
		publish("", "live")
	})
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("node printed\n%.500v\nwant\n%.500v\nstderr:\n%s", got, want, log)
	}
}
