package app_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ssehub/ssehub/internal/app/apptest"
	"github.com/ssehub/ssehub/internal/auth/authtest"
)

// rawConn dials the server for hand-written requests.
func rawConn(t *testing.T, s *served) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedWithin reports whether the server closes c within limit.
func closedWithin(c net.Conn, limit time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(limit))
	_, err := io.Copy(io.Discard, c)
	ne, timedOut := err.(net.Error)
	return err == nil || !(timedOut && ne.Timeout())
}

// TestSlowAndOversizedClients: slow headers, slow bodies and huge headers
// cannot pin the server's resources, and it keeps answering others.
func TestSlowAndOversizedClients(t *testing.T) {
	t.Parallel()
	cfg := apptest.TestConfig(t)
	cfg.ReadHeaderTimeout, cfg.ReadTimeout = 300*time.Millisecond, 600*time.Millisecond
	s := serve(t, cfg, "http", &http.Transport{})

	slowHeaders := rawConn(t, s)
	_, _ = io.WriteString(slowHeaders, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
	slowBody := rawConn(t, s)
	_, _ = io.WriteString(slowBody, "POST /publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ntopic=a&da")
	for name, c := range map[string]net.Conn{"slow headers": slowHeaders, "slow body": slowBody} {
		if !closedWithin(c, 5*time.Second) {
			t.Errorf("%s: connection still open after the read timeouts", name)
		}
	}

	huge := rawConn(t, s)
	_, _ = io.WriteString(huge, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 200<<10)+"\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(huge), nil)
	if err != nil || resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("huge headers: %v %v, want 431", resp, err)
	}

	if resp, err := s.Client.Get(s.URL + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the server stopped answering: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}

// TestBadLastEventIDs: ids that cannot be in history, however odd, open a
// stream that reports "earliest", never an error or a crash.
func TestBadLastEventIDs(t *testing.T) {
	t.Parallel()
	s := serve(t, apptest.TestConfig(t), "http", &http.Transport{})
	for name, id := range map[string]string{
		"very long":        strings.Repeat("x", 8<<10),
		"NUL":              "a\x00b",
		"invalid UTF-8":    "\xff\xfe",
		"hub prefix, junk": "urn:ssehub:::",
		"future position":  "urn:ssehub:zzz:99999999999999999999",
		"spaces":           "   ",
	} {
		resp, err := s.Client.Get(s.URL + "/events?topic=a&lastEventID=" + url.QueryEscape(id))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := resp.Header.Get("Last-Event-ID")
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || got != "earliest" {
			t.Errorf("%s: %d, Last-Event-ID %q, want 200 earliest", name, resp.StatusCode, got)
		}
	}
}

// TestPprofIsOptIn: the profiler answers only when -pprof is on, and then
// only with the metrics token when one is set.
func TestPprofIsOptIn(t *testing.T) {
	t.Parallel()
	off := serve(t, apptest.TestConfig(t), "http", &http.Transport{})
	cfg := apptest.TestConfig(t)
	cfg.Metrics.Pprof, cfg.Metrics.Token = true, "tok"
	on := serve(t, cfg, "http", &http.Transport{})
	get := func(s *served, token string) int {
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/debug/pprof/", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := s.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get(off, ""); got != http.StatusNotFound {
		t.Errorf("profiler off: %d, want 404", got)
	}
	if got := get(on, ""); got != http.StatusUnauthorized {
		t.Errorf("profiler without the token: %d, want 401", got)
	}
	if got := get(on, "tok"); got != http.StatusOK {
		t.Errorf("profiler with the token: %d, want 200", got)
	}
	req, _ := http.NewRequest(http.MethodGet, on.URL+"/debug/pprof/mutex?debug=1", nil)
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := on.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "sampling period=20") {
		t.Errorf("the mutex profile is not sampled with the profiler on:\n%.300s", body)
	}
}

// TestDuplicatedClaimRefused: a token signed with the hub's key whose
// payload has the mercure claim twice is refused, publishing or
// subscribing, with a 401 whose JSON body says why; encoding/json alone
// would have granted the last one. The same claim once is accepted.
func TestDuplicatedClaimRefused(t *testing.T) {
	t.Parallel()
	keys := authtest.NewKeys(t)
	cfg := apptest.TestConfig(t)
	cfg.JWTKey = keys.SecretFile
	s := serve(t, cfg, "http", &http.Transport{})
	sign := func(payload string) string {
		return authtest.SignRaw(t, jwt.SigningMethodHS256, keys.Secret, `{"alg":"HS256","typ":"JWT"}`, payload)
	}
	twice := sign(`{"mercure":{"publish":["a"],"subscribe":["a"]},"mercure":{"publish":["*"],"subscribe":["*"]}}`)
	once := sign(`{"mercure":{"publish":["*"]}}`)
	form := url.Values{"topic": {"b"}, "data": {"x"}}.Encode()
	tests := []struct {
		name, method, path, token string
		status                    int
	}{
		{"publish, mercure twice", http.MethodPost, "/.well-known/mercure", twice, http.StatusUnauthorized},
		{"subscribe, mercure twice", http.MethodGet, "/.well-known/mercure?topic=b", twice, http.StatusUnauthorized},
		{"publish, mercure once", http.MethodPost, "/.well-known/mercure", once, http.StatusOK},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, s.URL+tt.path, strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+tt.token)
		resp, err := s.Client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var body struct{ Error, Field string }
		decErr := json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%s: status %d (%+v), want %d", tt.name, resp.StatusCode, body, tt.status)
			continue
		}
		if tt.status == http.StatusOK {
			continue
		}
		if decErr != nil || !strings.Contains(body.Error, `duplicate member "mercure" in the payload`) || body.Field != "Authorization" {
			t.Errorf("%s: body %+v (%v), want the duplicate mercure member named, field Authorization", tt.name, body, decErr)
		}
		if got := resp.Header.Get("WWW-Authenticate"); !strings.Contains(got, `error="invalid_token"`) {
			t.Errorf("%s: WWW-Authenticate %q", tt.name, got)
		}
	}
}
