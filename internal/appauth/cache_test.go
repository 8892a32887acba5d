package appauth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/appauth"
	"github.com/ssehub/ssehub/internal/auth"
)

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
