package loadtest

import (
	"net/url"
	"strings"
	"testing"
)

// TestProtocols checks the requests of both protocols and the stamp read
// out of a Centrifugo publication, as Centrifugo 6.9 sends them (seen
// from its real binary while measuring; docs/benchmarks.md).
func TestProtocols(t *testing.T) {
	hub, _ := url.Parse("http://127.0.0.1:8080/.well-known/mercure")
	root, _ := url.Parse("http://127.0.0.1:8000")
	if got := subscribePath(ProtocolMercure, hub, 3); got != "/.well-known/mercure?topic=bench-3" {
		t.Errorf("mercure subscribe: %s", got)
	}
	if got := subscribePath(ProtocolCentrifugo, root, 3); got != "/connection/uni_sse?cf_connect="+url.QueryEscape(`{"subs":{"bench-3":{}}}`) {
		t.Errorf("centrifugo subscribe: %s", got)
	}
	data := `{"t":1,"p":0,"seq":3,"pad":"x"}`
	target, ctype, body, header, key := publishRequest(ProtocolMercure, hub, "bench-3", data, "tok")
	if target != hub.String() || ctype != "application/x-www-form-urlencoded" || body != "topic=bench-3&data="+url.QueryEscape(data) || header != "Authorization" || key != "Bearer tok" {
		t.Errorf("mercure publish: %s %s %s %s: %s", target, ctype, header, key, body)
	}
	target, ctype, body, header, key = publishRequest(ProtocolCentrifugo, root, "bench-3", data, "api-key")
	if target != "http://127.0.0.1:8000/api/publish" || ctype != "application/json" || body != `{"channel":"bench-3","data":`+data+`}` || header != "X-API-Key" || key != "api-key" {
		t.Errorf("centrifugo publish: %s %s %s %s: %s", target, ctype, header, key, body)
	}
	pub := []byte(`{"channel":"bench-3","pub":{"data":` + data + `}}`)
	if st, ok := parseData(stampOf(ProtocolCentrifugo, pub)); !ok || st.T != 1 || st.Seq != 3 {
		t.Errorf("stamp of a centrifugo publication: %+v %v", st, ok)
	}
	if _, ok := parseData(stampOf(ProtocolCentrifugo, []byte(`{"connect":{"client":"x"}}`))); ok {
		t.Error("centrifugo's connect message read as a stamp")
	}
	if _, ok := parseData(stampOf(ProtocolMercure, pub)); ok {
		t.Error("a wrapped stamp read as the tool's own over the Mercure protocol")
	}
	for answer, want := range map[string]string{`{"result":{}}`: "", `{"error":{"code":102,"message":"unknown channel"}}`: "unknown channel", `nope`: "centrifugo answer"} {
		err := answerError(ProtocolCentrifugo, []byte(answer))
		if (want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), want) {
			t.Errorf("answer %s: %v, want %q", answer, err, want)
		}
	}
	if err := answerError(ProtocolMercure, []byte("urn:ssehub:x:1")); err != nil {
		t.Errorf("a Mercure answer: %v", err)
	}
	if checkProtocol("websocket") == nil {
		t.Error("an unknown protocol accepted")
	}
}
