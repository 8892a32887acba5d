package httpapi_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/app/apptest"
)

const (
	formType = "application/x-www-form-urlencoded"
	jsonType = "application/json"
)

// multipartBody encodes fields as multipart/form-data.
func multipartBody(fields ...string) (ctype, body string) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for i := 0; i+1 < len(fields); i += 2 {
		_ = w.WriteField(fields[i], fields[i+1])
	}
	_ = w.Close()
	return w.FormDataContentType(), b.String()
}

// TestBadInput sends invalid requests and checks the status, the JSON error
// body and its field, and that nothing was published.
func TestBadInput(t *testing.T) {
	t.Parallel()
	const limit = 1024
	big := strings.Repeat("x", 2*limit)
	mpType, mpBig := multipartBody("topic", "a", "data", big)
	tests := []struct {
		name         string
		method, path string
		ctype, body  string
		status       int
		field        string // wanted "field"; "" means not checked
		allow        string // wanted Allow header, for 405
	}{
		{"form without topic", "POST", "/.well-known/mercure", formType, "data=x", 400, "topic", ""},
		{"form with empty topic", "POST", "/publish", formType, "topic=&data=x", 400, "topic", ""},
		{"JSON without topic", "POST", "/publish", jsonType, `{"data":"x"}`, 400, "topic", ""},
		{"JSON topic not a string", "POST", "/publish", jsonType, `{"topic":5}`, 400, "topic", ""},
		{"topic only in the query", "POST", "/.well-known/mercure?topic=a", formType, "data=x", 400, "topic", ""},
		{"subscribe without topic", "GET", "/.well-known/mercure", "", "", 400, "topic", ""},
		{"events without topic", "GET", "/events", "", "", 400, "topic", ""},
		{"subscribe with empty topic", "GET", "/events?topic=", "", "", 400, "topic", ""},
		{"id with newline", "POST", "/.well-known/mercure", formType, "topic=a&id=a%0Ab", 400, "id", ""},
		{"id with CR in JSON", "POST", "/publish", jsonType, `{"topic":"a","id":"a\rb"}`, 400, "id", ""},
		{"id with NUL", "POST", "/publish", formType, "topic=a&id=a%00b", 400, "id", ""},
		{"type with newline", "POST", "/.well-known/mercure", formType, "topic=a&type=a%0Ab", 400, "type", ""},
		{"type with newline in JSON", "POST", "/publish", jsonType, `{"topic":"a","type":"x\ny"}`, 400, "type", ""},
		{"retry not a number", "POST", "/.well-known/mercure", formType, "topic=a&retry=abc", 400, "retry", ""},
		{"retry negative", "POST", "/.well-known/mercure", formType, "topic=a&retry=-1", 400, "retry", ""},
		{"retry negative in JSON", "POST", "/publish", jsonType, `{"topic":"a","retry":-5}`, 400, "retry", ""},
		{"form body too large", "POST", "/.well-known/mercure", formType, "topic=a&data=" + big, 413, "", ""},
		{"JSON body too large", "POST", "/publish", jsonType, `{"topic":"a","data":"` + big + `"}`, 413, "", ""},
		{"multipart body too large", "POST", "/publish", mpType, mpBig, 413, "", ""},
		{"malformed JSON", "POST", "/publish", jsonType, `{"topic":`, 400, "body", ""},
		{"unknown JSON field", "POST", "/publish", jsonType, `{"topic":"a","colour":"red"}`, 400, "body", ""},
		{"two JSON values", "POST", "/publish", jsonType, `{"topic":"a"} {"topic":"b"}`, 400, "body", ""},
		{"JSON with a stray closing brace", "POST", "/publish", jsonType, `{"topic":"a","data":"x"}}`, 400, "body", ""},
		{"JSON with a stray closing bracket", "POST", "/publish", jsonType, `{"topic":"a","data":"x"}]`, 400, "body", ""},
		{"invalid UTF-8 data", "POST", "/.well-known/mercure", formType, "topic=a&data=%FF%FE", 400, "data", ""},
		{"invalid UTF-8 topic", "POST", "/.well-known/mercure", formType, "topic=%C3%28&data=x", 400, "topic", ""},
		{"invalid UTF-8 data in JSON", "POST", "/publish", jsonType, "{\"topic\":\"a\",\"data\":\"\xff\xfe\"}", 400, "body", ""},
		{"unsupported content type", "POST", "/publish", "text/plain", "topic=a&data=x", 400, "Content-Type", ""},
		{"id reserved #", "POST", "/.well-known/mercure", formType, "topic=a&id=%23frag", 400, "id", ""},
		{"id reserved hub prefix", "POST", "/.well-known/mercure", formType, "topic=a&id=urn:ssehub:abc:1", 400, "id", ""},
		{"id reserved hub prefix in JSON", "POST", "/publish", jsonType, `{"topic":"a","id":"urn:ssehub:x:2"}`, 400, "id", ""},
		{"unknown path", "GET", "/no/such/thing", "", "", 404, "", ""},
		{"unknown path POST", "POST", "/publishes", formType, "topic=a", 404, "", ""},
		{"DELETE on mercure", "DELETE", "/.well-known/mercure", "", "", 405, "", "GET, OPTIONS, POST"},
		{"PUT on publish", "PUT", "/publish", formType, "topic=a", 405, "", "OPTIONS, POST"},
		{"GET on publish", "GET", "/publish", "", "", 405, "", "OPTIONS, POST"},
		{"POST on events", "POST", "/events", formType, "topic=a", 405, "", "GET, OPTIONS"},
		{"POST on healthz", "POST", "/healthz", "", "", 405, "", "GET, HEAD, OPTIONS"},
		{"DELETE on seed search", "DELETE", "/gbi/sse/search", "", "", 405, "", "GET, OPTIONS"},
		{"seed eventType with newline", "POST", "/gbi/sse/receive", formType, "eventType=a%0Ab&message=x", 400, "eventType", ""},
		{"seed malformed JSON", "POST", "/gbi/sse/receive", jsonType, `{"eventType":`, 400, "body", ""},
		{"seed invalid UTF-8", "POST", "/gbi/sse/receive", formType, "message=%FF", 400, "", ""},
		{"seed form too large", "POST", "/gbi/sse/receive", formType, "message=" + big, 413, "", ""},
		{"seed JSON too large", "POST", "/gbi/sse/receive", jsonType, `{"message":"` + big + `"}`, 413, "", ""},
		// #26: each of these was accepted, or named the wrong problem, before.
		{"publish without Content-Type", "POST", "/publish", "", "topic=a&data=x", 400, "Content-Type", ""},
		{"subscribe selector not UTF-8", "GET", "/events?topic=%FF", "", "", 400, "topic", ""},
		{"subscribe selector with NUL", "GET", "/events?topic=a%00b", "", "", 400, "topic", ""},
		{"JSON topic with NUL", "POST", "/publish", jsonType, `{"topic":"a\u0000b","data":"x"}`, 400, "topic", ""},
		{"too many form fields", "POST", "/publish?" + strings.Repeat("f=1&", 10001), formType, "topic=a", 400, "body", ""},
		{"form update of 101 topics", "POST", "/publish", formType, strings.Repeat("topic=t&", 101), 400, "topic", ""},
		{"JSON update of 101 topics", "POST", "/publish", jsonType, `{"topics":["t"` + strings.Repeat(`,"t"`, 100) + `]}`, 400, "topic", ""},
		{"generation without a user message", "POST", "/llm/generations", jsonType, `{"messages":[{"role":"system","content":"be brief"}]}`, 400, "", ""},
	}
	s := newServer(t, func(c *app.Config) { c.MaxBodyBytes = limit })
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := s.App.Hub().Stats().Published
			req, err := http.NewRequest(tc.method, s.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			resp, err := s.Client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d; body %s", resp.StatusCode, tc.status, body)
			}
			if after := s.App.Hub().Stats().Published; after != before {
				t.Errorf("Stats().Published went from %d to %d: a bad request published", before, after)
			}
			if tc.allow != "" && resp.Header.Get("Allow") != tc.allow {
				t.Errorf("Allow %q, want %q", resp.Header.Get("Allow"), tc.allow)
			}
			m := apptest.ErrorBody(t, resp.Header.Get("Content-Type"), string(body))
			if tc.field != "" && m["field"] != tc.field {
				t.Errorf("field %q, want %q; body %s", m["field"], tc.field, body)
			}
			if tc.name == "too many form fields" && !strings.Contains(string(body), "form fields") {
				t.Errorf("body %s does not name the form fields", body)
			}
		})
	}
}

