package appauth_test

import (
	"github.com/ssehub/ssehub/internal/topic"

	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ssehub/ssehub/internal/appauth"
	"github.com/ssehub/ssehub/internal/auth"
)

// TestMain fails the package if a test leaves a goroutine behind: a slow
// app must not pin any past the timeout.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// app is a real HTTP server standing in for the application: it counts the
// calls and answers each with answer.
type app struct {
	*httptest.Server
	calls atomic.Int64
}

func newApp(t *testing.T, answer http.HandlerFunc) *app {
	t.Helper()
	a := &app{}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.calls.Add(1)
		answer(w, r)
	}))
	t.Cleanup(a.Close)
	return a
}

// fixed answers every call with status and body.
func fixed(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// newClient returns a client of the app at url; Cleanup closes it.
func newClient(t *testing.T, cfg appauth.Config) *appauth.Client {
	t.Helper()
	c, err := appauth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// request is a subscription of alice's browser to orders/alice.
func request(cookie string) appauth.Request {
	h := http.Header{}
	if cookie != "" {
		h.Set("Cookie", cookie)
	}
	return appauth.Request{Action: appauth.ActionSubscribe, Topics: []string{"orders/alice"}, ClientIP: "192.0.2.1", Header: h}
}

// TestAnswers checks how each answer of the app is read: rights, the
// refusals passed on, and every answer that is no decision a Failure.
func TestAnswers(t *testing.T) {
	t.Parallel()
	huge := `{"subscribe":["a"],"pad":"` + strings.Repeat("x", appauth.MaxAnswerBytes) + `"}`
	long := strings.Repeat("t", 2049)
	tests := []struct {
		name   string
		status int
		body   string
		want   *auth.Claims // for a grant; Expiry checked apart
		exp    time.Duration
		refuse *appauth.Refusal
		fail   string // kind of Failure
		errHas string
	}{
		{name: "every member", status: 200, body: `{"subscribe":["orders/alice","chat/{room}"],"publish":["chat/1"],"payload":{"name":"Alice"},"expires_in":60,"user":"alice","other":1}`,
			want: &auth.Claims{Subscribe: topic.Specs([]string{"orders/alice", "chat/{room}"}), Publish: topic.Specs([]string{"chat/1"}), Payload: json.RawMessage(`{"name":"Alice"}`), Subject: "alice"}, exp: time.Minute},
		{name: "nothing granted", status: 200, body: `{}`, want: &auth.Claims{}},
		{name: "nulls are absent", status: 200, body: `{"subscribe":null,"publish":null,"payload":null,"expires_in":null,"user":null}`, want: &auth.Claims{}},
		{name: "numeric user", status: 200, body: `{"user":7,"sub":"7"}`, want: &auth.Claims{Subject: "7"}},
		{name: "sub", status: 200, body: `{"sub":"bob"}`, want: &auth.Claims{Subject: "bob"}},
		{name: "fractional expires_in", status: 200, body: `{"expires_in":1.5}`, want: &auth.Claims{}, exp: 1500 * time.Millisecond},
		{name: "401 with an error", status: 401, body: `{"error":"not logged in"}`, refuse: &appauth.Refusal{Status: 401, Msg: "not logged in"}},
		{name: "403 with a message", status: 403, body: `{"message":"Unauthenticated."}`, refuse: &appauth.Refusal{Status: 403, Msg: "Unauthenticated."}},
		{name: "401 as HTML", status: 401, body: `<h1>login</h1>`, refuse: &appauth.Refusal{Status: 401}},
		{name: "long refusal", status: 403, body: `{"error":"` + strings.Repeat("é", 300) + `"}`, refuse: &appauth.Refusal{Status: 403, Msg: strings.Repeat("é", 100) + "…"}},
		{name: "500", status: 500, body: `{"error":"db down"}`, fail: appauth.FailStatus, errHas: "answered 500"},
		{name: "503", status: 503, body: ``, fail: appauth.FailStatus, errHas: "answered 503"},
		{name: "404", status: 404, body: ``, fail: appauth.FailStatus, errHas: "-auth-url"},
		{name: "419", status: 419, body: ``, fail: appauth.FailStatus, errHas: "CSRF"},
		{name: "204", status: 204, body: ``, fail: appauth.FailStatus, errHas: "answered 204"},
		{name: "garbage", status: 200, body: `<html>welcome</html>`, fail: appauth.FailMalformed, errHas: "JSON object"},
		{name: "empty body", status: 200, body: ``, fail: appauth.FailMalformed},
		{name: "null", status: 200, body: `null`, fail: appauth.FailMalformed},
		{name: "array", status: 200, body: `["orders/alice"]`, fail: appauth.FailMalformed},
		{name: "selectors as a string", status: 200, body: `{"subscribe":"orders/alice"}`, fail: appauth.FailMalformed, errHas: "array of topic selectors"},
		{name: "PHP's filtered array", status: 200, body: `{"subscribe":{"1":"orders/alice"}}`, fail: appauth.FailMalformed, errHas: "array_values"},
		{name: "numbers as selectors", status: 200, body: `{"publish":[1,2]}`, fail: appauth.FailMalformed},
		{name: "empty selector", status: 200, body: `{"subscribe":["orders/alice",""]}`, fail: appauth.FailMalformed, errHas: "subscribe[1]"},
		{name: "NUL in a selector", status: 200, body: `{"publish":["a\u0000b"]}`, fail: appauth.FailMalformed, errHas: "NUL"},
		{name: "selector too long", status: 200, body: `{"subscribe":["` + long + `"]}`, fail: appauth.FailMalformed, errHas: "2049 bytes"},
		{name: "expires_in 0", status: 200, body: `{"expires_in":0}`, fail: appauth.FailMalformed, errHas: "expires_in"},
		{name: "negative expires_in", status: 200, body: `{"expires_in":-5}`, fail: appauth.FailMalformed},
		{name: "expires_in as a string", status: 200, body: `{"expires_in":"60"}`, fail: appauth.FailMalformed},
		{name: "expires_in too far", status: 200, body: `{"expires_in":1e12}`, fail: appauth.FailMalformed},
		{name: "user and sub differ", status: 200, body: `{"user":"alice","sub":"bob"}`, fail: appauth.FailMalformed, errHas: "differ"},
		{name: "user as an object", status: 200, body: `{"user":{"id":1}}`, fail: appauth.FailMalformed},
		{name: "answer over 64 KiB", status: 200, body: huge, fail: appauth.FailMalformed, errHas: "over 65536 bytes"},
		{name: "trailing garbage", status: 200, body: `{"subscribe":["a"]} {"publish":["*"]}`, fail: appauth.FailMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := newApp(t, fixed(tc.status, tc.body))
			c := newClient(t, appauth.Config{URL: a.URL})
			before := time.Now()
			claims, err := c.Authorize(context.Background(), request("sid=1"))
			switch {
			case tc.want != nil:
				if err != nil {
					t.Fatalf("error %v, want a grant", err)
				}
				exp := claims.Expiry
				claims.Expiry = time.Time{}
				if !reflect.DeepEqual(claims, tc.want) {
					t.Errorf("claims %+v, want %+v", claims, tc.want)
				}
				if tc.exp == 0 && !exp.IsZero() || tc.exp != 0 && (exp.Before(before.Add(tc.exp)) || exp.After(time.Now().Add(tc.exp))) {
					t.Errorf("expiry %v, want %v from the call", exp, tc.exp)
				}
			case tc.refuse != nil:
				var r *appauth.Refusal
				if !errors.As(err, &r) || *r != *tc.refuse || claims != nil {
					t.Errorf("got %v, %v; want the refusal %+v", claims, err, tc.refuse)
				}
				if errors.Is(err, appauth.ErrUnavailable) {
					t.Errorf("a refusal is an answer, not a failure")
				}
			default:
				var f *appauth.Failure
				if !errors.As(err, &f) || f.Kind != tc.fail || !errors.Is(err, appauth.ErrUnavailable) || claims != nil {
					t.Fatalf("got %v, %v; want a %s failure", claims, err, tc.fail)
				}
				if f.Status != tc.status || !strings.Contains(err.Error(), tc.errHas) {
					t.Errorf("failure %v (status %d), want status %d and %q", err, f.Status, tc.status, tc.errHas)
				}
			}
		})
	}
}

// TestRedirect checks that a redirect, the mark of an authorization URL
// behind a login page, is not followed: it is a failure naming where it
// led, even when what it leads to answers 200.
func TestRedirect(t *testing.T) {
	t.Parallel()
	var a *app
	a = newApp(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" {
			fixed(200, `{"subscribe":["*"]}`)(w, r)
			return
		}
		http.Redirect(w, r, a.URL+"/login", http.StatusFound)
	})
	c := newClient(t, appauth.Config{URL: a.URL + "/auth"})
	_, err := c.Authorize(context.Background(), request("sid=1"))
	var f *appauth.Failure
	if !errors.As(err, &f) || f.Kind != appauth.FailStatus || !strings.Contains(err.Error(), "/login") || a.calls.Load() != 1 {
		t.Errorf("got %v after %d calls; want a status failure naming /login, without following it", err, a.calls.Load())
	}
}

