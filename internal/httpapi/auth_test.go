package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/app/apptest"
	"github.com/ssehub/ssehub/internal/auth"
	"github.com/ssehub/ssehub/internal/auth/authtest"
	"github.com/ssehub/ssehub/internal/httpapi"
	"github.com/ssehub/ssehub/internal/llmapi"
)

// jwtServer starts a hub verifying HS256 tokens signed with k's secret.
func jwtServer(t *testing.T, k *authtest.Keys, mutate func(*app.Config)) *server {
	t.Helper()
	return newServer(t, func(c *app.Config) {
		c.JWTKey = k.SecretFile
		if mutate != nil {
			mutate(c)
		}
	})
}

// answer is a response read whole.
type answer struct {
	status int
	header http.Header
	body   string
}

// do sends a request and reads the answer. hdr pairs are headers.
func (s *server) do(t *testing.T, method, path, ctype, body string, hdr ...string) answer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), apptest.StreamTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") == "text/event-stream" {
		return answer{status: resp.StatusCode, header: resp.Header} // an open stream: leave it
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func bearer(tok string) string { return "Bearer " + tok }

// TestAuthRefusals sends requests that must be refused, and some that must
// not, to a hub verifying HS256 tokens, and checks the status, the JSON
// error body and its field, and WWW-Authenticate on 401.
func TestAuthRefusals(t *testing.T) {
	t.Parallel()
	k := authtest.NewKeys(t)
	other := authtest.NewKeys(t)
	s := jwtServer(t, k, nil)
	hour := time.Now().Add(time.Hour)
	pubA := k.HS256(t, authtest.Claims([]string{"a", "books/{id}"}, nil, hour))
	pubAll := k.HS256(t, authtest.Claims([]string{"*"}, nil, hour))
	pubGen := k.HS256(t, authtest.Claims([]string{"llm/generations/{id}"}, nil, hour))
	pubSeed := k.HS256(t, authtest.Claims([]string{httpapi.SeedTopic}, nil, hour))
	noClaim := k.HS256(t, jwt.MapClaims{"exp": hour.Unix()})
	expired := k.HS256(t, authtest.Claims([]string{"*"}, []string{"*"}, time.Now().Add(-time.Minute)))
	notYet := k.HS256(t, jwt.MapClaims{"nbf": hour.Unix(), "mercure": map[string]any{"publish": []string{"*"}}})
	none := authtest.Sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, authtest.Claims([]string{"*"}, nil, hour))
	wrongKey := other.HS256(t, authtest.Claims([]string{"*"}, nil, hour))
	rs := k.RS256(t, authtest.Claims([]string{"*"}, nil, hour))
	form := "topic=a&data=x"
	const (
		post = http.MethodPost
		get  = http.MethodGet
	)
	tests := []struct {
		name         string
		method, path string
		ctype, body  string
		hdr          []string
		status       int
		field        string // wanted "field"
		msg          string // part of the error message
	}{
		{"publish without token", post, "/.well-known/mercure", formType, form, nil, 401, "Authorization", "needs a token"},
		{"publish with Basic", post, "/publish", formType, form, []string{"Authorization", "Basic dTpw"}, 400, "Authorization", "Bearer"},
		{"publish with two headers", post, "/publish", formType, form, []string{"Authorization", bearer(pubA), "Authorization", bearer(pubA)}, 400, "Authorization", "Bearer"},
		{"publish with empty bearer", post, "/publish", formType, form, []string{"Authorization", "Bearer "}, 400, "Authorization", "Bearer"},
		{"publish malformed", post, "/publish", formType, form, []string{"Authorization", bearer("a.b")}, 401, "Authorization", "malformed"},
		{"publish alg none", post, "/publish", formType, form, []string{"Authorization", bearer(none)}, 401, "Authorization", `"none"`},
		{"publish RS256 to HS256 hub", post, "/publish", formType, form, []string{"Authorization", bearer(rs)}, 401, "Authorization", "accepts only HS256"},
		{"publish wrong key", post, "/publish", formType, form, []string{"Authorization", bearer(wrongKey)}, 401, "Authorization", "signature"},
		{"publish expired", post, "/publish", formType, form, []string{"Authorization", bearer(expired)}, 401, "Authorization", "expired at"},
		{"publish not yet valid", post, "/publish", formType, form, []string{"Authorization", bearer(notYet)}, 401, "Authorization", "not valid before"},
		{"publish token in query, expired", post, "/publish?authorization=" + expired, formType, form, nil, 401, "authorization", "query parameter"},
		{"publish without mercure.publish", post, "/publish", formType, form, []string{"Authorization", bearer(noClaim)}, 403, "topic", "no mercure.publish"},
		{"publish to a topic not allowed", post, "/publish", formType, "topic=b", []string{"Authorization", bearer(pubA)}, 403, "topic", `"b"`},
		{"publish to one allowed, one not", post, "/publish", formType, "topic=a&topic=b", []string{"Authorization", bearer(pubA)}, 403, "topic", `"b"`},
		{"publish JSON beyond the template", post, "/publish", jsonType, `{"topic":"books/1/x"}`, []string{"Authorization", bearer(pubA)}, 403, "topic", "books/1/x"},
		{"publish with bad input and a right", post, "/publish", formType, "topic=a&id=%23x", []string{"Authorization", bearer(pubA)}, 400, "id", "reserved"},
		{"seed receive without token", post, "/gbi/sse/receive", formType, "message=x", nil, 401, "Authorization", "needs a token"},
		{"seed receive GET without right", get, "/gbi/sse/receive?message=x", "", "", []string{"Authorization", bearer(pubA)}, 403, "topic", httpapi.SeedTopic},
		{"generation without token", post, "/llm/generations", jsonType, `{"messages":[{"role":"user","content":"hi"}]}`, nil, 401, "Authorization", "needs a token"},
		{"generation without right", post, "/llm/generations", jsonType, `{"messages":[{"role":"user","content":"hi"}]}`, []string{"Authorization", bearer(pubA)}, 403, "topic", llmapi.GenerationTopic},
		{"stop without right", post, "/llm/generations/x/stop", "", "", []string{"Authorization", bearer(pubSeed)}, 403, "topic", "llm/generations/x"},
		{"stop with right, no such generation", post, "/llm/generations/x/stop", "", "", []string{"Authorization", bearer(pubGen)}, 404, "id", "no such generation"},
		{"subscribe with bad header", get, "/events?topic=a", "", "", []string{"Authorization", bearer(wrongKey)}, 401, "Authorization", "subscriber token in the Authorization header"},
		{"subscribe with expired query token", get, "/events?topic=a&authorization=" + expired, "", "", nil, 401, "authorization", "expired"},
		{"subscribe with empty query token", get, "/.well-known/mercure?topic=a&authorization=", "", "", nil, 401, "authorization", "empty"},
		{"subscribe with alg none cookie", get, "/events?topic=a", "", "", []string{"Cookie", httpapi.CookieName + "=" + none}, 401, httpapi.CookieName, "cookie"},
		{"seed search with bad token", get, "/gbi/sse/search", "", "", []string{"Authorization", bearer("x")}, 401, "Authorization", "malformed"},
		{"header wins over a good query token", get, "/events?topic=a&authorization=" + pubAll, "", "", []string{"Authorization", bearer(expired)}, 401, "Authorization", "expired"},
		{"query wins over a good cookie", get, "/events?topic=a&authorization=" + expired, "", "", []string{"Cookie", httpapi.CookieName + "=" + pubAll}, 401, "authorization", "expired"},
		{"cookie publish without Origin", post, "/publish", formType, form, []string{"Cookie", httpapi.CookieName + "=" + pubAll}, 403, "Origin", "Origin or Referer"},
		{"cookie publish from another origin", post, "/publish", formType, form, []string{"Cookie", httpapi.CookieName + "=" + pubAll, "Origin", "https://evil.example"}, 403, "Origin", "https://evil.example"},
		{"cookie publish, other Referer", post, "/publish", formType, form, []string{"Cookie", httpapi.CookieName + "=" + pubAll, "Referer", "https://evil.example/page"}, 403, "Origin", "https://evil.example"},
		{"cookie seed receive GET from another origin", get, "/gbi/sse/receive", "", "", []string{"Cookie", httpapi.CookieName + "=" + pubAll, "Origin", "https://evil.example"}, 403, "Origin", "https://evil.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ans := s.do(t, tt.method, tt.path, tt.ctype, tt.body, tt.hdr...)
			if ans.status != tt.status {
				t.Fatalf("status %d, want %d; body %s", ans.status, tt.status, ans.body)
			}
			m := apptest.ErrorBody(t, ans.header.Get("Content-Type"), ans.body)
			if m["field"] != tt.field {
				t.Errorf("field = %v, want %q; body %s", m["field"], tt.field, ans.body)
			}
			if msg, _ := m["error"].(string); !strings.Contains(msg, tt.msg) {
				t.Errorf("error %q does not say %q", msg, tt.msg)
			}
			checkChallenge(t, ans.status, tt.field, ans.header.Get("WWW-Authenticate"))
		})
	}
	t.Cleanup(func() { // after the parallel subtests
		if st := s.App.Hub().Stats(); st.Published != 0 {
			t.Errorf("%d updates were published by refused requests", st.Published)
		}
	})
}

