package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/app/apptest"
	"github.com/ssehub/ssehub/internal/auth/authtest"
	"github.com/ssehub/ssehub/internal/metrics"
)

// appCall is what the application received from the hub.
type appCall struct {
	Action        string         `json:"action"`
	Topics        []string       `json:"topics"`
	ClientIP      string         `json:"client_ip"`
	Origin        string         `json:"origin"`
	Query         map[string]any `json:"query"`
	Cookie        string         `json:"-"`
	Authorization string         `json:"-"`
}

// appAnswer answers one call of the hub.
type appAnswer func(w http.ResponseWriter, r *http.Request, c appCall)

// standIn is the application behind the hub, on a real loopback server:
// its sessions are the sid cookie's value, and by default (sessions) user
// u may read and publish orders/u. It counts the calls and keeps the last.
type standIn struct {
	*httptest.Server
	calls  atomic.Int64
	answer atomic.Pointer[appAnswer]
	mu     sync.Mutex
	last   appCall
}

func newStandIn(t *testing.T) *standIn {
	t.Helper()
	a := &standIn{}
	a.set(sessions(0))
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.calls.Add(1)
		var c appCall
		body, err := io.ReadAll(r.Body) // whole: then net/http notices the hub hanging up
		if err == nil {
			err = json.Unmarshal(body, &c)
		}
		if err != nil {
			t.Errorf("the hub sent %q: %v", body, err)
		}
		c.Cookie, c.Authorization = r.Header.Get("Cookie"), r.Header.Get("Authorization")
		a.mu.Lock()
		a.last = c
		a.mu.Unlock()
		(*a.answer.Load())(w, r, c)
	}))
	t.Cleanup(a.Close)
	return a
}

func (a *standIn) set(f appAnswer) { a.answer.Store(&f) }

func (a *standIn) lastCall() appCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last
}

