package appauth_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
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
			want: &auth.Claims{Subscribe: []string{"orders/alice", "chat/{room}"}, Publish: []string{"chat/1"}, Payload: json.RawMessage(`{"name":"Alice"}`), Subject: "alice"}, exp: time.Minute},
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

// byCookie answers each user's own rights: the value of the sid cookie is
// the user, "" is refused.
func byCookie(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie("sid")
	if err != nil || c.Value == "" {
		fixed(401, `{"error":"not logged in"}`)(w, r)
		return
	}
	fixed(200, fmt.Sprintf(`{"subscribe":["orders/%s"],"user":%q}`, c.Value, c.Value))(w, r)
}

// TestCache checks what is cached: the same request with the same
// credentials is answered once; a change of any credential, of the topics
// or of the action asks the app again; a refusal is kept, a failure is not.
func TestCache(t *testing.T) {
	t.Parallel()
	a := newApp(t, byCookie)
	c := newClient(t, appauth.Config{URL: a.URL, Forward: []string{"X-Tenant"}})
	ask := func(q appauth.Request) (*auth.Claims, error) {
		t.Helper()
		return c.Authorize(context.Background(), q)
	}
	with := func(q appauth.Request, f func(*appauth.Request)) appauth.Request {
		q.Header = q.Header.Clone()
		f(&q)
		return q
	}
	alice := request("sid=alice")
	steps := []struct {
		name  string
		q     appauth.Request
		calls int64 // the app's count after the step
	}{
		{"first", alice, 1},
		{"again", alice, 1},
		{"another cookie", request("sid=bob"), 2},
		{"another cookie again", request("sid=bob"), 2},
		{"an added Authorization", with(alice, func(q *appauth.Request) { q.Header.Set("Authorization", "Bearer x") }), 3},
		{"another Authorization", with(alice, func(q *appauth.Request) { q.Header.Set("Authorization", "Bearer y") }), 4},
		{"a forwarded header", with(alice, func(q *appauth.Request) { q.Header.Set("X-Tenant", "acme") }), 5},
		{"a header not forwarded", with(alice, func(q *appauth.Request) { q.Header.Set("X-Other", "1") }), 5},
		{"other topics", with(alice, func(q *appauth.Request) { q.Topics = []string{"orders/bob"} }), 6},
		{"another action", with(alice, func(q *appauth.Request) { q.Action = appauth.ActionPublish }), 7},
		{"another origin", with(alice, func(q *appauth.Request) { q.Origin = "https://evil.example" }), 8},
		{"another address", with(alice, func(q *appauth.Request) { q.ClientIP = "192.0.2.2" }), 9},
		{"another query", with(alice, func(q *appauth.Request) { q.Query = url.Values{"room": {"1"}} }), 10},
		{"logged out", request(""), 11},
		{"logged out again: the refusal is kept", request(""), 11},
	}
	for _, s := range steps {
		claims, err := ask(s.q)
		if n := a.calls.Load(); n != s.calls {
			t.Errorf("%s: the app has %d calls, want %d", s.name, n, s.calls)
		}
		cookie := s.q.Header.Get("Cookie")
		var r *appauth.Refusal
		switch {
		case cookie == "":
			if !errors.As(err, &r) || r.Status != 401 {
				t.Errorf("%s: %v, want the app's 401", s.name, err)
			}
		case err != nil || claims.Subject != strings.TrimPrefix(cookie, "sid="):
			t.Errorf("%s: %+v, %v: another user's answer", s.name, claims, err)
		}
	}
	if st := c.Stats(); st.Calls != 11 || st.CacheHits != 4 || st.Granted != 10 || st.Refused != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestCacheExpiry checks that a grant is cached no longer than its
// expires_in, nor than Cache, and a failure not at all.
func TestCacheExpiry(t *testing.T) {
	t.Parallel()
	var status atomic.Int64
	status.Store(200)
	a := newApp(t, func(w http.ResponseWriter, r *http.Request) {
		fixed(int(status.Load()), `{"expires_in":0.05}`)(w, r)
	})
	c := newClient(t, appauth.Config{URL: a.URL, Cache: time.Hour})
	q := request("sid=alice")
	if _, err := c.Authorize(context.Background(), q); err != nil {
		t.Fatal(err)
	}
	// Past its 50 ms, the grant is asked for again.
	deadline := time.Now().Add(5 * time.Second)
	for a.calls.Load() == 1 && time.Now().Before(deadline) {
		if _, err := c.Authorize(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
	if n := a.calls.Load(); n != 2 {
		t.Fatalf("%d calls: a grant of expires_in 0.05 stayed cached", n)
	}
	status.Store(500)
	for i := range 3 {
		q.Topics = []string{"failing"}
		if _, err := c.Authorize(context.Background(), q); !errors.Is(err, appauth.ErrUnavailable) {
			t.Fatalf("call %d: %v, want a failure", i, err)
		}
	}
	if n := a.calls.Load(); n != 5 {
		t.Errorf("%d calls after 3 failing requests, want 5: a failure must not be cached", n)
	}

	// Without a cache every request asks.
	off := newClient(t, appauth.Config{URL: a.URL, Cache: -1})
	status.Store(200)
	for range 3 {
		if _, err := off.Authorize(context.Background(), request("sid=bob")); err != nil {
			t.Fatal(err)
		}
	}
	if n := a.calls.Load(); n != 8 {
		t.Errorf("%d calls, want 8: Cache -1 caches nothing", n)
	}
}

// TestCacheBounded checks that the cache holds at most MaxEntries answers,
// however many users come.
func TestCacheBounded(t *testing.T) {
	t.Parallel()
	a := newApp(t, byCookie)
	c := newClient(t, appauth.Config{URL: a.URL, MaxEntries: 8})
	for i := range 100 {
		if _, err := c.Authorize(context.Background(), request(fmt.Sprintf("sid=u%d", i))); err != nil {
			t.Fatal(err)
		}
		if n := c.Entries(); n > 8 {
			t.Fatalf("after %d users: %d entries, want at most 8", i+1, n)
		}
	}
}

// TestMerge checks that 10,000 concurrent requests of the same session
// make one call to the app, and that while one user's call is in flight
// another user's request is not merged with it.
func TestMerge(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	a := newApp(t, func(w http.ResponseWriter, r *http.Request) {
		if c, _ := r.Cookie("sid"); c.Value == "alice" {
			<-release
		}
		byCookie(w, r)
	})
	c := newClient(t, appauth.Config{URL: a.URL, Timeout: time.Minute}) // the call outlasts starting 10,000 goroutines
	t.Cleanup(unblock)                                                  // before the app closes, should the test fail
	const n = 10000
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			claims, err := c.Authorize(context.Background(), request("sid=alice"))
			if err == nil && claims.Subject != "alice" {
				err = fmt.Errorf("alice got %+v", claims)
			}
			if err != nil {
				errs <- err
			}
		})
	}
	waitUntil(t, "9999 requests waiting for the call in flight", func() bool { return c.Stats().Merged == n-1 },
		func() string { return fmt.Sprintf("%+v", c.Stats()) })
	// Bob is not held up by alice's call, nor given its answer.
	if claims, err := c.Authorize(context.Background(), request("sid=bob")); err != nil || claims.Subject != "bob" {
		t.Errorf("bob: %+v, %v", claims, err)
	}
	unblock()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := a.calls.Load(); got != 2 {
		t.Errorf("the app got %d calls for 10,000 requests of alice and one of bob, want 2", got)
	}
}