// TestExpectContinueOverLimit: a publish announcing a body over the limit
// with Expect: 100-continue is answered 413 at once, never told to send
// the body (it used to get 100 Continue, then 413 once sent).
func TestExpectContinueOverLimit(t *testing.T) {
	t.Parallel()
	s := newServer(t, func(c *app.Config) { c.MaxBodyBytes = 1024 })
	c := apptest.RawSubscriber(t, s.Server, "/healthz") // any request: answered, then ours
	_ = c.Close()
	conn, err := net.Dial("tcp", s.Srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(apptest.StreamTimeout))
	fmt.Fprintf(conn, "POST /publish HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: 4096\r\nExpect: 100-continue\r\n\r\n", formType)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "at most 1024") {
		t.Fatalf("got %s %s, want 413 naming the limit at once", resp.Status, body)
	}
}

// TestOptions checks that OPTIONS, which every Allow header lists, is
// answered rather than refused with 405.
func TestOptions(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil)
	for _, path := range []string{"/publish", "/.well-known/mercure", "/events"} {
		req, _ := http.NewRequest(http.MethodOptions, s.URL+path, nil)
		resp, err := s.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		allow := resp.Header.Get("Allow")
		if !strings.Contains(allow, http.MethodOptions) {
			t.Errorf("OPTIONS %s: Allow %q does not list OPTIONS", path, allow)
		}
		if resp.StatusCode >= 300 {
			t.Errorf("OPTIONS %s: status %d though Allow %q lists OPTIONS; body %s", path, resp.StatusCode, allow, body)
		}
	}
}