// reply answers status and a JSON body.
func reply(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// sessions answers the rights of the session's user, expiring after
// expiresIn seconds (0: no expires_in): no sid is 401, mallory is 403,
// admin may read the stats feed.
func sessions(expiresIn float64) appAnswer {
	return func(w http.ResponseWriter, r *http.Request, c appCall) {
		sid, err := r.Cookie("sid")
		switch {
		case err != nil || sid.Value == "":
			reply(w, 401, `{"error":"not logged in"}`)
		case sid.Value == "mallory":
			reply(w, 403, `{"error":"banned"}`)
		case sid.Value == "admin":
			reply(w, 200, `{"subscribe":["$ssehub/stats"],"user":"admin"}`)
		default:
			u := sid.Value
			exp := ""
			if expiresIn > 0 {
				exp = fmt.Sprintf(`,"expires_in":%g`, expiresIn)
			}
			reply(w, 200, fmt.Sprintf(`{"subscribe":["orders/%s"],"publish":["orders/%s","llm/generations/{id}"],"user":%q,"payload":{"name":%q}%s}`, u, u, u, u, exp))
		}
	}
}

// callbackServer starts a hub asking a (in open development mode unless
// mutate sets a key).
func callbackServer(t *testing.T, a *standIn, mutate func(*app.Config)) *server {
	t.Helper()
	return newServer(t, func(c *app.Config) {
		c.AppAuth.URL = a.URL + "/sse/auth"
		if mutate != nil {
			mutate(c)
		}
	})
}

// publishPrivate publishes a private update to topic from loopback.
func (s *server) publishPrivate(t *testing.T, topic, data string) {
	t.Helper()
	if ans := s.do(t, http.MethodPost, "/publish", formType, url.Values{"topic": {topic}, "data": {data}, "private": {"on"}}.Encode()); ans.status != 200 {
		t.Fatalf("publish to %s: %d %s", topic, ans.status, ans.body)
	}
}

// TestCallbackSubscribe checks subscriptions the application decides: the
// hub asks it with the browser's cookie and what the subscription is about,
// a user gets the private updates of the topics the app grants and no
// other's, and the app's 401 and 403 are passed on.
func TestCallbackSubscribe(t *testing.T) {
	t.Parallel()
	a := newStandIn(t)
	s := callbackServer(t, a, nil)

	// alice subscribes to her orders and bob's.
	st := s.OpenStream(t, "/events?topic=orders/alice&topic=orders/bob&room=5&lastEventID=earliest",
		apptest.Header("Cookie", "sid=alice; lang=zh", "Origin", "https://shop.example"))
	c := a.lastCall()
	want := appCall{Action: "subscribe", Topics: []string{"orders/alice", "orders/bob"}, ClientIP: "127.0.0.1",
		Origin: "https://shop.example", Query: map[string]any{"room": "5"}, Cookie: "sid=alice; lang=zh"}
	if fmt.Sprint(c) != fmt.Sprint(want) {
		t.Errorf("the app was asked %+v, want %+v", c, want)
	}
	s.publishPrivate(t, "orders/bob", "bob's order")
	s.publishPrivate(t, "orders/alice", "alice's order")
	if ev := st.Next(t); ev.Data != "alice's order" {
		t.Errorf("alice got %q first, want her own order and never bob's", ev.Data)
	}

	for _, tc := range []struct {
		name, cookie string
		status       int
		msg          string
	}{
		{"logged out", "", 401, "the app refused: not logged in"},
		{"other cookies only", "lang=zh", 401, "the app refused: not logged in"},
		{"banned", "sid=mallory", 403, "the app refused: banned"},
	} {
		var hdr []string
		if tc.cookie != "" {
			hdr = []string{"Cookie", tc.cookie}
		}
		ans := s.do(t, http.MethodGet, "/events?topic=orders/alice", "", "", hdr...)
		m := apptest.ErrorBody(t, ans.header.Get("Content-Type"), ans.body)
		if ans.status != tc.status || m["error"] != tc.msg || m["field"] != "Cookie" {
			t.Errorf("%s: %d %s, want %d %q for the field Cookie", tc.name, ans.status, ans.body, tc.status, tc.msg)
		}
		if tc.status == 401 && ans.header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", tc.name)
		}
	}

	// The health answer says the app decides, and the stats feed, which
	// names topics, is private.
	if ans := s.do(t, http.MethodGet, "/healthz", "", ""); !strings.Contains(ans.body, `"auth":"callback"`) {
		t.Errorf("healthz: %s", ans.body)
	}
	anyone := s.OpenStream(t, apptest.Query("/events", "topic", metrics.StatsTopic, "topic", "news"), apptest.Header("Cookie", "sid=alice"))
	admin := s.OpenStream(t, apptest.Query("/events", "topic", metrics.StatsTopic), apptest.Header("Cookie", "sid=admin"))
	if ev := admin.Next(t); ev.Type != "stats" {
		t.Fatalf("the admin got %q %q, want a snapshot", ev.Type, ev.Data)
	}
	if ans := s.do(t, http.MethodPost, "/publish", formType, "topic=news&data=marker"); ans.status != 200 {
		t.Fatalf("publish: %d %s", ans.status, ans.body)
	}
	if ev := anyone.Next(t); ev.Data != "marker" {
		t.Errorf("alice got %q %q before the marker, want no snapshot", ev.Type, ev.Data)
	}

	// The seed's stream asks about its own topic.
	seed := s.OpenStream(t, "/gbi/sse/search", apptest.Header("Cookie", "sid=alice"))
	defer seed.Close()
	if c := a.lastCall(); !slices.Equal(c.Topics, []string{"gbi/sse"}) {
		t.Errorf("the seed's stream asked about %q", c.Topics)
	}
	// A subscription the hub refuses anyway does not reach the app.
	before := a.calls.Load()
	for _, path := range []string{"/events", "/events?topic=" + strings.Repeat("x", 2000)} {
		if ans := s.do(t, http.MethodGet, path, "", "", "Cookie", "sid=alice"); ans.status != 400 {
			t.Errorf("GET %.40s: %d, want 400", path, ans.status)
		}
	}
	if n := a.calls.Load(); n != before {
		t.Errorf("bad subscriptions made %d calls to the app", n-before)
	}
}