// waitUntil polls cond for up to 10 s; state, if given, describes what
// went wrong.
func waitUntil(t *testing.T, what string, cond func() bool, state ...func() string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			for _, f := range state {
				what += ": " + f()
			}
			t.Fatalf("waiting for %s", what)
		}
		<-tick.C
	}
}

// TestSlowApp checks that a call to an app that does not answer, or
// answers too slowly, fails at Timeout for the caller and every request
// merged with it, and that the app's request is abandoned then: no
// goroutine of the hub is left waiting for it (TestMain checks).
func TestSlowApp(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"no answer", "headers, then nothing"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			abandoned := make(chan struct{}, 1)
			a := newApp(t, func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body) // then net/http notices the hub hanging up
				if how != "no answer" {
					w.WriteHeader(200)
					io.WriteString(w, `{"subscribe":`)
					w.(http.Flusher).Flush()
				}
				<-r.Context().Done() // the hub hung up
				abandoned <- struct{}{}
			})
			const timeout = 200 * time.Millisecond
			c := newClient(t, appauth.Config{URL: a.URL, Timeout: timeout})
			start := time.Now()
			var wg sync.WaitGroup
			for range 50 {
				wg.Go(func() {
					_, err := c.Authorize(context.Background(), request("sid=alice"))
					var f *appauth.Failure
					if !errors.As(err, &f) || f.Kind != appauth.FailTimeout {
						t.Errorf("got %v, want a timeout", err)
					}
				})
			}
			wg.Wait()
			if d := time.Since(start); d < timeout || d > timeout+2*time.Second {
				t.Errorf("the requests failed after %v, want about %v", d, timeout)
			}
			select {
			case <-abandoned:
			case <-time.After(10 * time.Second):
				t.Fatal("the app's request is still open")
			}
			if n := a.calls.Load(); n != 1 {
				t.Errorf("%d calls, want 1", n)
			}
		})
	}
}