// TestRequestSent checks what the app receives: a JSON POST describing the
// request, the user's Cookie (one header) and Authorization, the headers
// configured, and no other header of the user's.
func TestRequestSent(t *testing.T) {
	t.Parallel()
	got := make(chan *http.Request, 1)
	bodies := make(chan []byte, 1)
	a := newApp(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r
		bodies <- b
		fixed(200, `{}`)(w, r)
	})
	c := newClient(t, appauth.Config{URL: a.URL + "/sse/auth?x=1", Forward: []string{"x-tenant"}})
	h := http.Header{"Cookie": {"PHPSESSID=abc", "lang=zh"}, "Authorization": {"Basic dTpw"},
		"X-Tenant": {"acme"}, "X-Other": {"secret"}, "User-Agent": {"Mozilla"}}
	q := appauth.Request{Action: appauth.ActionPublish, Topics: []string{"chat/1", "chat/2"}, ClientIP: "2001:db8::1",
		Origin: "https://app.example", Query: url.Values{"room": {"5"}, "tag": {"a", "b"}}, Header: h}
	if _, err := c.Authorize(context.Background(), q); err != nil {
		t.Fatal(err)
	}
	r, body := <-got, <-bodies
	if r.Method != http.MethodPost || r.URL.String() != "/sse/auth?x=1" || r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Accept") != "application/json" {
		t.Errorf("%s %s, Content-Type %q, Accept %q", r.Method, r.URL, r.Header.Get("Content-Type"), r.Header.Get("Accept"))
	}
	want := map[string][]string{"Cookie": {"PHPSESSID=abc; lang=zh"}, "Authorization": {"Basic dTpw"}, "X-Tenant": {"acme"}, "X-Other": nil, "User-Agent": {"ssehub"}, "Idempotency-Key": nil}
	for name, vs := range want {
		if !reflect.DeepEqual(r.Header.Values(name), vs) {
			t.Errorf("%s: %q, want %q", name, r.Header.Values(name), vs)
		}
	}
	var sent map[string]any
	if err := json.Unmarshal(body, &sent); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	wantBody := map[string]any{"action": "publish", "topics": []any{"chat/1", "chat/2"}, "client_ip": "2001:db8::1",
		"origin": "https://app.example", "query": map[string]any{"room": "5", "tag": []any{"a", "b"}}}
	if !reflect.DeepEqual(sent, wantBody) {
		t.Errorf("body %s, want %v", body, wantBody)
	}
}