// TestAuthAccepted checks what a valid token may do: publish by exact,
// "*" and template selectors, with the token in each place, the cookie
// from the hub's own and from an allowed origin.
func TestAuthAccepted(t *testing.T) {
	t.Parallel()
	k := authtest.NewKeys(t)
	s := jwtServer(t, k, func(c *app.Config) { c.CORSOrigins = "https://app.example" })
	hour := time.Now().Add(time.Hour)
	exact := k.HS256(t, authtest.Claims([]string{"a"}, nil, hour))
	all := k.HS256(t, authtest.Claims([]string{"*"}, nil, hour))
	tpl := k.HS256(t, authtest.Claims([]string{"books/{id}", "x"}, nil, hour))
	seed := k.HS256(t, authtest.Claims([]string{httpapi.SeedTopic}, nil, hour))
	gen := k.HS256(t, authtest.Claims([]string{"llm/generations/{id}"}, nil, hour))
	cookie := httpapi.CookieName + "="
	tests := []struct {
		name, path, ctype, body string
		hdr                     []string
	}{
		{"exact", "/.well-known/mercure", formType, "topic=a&data=x", []string{"Authorization", bearer(exact)}},
		{"lower-case bearer", "/.well-known/mercure", formType, "topic=a", []string{"Authorization", "bearer " + exact}},
		{"wildcard", "/publish", jsonType, `{"topic":["q","r"],"private":true}`, []string{"Authorization", bearer(all)}},
		{"template", "/publish", formType, "topic=books/1&topic=x", []string{"Authorization", bearer(tpl)}},
		{"query token", "/publish?authorization=" + exact, formType, "topic=a", nil},
		{"cookie, same origin", "/publish", formType, "topic=a", []string{"Cookie", cookie + exact, "Origin", s.URL}},
		{"cookie, allowed origin", "/publish", formType, "topic=a", []string{"Cookie", cookie + exact, "Origin", "https://app.example"}},
		{"cookie, allowed Referer", "/publish", formType, "topic=a", []string{"Cookie", cookie + exact, "Referer", "https://app.example/page?x"}},
		{"seed receive", "/gbi/sse/receive", formType, "message=hi", []string{"Authorization", bearer(seed)}},
		{"generation", "/llm/generations", jsonType, `{"messages":[{"role":"user","content":"hi"}],"max_tokens":2}`, []string{"Authorization", bearer(gen)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ans := s.do(t, http.MethodPost, tt.path, tt.ctype, tt.body, tt.hdr...)
			if ans.status/100 != 2 {
				t.Fatalf("status %d: %s", ans.status, ans.body)
			}
		})
	}
}