// TestCallbackAndTokens checks the two side by side: a token decides alone
// and a bad one is refused, the app never seeing either; with no key at all
// any token is refused, so that presenting one cannot bypass the app; with
// -auth-mode callback the app decides everything, tokens and all.
func TestCallbackAndTokens(t *testing.T) {
	t.Parallel()
	k := authtest.NewKeys(t)
	good := k.HS256(t, authtest.Claims(nil, []string{"orders/bob"}, time.Now().Add(time.Hour)))
	bad := authtest.NewKeys(t).HS256(t, authtest.Claims(nil, []string{"*"}, time.Now().Add(time.Hour)))
	jwtKey := func(c *app.Config) { c.JWTKey = k.SecretFile }
	callbackMode := func(c *app.Config) { c.JWTKey, c.AppAuth.Mode = k.SecretFile, app.AuthModeCallback }
	tests := []struct {
		name   string
		mutate func(*app.Config)
		hdr    []string
		status int
		asked  bool
	}{
		{"good token", jwtKey, []string{"Authorization", bearer(good)}, 200, false},
		{"good token in the query", jwtKey, []string{"X-Query", good}, 200, false},
		{"bad token", jwtKey, []string{"Authorization", bearer(bad), "Cookie", "sid=alice"}, 401, false},
		{"bad token cookie", jwtKey, []string{"Cookie", "mercureAuthorization=" + bad + "; sid=alice"}, 401, false},
		{"malformed Authorization", jwtKey, []string{"Authorization", "Basic dTpw", "Cookie", "sid=alice"}, 400, false},
		{"no token", jwtKey, []string{"Cookie", "sid=alice"}, 200, true},
		{"no key: a token", nil, []string{"Authorization", bearer(good), "Cookie", "sid=alice"}, 401, false},
		{"no key: no token", nil, []string{"Cookie", "sid=alice"}, 200, true},
		{"callback mode: a good token", callbackMode, []string{"Authorization", bearer(good)}, 401, true},
		{"callback mode: an app's own scheme", callbackMode, []string{"Authorization", "Basic dTpw", "Cookie", "sid=alice"}, 200, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := newStandIn(t)
			s := callbackServer(t, a, tc.mutate)
			path := "/events?topic=orders/bob"
			hdr := tc.hdr
			if hdr[0] == "X-Query" {
				path += "&authorization=" + hdr[1]
				hdr = nil
			}
			ans := s.do(t, http.MethodGet, path, "", "", hdr...)
			if ans.status != tc.status {
				t.Errorf("status %d %s, want %d", ans.status, ans.body, tc.status)
			}
			if asked := a.calls.Load() > 0; asked != tc.asked {
				t.Errorf("the app was asked: %v, want %v", asked, tc.asked)
			}
			if tc.asked {
				if c := a.lastCall(); c.Authorization != http.Header(apptest.Header(hdr...)).Get("Authorization") {
					t.Errorf("the app got Authorization %q", c.Authorization)
				}
			}
		})
	}
}

// TestCallbackFailures checks that an app that cannot decide grants
// nothing: reset connections, a timeout, a 5xx, garbage, an answer too
// large or with selectors that are none are a 503 with Retry-After and no
// stream; and that streams open again once the app is back.
func TestCallbackFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		answer appAnswer
		msg    string
	}{
		{"connection reset", func(w http.ResponseWriter, r *http.Request, c appCall) {
			conn, _, _ := http.NewResponseController(w).Hijack()
			conn.Close()
		}, "cannot be reached"},
		{"slow", func(w http.ResponseWriter, r *http.Request, c appCall) { <-r.Context().Done() }, "did not answer in time"},
		{"500", func(w http.ResponseWriter, r *http.Request, c appCall) { reply(w, 500, `{"subscribe":["*"]}`) }, "answered 500"},
		{"redirect to a login page", func(w http.ResponseWriter, r *http.Request, c appCall) {
			http.Redirect(w, r, "/login", http.StatusFound)
		}, "answered 302"},
		{"garbage", func(w http.ResponseWriter, r *http.Request, c appCall) { reply(w, 200, `<h1>Welcome</h1>`) }, "not rights"},
		{"empty selector", func(w http.ResponseWriter, r *http.Request, c appCall) { reply(w, 200, `{"subscribe":[""]}`) }, "not rights"},
		{"huge", func(w http.ResponseWriter, r *http.Request, c appCall) {
			reply(w, 200, `{"subscribe":["orders/alice"],"pad":"`+strings.Repeat("x", 70<<10)+`"}`)
		}, "not rights"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := newStandIn(t)
			s := callbackServer(t, a, func(c *app.Config) { c.AppAuth.Timeout = 300 * time.Millisecond })
			a.set(tc.answer)
			start := time.Now()
			ans := s.do(t, http.MethodGet, "/events?topic=orders/alice", "", "", "Cookie", "sid=alice")
			m := apptest.ErrorBody(t, ans.header.Get("Content-Type"), ans.body)
			msg, _ := m["error"].(string)
			if ans.status != 503 || ans.header.Get("Retry-After") != "2" || !strings.Contains(msg, tc.msg) || !strings.Contains(msg, "nothing is granted") {
				t.Errorf("%d (Retry-After %q) %s, want 503, Retry-After 2 and %q", ans.status, ans.header.Get("Retry-After"), ans.body, tc.msg)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("refused after %v: the timeout is 300ms", d)
			}
			if n := s.App.Hub().Stats().Subscribers; n != 0 {
				t.Errorf("%d subscribers after the failure", n)
			}
			a.set(sessions(0))
			st := s.OpenStream(t, "/events?topic=orders/alice", apptest.Header("Cookie", "sid=alice"))
			s.publishPrivate(t, "orders/alice", "back")
			if ev := st.Next(t); ev.Data != "back" {
				t.Errorf("once the app is back: %q", ev.Data)
			}
		})
	}
}