// TestEmptyRequest checks that topics and query are sent as empty JSON
// values, never null, which PHP would have to test for.
func TestEmptyRequest(t *testing.T) {
	t.Parallel()
	bodies := make(chan string, 1)
	a := newApp(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies <- string(b)
		fixed(200, `{}`)(w, r)
	})
	c := newClient(t, appauth.Config{URL: a.URL})
	if _, err := c.Authorize(context.Background(), appauth.Request{Action: appauth.ActionPublish}); err != nil {
		t.Fatal(err)
	}
	if got, want := <-bodies, `{"action":"publish","topics":[],"client_ip":"","origin":"","query":{}}`; got != want {
		t.Errorf("body %s, want %s", got, want)
	}
	if _, err := c.Authorize(context.Background(), appauth.Request{Action: "delete"}); err == nil || a.calls.Load() != 1 {
		t.Errorf("unknown action: %v after %d calls", err, a.calls.Load())
	}
}

// TestNew checks that only an http(s) URL is accepted.
func TestNew(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"", "127.0.0.1:8000/auth", "ftp://app/auth", "http://", "unix:///run/app.sock", "http://[::1"} {
		if c, err := appauth.New(appauth.Config{URL: u}); err == nil {
			c.Close()
			t.Errorf("New(%q) accepted", u)
		}
	}
}