// TestChatCompletionsAuth checks the OpenAI endpoint: the SDK's API key is
// the bearer token; refusals keep OpenAI's error shape.
func TestChatCompletionsAuth(t *testing.T) {
	t.Parallel()
	k := authtest.NewKeys(t)
	s := jwtServer(t, k, nil)
	body := `{"model":"ssehub-sim","messages":[{"role":"user","content":"hi"}],"max_tokens":2}`
	gen := k.HS256(t, authtest.Claims([]string{"llm/generations/{id}"}, nil, time.Now().Add(time.Hour)))
	other := k.HS256(t, authtest.Claims([]string{"a"}, nil, time.Now().Add(time.Hour)))
	for _, tt := range []struct {
		name   string
		key    string
		status int
	}{{"SDK placeholder key", "unused", 401}, {"no right", other, 403}, {"right", gen, 200}} {
		ans := s.do(t, http.MethodPost, "/v1/chat/completions", jsonType, body, "Authorization", bearer(tt.key))
		if ans.status != tt.status {
			t.Errorf("%s: status %d, want %d: %s", tt.name, ans.status, tt.status, ans.body)
			continue
		}
		if tt.status == 200 {
			continue
		}
		var e struct {
			Error struct{ Message, Type string } `json:"error"`
		}
		if err := json.Unmarshal([]byte(ans.body), &e); err != nil || e.Error.Message == "" {
			t.Errorf("%s: body %s is not an OpenAI error", tt.name, ans.body)
		}
		if want := map[int]string{401: "authentication_error", 403: "permission_error"}[tt.status]; e.Error.Type != want {
			t.Errorf("%s: error type %q, want %q", tt.name, e.Error.Type, want)
		}
		if tt.status == 401 && ans.header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", tt.name)
		}
	}
}