// TestWaiterLeaves checks that a request merged with a call in flight
// returns when its own context ends, and the call still serves the others.
func TestWaiterLeaves(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	a := newApp(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
		byCookie(w, r)
	})
	c := newClient(t, appauth.Config{URL: a.URL})
	first := make(chan error, 1)
	go func() {
		_, err := c.Authorize(context.Background(), request("sid=alice"))
		first <- err
	}()
	waitUntil(t, "the call in flight", func() bool { return a.calls.Load() == 1 })
	ctx, cancel := context.WithCancel(context.Background())
	go cancel()
	if _, err := c.Authorize(ctx, request("sid=alice")); !errors.Is(err, context.Canceled) {
		t.Errorf("merged request whose context ended: %v", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Errorf("the call's own request: %v", err)
	}
}

// TestUnreachable checks a closed port: a failure of kind unreachable.
func TestUnreachable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := newClient(t, appauth.Config{URL: "http://" + addr + "/auth"})
	_, err = c.Authorize(context.Background(), request("sid=alice"))
	var f *appauth.Failure
	if !errors.As(err, &f) || f.Kind != appauth.FailUnreachable {
		t.Errorf("got %v, want unreachable", err)
	}
	if st := c.Stats(); st.Failures[appauth.FailUnreachable] != 1 || st.Calls != 1 {
		t.Errorf("stats %+v", st)
	}
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Split(strings.TrimSpace(s.b.String()), "\n")
}

// TestFailureLog checks that a run of failures logs one line per kind of
// failure, naming the app's URL and its status, and that the app
// answering again is logged once.
func TestFailureLog(t *testing.T) {
	t.Parallel()
	var mode atomic.Value
	mode.Store("500")
	a := newApp(t, func(w http.ResponseWriter, r *http.Request) {
		switch mode.Load() {
		case "500":
			fixed(500, `oops`)(w, r)
		case "garbage":
			fixed(200, `oops`)(w, r)
		default:
			fixed(200, `{}`)(w, r)
		}
	})
	var logs syncBuffer
	c := newClient(t, appauth.Config{URL: a.URL + "/auth", Cache: -1, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	for _, m := range []string{"500", "garbage"} {
		mode.Store(m)
		for i := range 20 {
			if _, err := c.Authorize(context.Background(), request(fmt.Sprintf("sid=%d", i))); !errors.Is(err, appauth.ErrUnavailable) {
				t.Fatalf("%s: %v", m, err)
			}
		}
	}
	mode.Store("ok")
	for range 3 {
		if _, err := c.Authorize(context.Background(), request("sid=1")); err != nil {
			t.Fatal(err)
		}
	}
	lines := logs.lines()
	if len(lines) != 3 {
		t.Fatalf("%d log lines, want 3 (one per kind of failure, one for the recovery):\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for i, want := range []string{"kind=status status=500", "kind=malformed status=200", "answers again"} {
		if !strings.Contains(lines[i], want) || !strings.Contains(lines[i], "url="+a.URL+"/auth") {
			t.Errorf("line %d: %s\nwant %q and the URL", i, lines[i], want)
		}
	}
	if !strings.Contains(lines[2], "failures=40") {
		t.Errorf("the recovery line does not count the 40 failures: %s", lines[2])
	}
	st := c.Stats()
	if st.Failures[appauth.FailStatus] != 20 || st.Failures[appauth.FailMalformed] != 20 || st.Granted != 3 || st.Calls != 43 {
		t.Errorf("stats %+v", st)
	}
	var observed uint64
	for _, n := range st.Latency.Counts {
		observed += n
	}
	if observed != 43 || st.Latency.Sum <= 0 || len(st.Latency.Counts) != len(st.Latency.Bounds)+1 {
		t.Errorf("latency %+v, want 43 observations", st.Latency)
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

// TestStaleConnection checks that a call the app drops, unanswered, on a
// connection kept alive from an earlier call (its keepalive timeout, a
// restart) is made again on a new connection rather than failing.
func TestStaleConnection(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns, requests atomic.Int64
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			first := conns.Add(1) == 1
			wg.Go(func() {
				defer conn.Close()
				br := bufio.NewReader(conn)
				for i := 0; ; i++ {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					requests.Add(1)
					if first && i == 1 {
						return // the second call on the first connection: dropped
					}
					io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
				}
			})
		}
	})
	c := newClient(t, appauth.Config{URL: "http://" + ln.Addr().String()})
	for _, sid := range []string{"sid=alice", "sid=bob"} {
		if _, err := c.Authorize(context.Background(), request(sid)); err != nil {
			t.Fatalf("%s: %v", sid, err)
		}
	}
	if n, r := conns.Load(), requests.Load(); n != 2 || r != 3 {
		t.Errorf("%d connections and %d requests, want bob's call dropped once and made again on a second connection", n, r)
	}
}