// readUntilEnd reads a stream's events into a channel until it ends, then
// sends the error that ended it.
func readUntilEnd(st *apptest.Stream) (events <-chan string, ended <-chan error) {
	evs, end := make(chan string, 16), make(chan error, 1)
	go func() {
		for {
			ev, err := st.Parser.Next()
			if err != nil {
				end <- err
				return
			}
			evs <- ev.Data
		}
	}()
	return evs, end
}

// TestCallbackRenew checks rights that expire: once expires_in passes the
// app is asked again and the stream goes on while it grants the same; a
// refusal, other rights or an app down at that moment end the stream, and
// the browser reconnecting is refused.
func TestCallbackRenew(t *testing.T) {
	t.Parallel()
	const expiresIn = 0.3 // seconds
	tests := []struct {
		name   string
		then   appAnswer
		status int // of the reconnection
	}{
		{"logged out", func(w http.ResponseWriter, r *http.Request, c appCall) { reply(w, 401, `{"error":"session expired"}`) }, 401},
		{"other rights", func(w http.ResponseWriter, r *http.Request, c appCall) {
			reply(w, 200, `{"subscribe":["orders/alice","orders/bob"],"user":"alice","expires_in":0.3}`)
		}, 200},
		{"app failing", func(w http.ResponseWriter, r *http.Request, c appCall) { reply(w, 500, ``) }, 503},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := newStandIn(t)
			a.set(sessions(expiresIn))
			s := callbackServer(t, a, nil)
			st := s.OpenStream(t, "/events?topic=orders/alice", apptest.Header("Cookie", "sid=alice"))
			events, ended := readUntilEnd(st)
			// Renewed twice with the same rights: the stream goes on.
			apptest.WaitFor(t, "two renewals", func() bool { return a.calls.Load() >= 3 })
			s.publishPrivate(t, "orders/alice", "still here")
			select {
			case ev := <-events:
				if ev != "still here" {
					t.Fatalf("got %q", ev)
				}
			case err := <-ended:
				t.Fatalf("the stream ended after renewals granting the same: %v", err)
			}
			a.set(tc.then)
			select {
			case err := <-ended:
				if err != io.EOF {
					t.Errorf("the stream ended with %v, want its clean end", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the stream is still open 10 s after its rights were withdrawn")
			}
			s.WaitSubscribers(t, 0)
			if tc.status != 200 {
				if ans := s.do(t, http.MethodGet, "/events?topic=orders/alice", "", "", "Cookie", "sid=alice"); ans.status != tc.status {
					t.Errorf("reconnection: %d, want %d", ans.status, tc.status)
				}
			}
		})
	}
}