// TestPrivateDelivery checks who receives a private update: the subscriber
// whose mercure.subscribe matches one of its topics, with the token in the
// header, the query or the cookie; not an anonymous one nor one authorized
// for other topics. A public update reaches them all.
func TestPrivateDelivery(t *testing.T) {
	t.Parallel()
	k := authtest.NewKeys(t)
	s := jwtServer(t, k, nil)
	hour := time.Now().Add(time.Hour)
	sub := k.HS256(t, authtest.Claims(nil, []string{"users/7/{?topic}"}, hour))
	otherSub := k.HS256(t, authtest.Claims(nil, []string{"users/8/{?topic}"}, hour))
	pub := k.HS256(t, authtest.Claims([]string{"*"}, nil, hour))
	path := apptest.Query("/events", "topic", "books/{id}")

	anon := s.OpenStream(t, path, nil)
	byHeader := s.OpenStream(t, path, apptest.Header("Authorization", bearer(sub)))
	byQuery := s.OpenStream(t, path+"&authorization="+url.QueryEscape(sub), nil)
	byCookie := s.OpenStream(t, path, apptest.Header("Cookie", httpapi.CookieName+"="+sub))
	other := s.OpenStream(t, "/.well-known/mercure?topic=*", apptest.Header("Authorization", bearer(otherSub)))
	if cc := byQuery.Resp.Header.Get("Cache-Control"); !strings.Contains(cc, "private") {
		t.Errorf("Cache-Control of a stream authorized by the query = %q, want private", cc)
	}
	s.WaitSubscribers(t, 5)

	alternate := "users/7/?topic=" + url.QueryEscape("books/1")
	publish := func(form url.Values) {
		t.Helper()
		ans := s.do(t, http.MethodPost, "/.well-known/mercure", formType, form.Encode(), "Authorization", bearer(pub))
		if ans.status != 200 {
			t.Fatalf("publish: %d %s", ans.status, ans.body)
		}
	}
	publish(url.Values{"topic": {"books/1", alternate}, "data": {"secret"}, "private": {"on"}})
	publish(url.Values{"topic": {"books/2"}, "data": {"public"}})

	for name, st := range map[string]*apptest.Stream{"header": byHeader, "query": byQuery, "cookie": byCookie} {
		evs, err := st.Read(2)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if evs[0].Data != "secret" || evs[1].Data != "public" {
			t.Errorf("authorized by %s received %q, %q; want secret, public", name, evs[0].Data, evs[1].Data)
		}
	}
	for name, st := range map[string]*apptest.Stream{"anonymous": anon, "other": other} {
		if ev := st.Next(t); ev.Data != "public" {
			t.Errorf("%s subscriber received %q first, want the public update", name, ev.Data)
		}
	}
}

// TestTokenExpiryEndsStream checks that a subscription ends by itself when
// its token expires, and that the hub forgets the subscriber.
func TestTokenExpiryEndsStream(t *testing.T) {
	t.Parallel()
	k := authtest.NewKeys(t)
	s := jwtServer(t, k, nil)
	var tok string
	for _, path := range []string{"/events?topic=a", "/gbi/sse/search"} {
		exp := time.Now().Add(2 * time.Second)
		tok = k.HS256(t, authtest.Claims(nil, []string{"*"}, exp))
		st := s.OpenStream(t, path, apptest.Header("Authorization", bearer(tok)))
		ended := make(chan error, 1)
		go func() {
			for {
				if _, err := st.Parser.Next(); err != nil {
					ended <- err
					return
				}
			}
		}()
		select {
		case err := <-ended:
			if err != io.EOF {
				t.Errorf("%s: stream ended with %v, want EOF", path, err)
			}
			if now := time.Now(); now.Before(exp.Truncate(time.Second)) {
				t.Errorf("%s: stream ended at %v, before the token's exp %v", path, now, exp.Truncate(time.Second))
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: stream still open 10 s after its token expired", path)
		}
	}
	s.WaitSubscribers(t, 0)
	if ans := s.do(t, http.MethodGet, "/events?topic=a", "", "", "Authorization", bearer(tok)); ans.status != 401 {
		t.Errorf("reconnect with the expired token: status %d, want 401", ans.status)
	}
}

// TestAnonymousSubscribeOff checks -anonymous-subscribe=false.
func TestAnonymousSubscribeOff(t *testing.T) {
	t.Parallel()
	k := authtest.NewKeys(t)
	s := jwtServer(t, k, func(c *app.Config) { c.AnonymousSubscribe = false })
	ans := s.do(t, http.MethodGet, "/events?topic=a", "", "")
	if ans.status != 401 || ans.header.Get("WWW-Authenticate") == "" {
		t.Fatalf("anonymous subscribe: %d %v %s, want 401 with WWW-Authenticate", ans.status, ans.header, ans.body)
	}
	if m := apptest.ErrorBody(t, ans.header.Get("Content-Type"), ans.body); m["field"] != "Authorization" {
		t.Errorf("field = %v", m["field"])
	}
	tok := k.HS256(t, authtest.Claims(nil, nil, time.Now().Add(time.Hour)))
	s.OpenStream(t, "/events?topic=a", apptest.Header("Authorization", bearer(tok)))
}

// TestAlgorithms runs a hub with each algorithm and key form, and checks
// that its own tokens pass and those of the other algorithms, "none" and
// the HS256-with-the-public-key confusion do not.
func TestAlgorithms(t *testing.T) {
	t.Parallel()
	k := authtest.NewKeys(t)
	claims := authtest.Claims([]string{"*"}, nil, time.Now().Add(time.Hour))
	hs, rs, es := k.HS256(t, claims), k.RS256(t, claims), k.ES256(t, claims)
	none := authtest.Sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims)
	rsaPEM, err := os.ReadFile(k.RSAFile)
	if err != nil {
		t.Fatal(err)
	}
	confused := authtest.Sign(t, jwt.SigningMethodHS256, rsaPEM, claims)
	tests := []struct {
		alg, key string
		good     string
		bad      []string
	}{
		{auth.HS256, k.SecretFile, hs, []string{rs, es, none}},
		{auth.HS256, string(k.Secret), hs, []string{rs, es, none}},
		{auth.RS256, k.RSAFile, rs, []string{hs, es, none, confused}},
		{auth.RS256, k.RSACert, rs, []string{hs, es, none, confused}},
		{auth.ES256, k.ECFile, es, []string{hs, rs, none}},
	}
	for _, tt := range tests {
		s := newServer(t, func(c *app.Config) { c.JWTAlg, c.JWTKey = tt.alg, tt.key })
		if ans := s.do(t, http.MethodPost, "/publish", formType, "topic=a", "Authorization", bearer(tt.good)); ans.status != 200 {
			t.Errorf("%s hub (%s): own token refused: %d %s", tt.alg, tt.key, ans.status, ans.body)
		}
		for i, tok := range tt.bad {
			if ans := s.do(t, http.MethodPost, "/publish", formType, "topic=a", "Authorization", bearer(tok)); ans.status != 401 {
				t.Errorf("%s hub: bad token %d answered %d, want 401: %s", tt.alg, i, ans.status, ans.body)
			}
		}
	}
}

// TestSeparateKeys checks distinct publisher and subscriber keys: a
// subscriber's token does not let its holder publish.
func TestSeparateKeys(t *testing.T) {
	t.Parallel()
	k := authtest.NewKeys(t)
	s := newServer(t, func(c *app.Config) {
		c.PublisherJWTKey, c.PublisherJWTAlg = k.ECFile, auth.ES256
		c.SubscriberJWTKey = k.SecretFile
	})
	claims := authtest.Claims([]string{"*"}, []string{"*"}, time.Now().Add(time.Hour))
	if ans := s.do(t, http.MethodPost, "/publish", formType, "topic=a", "Authorization", bearer(k.ES256(t, claims))); ans.status != 200 {
		t.Errorf("publisher token: %d %s", ans.status, ans.body)
	}
	if ans := s.do(t, http.MethodPost, "/publish", formType, "topic=a", "Authorization", bearer(k.HS256(t, claims))); ans.status != 401 {
		t.Errorf("subscriber token used to publish: %d, want 401", ans.status)
	}
	s.OpenStream(t, "/events?topic=a", apptest.Header("Authorization", bearer(k.HS256(t, claims))))
	if ans := s.do(t, http.MethodGet, "/events?topic=a", "", "", "Authorization", bearer(k.ES256(t, claims))); ans.status != 401 {
		t.Errorf("publisher token used to subscribe: %d, want 401", ans.status)
	}
}