// TestCallbackPublish checks -auth-publish: the app decides publishes
// without a token, about every topic of the request, and a publish with
// cookies must come from an allowed origin, checked before the app is
// asked; without -auth-publish the app is never asked about publishes.
func TestCallbackPublish(t *testing.T) {
	t.Parallel()
	a := newStandIn(t)
	s := callbackServer(t, a, func(c *app.Config) {
		c.AppAuth.Publish = true
		c.CORSOrigins = "https://shop.example"
	})
	origin := "https://shop.example"
	batch := `[{"topic":"orders/alice","data":"1"},{"topic":["orders/alice","orders/alice/7"],"data":"2"}]`
	tests := []struct {
		name   string
		body   string
		ctype  string
		hdr    []string
		status int
		topics []string // asked about; nil: the app was not asked
	}{
		{"her topic", "topic=orders/alice&data=x", formType, []string{"Cookie", "sid=alice", "Origin", origin}, 200, []string{"orders/alice"}},
		{"a batch", batch, "application/json", []string{"Cookie", "sid=alice", "Origin", origin}, 403, []string{"orders/alice", "orders/alice/7"}},
		{"another's topic", "topic=orders/bob&data=x", formType, []string{"Cookie", "sid=alice", "Origin", origin}, 403, []string{"orders/bob"}},
		{"logged out", "topic=orders/alice&data=x", formType, []string{"Origin", origin}, 401, []string{"orders/alice"}},
		{"from another site", "topic=orders/alice&data=x", formType, []string{"Cookie", "sid=alice", "Origin", "https://evil.example"}, 403, nil},
		{"no origin", "topic=orders/alice&data=x", formType, []string{"Cookie", "sid=alice"}, 403, nil},
		{"a bad update", "data=x", formType, []string{"Cookie", "sid=alice", "Origin", origin}, 400, nil},
	}
	for _, tc := range tests {
		before := a.calls.Load()
		ans := s.do(t, http.MethodPost, "/publish", tc.ctype, tc.body, tc.hdr...)
		if ans.status != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, ans.status, ans.body, tc.status)
		}
		asked := a.calls.Load() > before
		if c := a.lastCall(); asked != (tc.topics != nil) || asked && (c.Action != "publish" || !slices.Equal(c.Topics, tc.topics)) {
			t.Errorf("%s: asked %v (%+v), want topics %q", tc.name, asked, c, tc.topics)
		}
	}

	// A generation belongs to the app's user.
	ans := s.do(t, http.MethodPost, "/llm/generations", "application/json", `{"messages":[{"role":"user","content":"hi"}]}`, "Cookie", "sid=alice", "Origin", origin)
	var gen struct{ ID string }
	if ans.status != 201 || json.Unmarshal([]byte(ans.body), &gen) != nil {
		t.Fatalf("start a generation: %d %s", ans.status, ans.body)
	}
	if c := a.lastCall(); len(c.Topics) != 0 {
		t.Errorf("the LLM gate asked about %q, want no topic", c.Topics)
	}
	for user, want := range map[string]int{"alice": 200, "bob": 403} {
		if ans := s.do(t, http.MethodGet, "/llm/generations/"+gen.ID, "", "", "Cookie", "sid="+user, "Origin", origin); ans.status != want {
			t.Errorf("%s reads alice's generation: %d %s, want %d", user, ans.status, ans.body, want)
		}
	}

	// Without -auth-publish publishes are not the app's.
	b := newStandIn(t)
	off := callbackServer(t, b, nil)
	if ans := off.do(t, http.MethodPost, "/publish", formType, "topic=orders/alice&data=x"); ans.status != 200 || b.calls.Load() != 0 {
		t.Errorf("publish without -auth-publish: %d, %d calls", ans.status, b.calls.Load())
	}
}

// TestCallbackMerges checks that a burst of streams of a few sessions
// makes one call per session, and that the metrics count calls, cache hits
// and merged requests.
func TestCallbackMerges(t *testing.T) {
	t.Parallel()
	a := newStandIn(t)
	release := make(chan struct{})
	a.set(func(w http.ResponseWriter, r *http.Request, c appCall) {
		<-release // the burst piles up on the first calls
		sessions(0)(w, r, c)
	})
	s := callbackServer(t, a, func(c *app.Config) { c.AppAuth.Timeout = time.Minute })
	const streams, users = 400, 4
	var wg sync.WaitGroup
	opened := make(chan *apptest.Stream, streams)
	for i := range streams {
		wg.Go(func() {
			st, err := s.Dial(fmt.Sprintf("/events?topic=orders/u%d", i%users), apptest.Header("Cookie", fmt.Sprintf("sid=u%d", i%users)))
			if err != nil {
				t.Error(err)
				return
			}
			opened <- st
		})
	}
	s.waitMetric(t, "the burst waiting", func(v float64) bool { return v == streams-users }, "ssehub_auth_callback_merged_total")
	close(release)
	wg.Wait()
	close(opened)
	for st := range opened {
		st.Close()
	}
	if n := a.calls.Load(); n != users {
		t.Errorf("%d streams of %d sessions made %d calls, want %d", streams, users, n, users)
	}
	// Then the cache answers.
	st := s.OpenStream(t, "/events?topic=orders/u1", apptest.Header("Cookie", "sid=u1"))
	st.Close()
	fams := s.scrape(t)
	for _, c := range []struct {
		name  string
		pairs []string
		want  float64
	}{
		{"ssehub_auth_callback_calls_total", []string{"answer", "granted"}, users},
		{"ssehub_auth_callback_calls_total", []string{"answer", "failed"}, 0},
		{"ssehub_auth_callback_merged_total", nil, streams - users},
		{"ssehub_auth_callback_cache_hits_total", nil, 1},
		{"ssehub_auth_callback_failures_total", []string{"kind", "timeout"}, 0},
		{"ssehub_auth_callback_duration_seconds", nil, users},
	} {
		if got := value(fams, c.name, c.pairs...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.pairs, got, c.want)
		}
	}
}