// remoteServer starts a hub in open development mode behind a test-only
// middleware that makes every request look as if it came from a
// non-loopback address (no traffic leaves the machine).
func remoteServer(t *testing.T) *server { return remoteServerWith(t, nil) }

// remoteServerWith is remoteServer with the configuration changed by mutate.
func remoteServerWith(t *testing.T, mutate func(*app.Config)) *server {
	t.Helper()
	cfg := app.DefaultConfig()
	cfg.DataDir = ""
	if mutate != nil {
		mutate(&cfg)
	}
	a, err := app.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	remote := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.RemoteAddr = "203.0.113.7:1234"
		a.Handler().ServeHTTP(w, r)
	})
	srv := httptest.NewServer(remote)
	tr := &http.Transport{}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		srv.Close()
	})
	t.Cleanup(func() { _ = a.Close(context.Background()) })
	return &server{&apptest.Server{App: a, Srv: srv, Client: &http.Client{Transport: tr}, URL: srv.URL}}
}

// TestOpenDevMode checks the mode without any key: loopback clients publish
// anonymously, others are refused with advice, tokens are ignored, anyone
// subscribes, and /healthz tells the mode.
func TestOpenDevMode(t *testing.T) {
	t.Parallel()
	local := newServer(t, nil)
	if ans := local.do(t, http.MethodPost, "/publish", formType, "topic=a", "Authorization", "Bearer unused"); ans.status != 200 {
		t.Errorf("loopback publish: %d %s", ans.status, ans.body)
	}
	remote := remoteServer(t)
	for _, path := range []string{"/publish", "/.well-known/mercure", "/gbi/sse/receive", "/llm/generations"} {
		ans := remote.do(t, http.MethodPost, path, formType, "topic=a")
		if ans.status != 403 {
			t.Errorf("remote publish to %s: %d, want 403: %s", path, ans.status, ans.body)
			continue
		}
		m := apptest.ErrorBody(t, ans.header.Get("Content-Type"), ans.body)
		if msg, _ := m["error"].(string); !strings.Contains(msg, "-jwt-key") || !strings.Contains(msg, "loopback") {
			t.Errorf("remote publish refusal %q does not explain -jwt-key", msg)
		}
	}
	remote.OpenStream(t, "/events?topic=a", apptest.Header("Authorization", "Bearer ignored"))

	for _, tt := range []struct {
		s    *server
		want string
	}{{local, httpapi.ModeOpenDev}, {jwtServer(t, authtest.NewKeys(t), nil), httpapi.ModeJWT}} {
		ans := tt.s.do(t, http.MethodGet, "/healthz", "", "")
		var h struct{ Auth string }
		if err := json.Unmarshal([]byte(ans.body), &h); err != nil || h.Auth != tt.want {
			t.Errorf("healthz %s: auth %q, want %q (%v)", ans.body, h.Auth, tt.want, err)
		}
	}
}

// checkChallenge checks the RFC 6750 challenge of a refusal: Bearer with
// the protected resource metadata on 401 and 403 (error="insufficient_scope"
// on 403), error="invalid_request" on a 400 about the token's presentation
// (its field Authorization or authorization), none on other answers.
func checkChallenge(t *testing.T, status int, field, ch string) {
	t.Helper()
	meta := `resource_metadata="http://127.0.0.1:`
	switch status {
	case 401:
		if !strings.HasPrefix(ch, "Bearer ") || !strings.Contains(ch, meta) || !strings.HasSuffix(ch, `/.well-known/oauth-protected-resource/.well-known/mercure"`) {
			t.Errorf("401 with WWW-Authenticate %q, want Bearer with resource_metadata", ch)
		}
	case 403:
		if !strings.Contains(ch, `error="insufficient_scope"`) || !strings.Contains(ch, meta) {
			t.Errorf("403 with WWW-Authenticate %q, want insufficient_scope", ch)
		}
	case 400:
		if strings.EqualFold(field, "Authorization") != strings.Contains(ch, `error="invalid_request"`) {
			t.Errorf("400 with WWW-Authenticate %q, want invalid_request", ch)
		}
	default:
		if ch != "" {
			t.Errorf("%d with WWW-Authenticate %q", status, ch)
		}
	}
}
