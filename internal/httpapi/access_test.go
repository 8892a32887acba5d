package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/app/apptest"
	"github.com/ssehub/ssehub/internal/auth/authtest"
	"github.com/ssehub/ssehub/internal/httpapi"
)

const (
	issuer   = "https://issuer.example"
	audience = "https://hub.example.com/.well-known/mercure"
)

// accessServer starts a hub taking classic HS256 tokens and access
// tokens of issuer for audience, signed with the same secret.
func accessServer(t *testing.T, k *authtest.Keys, mutate func(*app.Config)) *server {
	t.Helper()
	return jwtServer(t, k, func(c *app.Config) {
		c.Token.Issuers, c.Token.Audience = issuer, audience
		if mutate != nil {
			mutate(c)
		}
	})
}

// access signs an access token of issuer for audience with k's secret.
func access(t *testing.T, k *authtest.Keys, details ...map[string]any) string {
	return accessFor(t, k, issuer, audience, time.Now().Add(time.Hour), details...)
}

func accessFor(t *testing.T, k *authtest.Keys, iss, aud string, exp time.Time, details ...map[string]any) string {
	return authtest.SignAccess(t, jwt.SigningMethodHS256, k.Secret, "", authtest.Access(iss, aud, exp, details...))
}

// errorCode returns the error of a Bearer challenge, "" when none.
func errorCode(ch string) string {
	_, after, ok := strings.Cut(ch, `error="`)
	if !ok {
		return ""
	}
	code, _, _ := strings.Cut(after, `"`)
	return code
}

// TestAccessPublish publishes with access tokens and classic ones to one
// hub: every rule of draft-08 that decides a publish, its status and its
// RFC 6750 challenge.
func TestAccessPublish(t *testing.T) {
	t.Parallel()
	k := authtest.NewKeys(t)
	s := accessServer(t, k, nil)
	hour := time.Now().Add(time.Hour)
	d, pub := authtest.Detail, []string{"publish"}
	books := authtest.URLPattern("https://example.com/books/:id")
	mc := authtest.Access(issuer, audience, hour)
	mc["mercure"] = map[string]any{"publish": []string{"*"}}
	withMercureClaim := authtest.SignAccess(t, jwt.SigningMethodHS256, k.Secret, "", mc)
	tests := []struct {
		name   string
		token  string
		where  string // "header" (default), "query", "cookie", "classic-cookie"
		topics []string
		status int
		code   string // the challenge's error
	}{
		{"exact grant", access(t, k, d(pub, authtest.Exact("https://example.com/a"))), "", []string{"https://example.com/a"}, 200, ""},
		{"urlpattern grant", access(t, k, d(pub, books)), "", []string{"https://example.com/books/1"}, 200, ""},
		{"urlpattern miss", access(t, k, d(pub, books)), "", []string{"https://example.com/authors/1"}, 403, "insufficient_scope"},
		{"relative urlpattern against -jwt-audience", access(t, k, d(pub, authtest.URLPattern("/books/:id"))), "", []string{"https://hub.example.com/books/1"}, 200, ""},
		{"* grants all", access(t, k, d(pub, authtest.Exact("*"))), "", []string{"x", "y"}, 200, ""},
		{"every topic needed", access(t, k, d(pub, authtest.Exact("x"))), "", []string{"x", "y"}, 403, "insufficient_scope"},
		{"subscribe does not publish", access(t, k, d([]string{"subscribe"}, authtest.Exact("*"))), "", []string{"x"}, 403, "insufficient_scope"},
		{"unknown action ignored", access(t, k, d([]string{"admin", "publish"}, authtest.Exact("x"))), "", []string{"x"}, 200, ""},
		{"only unknown actions", access(t, k, d([]string{"admin"}, authtest.Exact("*"))), "", []string{"x"}, 403, "insufficient_scope"},
		{"mercure claim ignored in at+jwt", withMercureClaim, "", []string{"x"}, 403, "insufficient_scope"},
		{"untrusted issuer", accessFor(t, k, "https://evil.example", audience, hour, d(pub, authtest.Exact("*"))), "", []string{"x"}, 401, "invalid_token"},
		{"other audience", accessFor(t, k, issuer, "https://other.example/.well-known/mercure", hour, d(pub, authtest.Exact("*"))), "", []string{"x"}, 401, "invalid_token"},
		{"no exp", accessFor(t, k, issuer, audience, time.Time{}, d(pub, authtest.Exact("*"))), "", []string{"x"}, 401, "invalid_token"},
		{"expired", accessFor(t, k, issuer, audience, time.Now().Add(-time.Minute), d(pub, authtest.Exact("*"))), "", []string{"x"}, 401, "invalid_token"},
		{"unknown match_type", access(t, k, d(pub, map[string]any{"match": "x", "match_type": "regexp"})), "", []string{"x"}, 401, "invalid_token"},
		{"bad detail refuses all", access(t, k, d(pub, authtest.Exact("*")), d(pub)), "", []string{"x"}, 401, "invalid_token"},
		{"classic token", k.HS256(t, authtest.Claims([]string{"x"}, nil, hour)), "", []string{"x"}, 200, ""},
		{"classic token in the query", k.HS256(t, authtest.Claims([]string{"x"}, nil, hour)), "query", []string{"x"}, 200, ""},
		{"access token in the query", access(t, k, d(pub, authtest.Exact("*"))), "query", []string{"x"}, 400, "invalid_request"},
		{"no token", "", "", []string{"x"}, 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			form := url.Values{"topic": tt.topics, "data": {"d"}}
			path, hdr := "/.well-known/mercure", []string{}
			switch {
			case tt.token == "":
			case tt.where == "query":
				path += "?authorization=" + url.QueryEscape(tt.token)
			default:
				hdr = []string{"Authorization", bearer(tt.token)}
			}
			ans := s.do(t, http.MethodPost, path, formType, form.Encode(), hdr...)
			ch := ans.header.Get("WWW-Authenticate")
			if ans.status != tt.status || errorCode(ch) != tt.code {
				t.Fatalf("%d %q, want %d error=%q; body %s", ans.status, ch, tt.status, tt.code, ans.body)
			}
			if tt.status >= 400 {
				apptest.ErrorBody(t, ans.header.Get("Content-Type"), ans.body)
				checkChallenge(t, ans.status, "Authorization", ch)
			}
		})
	}
}

// TestAccessPrivateDelivery: a subscriber with an access token receives
// the private updates one of whose topics (canonical or alternate) its
// subscribe grants match, exact or URL pattern, and no other.
func TestAccessPrivateDelivery(t *testing.T) {
	t.Parallel()
	k := authtest.NewKeys(t)
	s := accessServer(t, k, nil)
	sub := access(t, k, authtest.Detail([]string{"subscribe"},
		authtest.Exact("https://example.com/books/1"),
		authtest.URLPattern("https://example.com/users/42/*")))
	pub := "Bearer " + access(t, k, authtest.Detail([]string{"publish"}, authtest.Exact("*")))
	st := s.OpenStream(t, apptest.Query("/.well-known/mercure", "topic", "*"), apptest.Header("Authorization", "Bearer "+sub))
	s.WaitSubscribers(t, 1)
	for _, u := range []struct {
		data   string
		topics []string
	}{
		{"books/2, not granted", []string{"https://example.com/books/2"}},
		{"books/1, exact grant", []string{"https://example.com/books/1"}},
		{"books/1/x, exact is exact", []string{"https://example.com/books/1/x"}},
		{"books/3 by its alternate", []string{"https://example.com/books/3", "https://example.com/users/42/books/3"}},
		{"users/43, not granted", []string{"https://example.com/users/43/books/3"}},
	} {
		form := url.Values{"topic": u.topics, "data": {u.data}, "private": {"on"}}
		if ans := s.do(t, http.MethodPost, "/.well-known/mercure", formType, form.Encode(), "Authorization", pub); ans.status != 200 {
			t.Fatalf("publish %q: %d %s", u.data, ans.status, ans.body)
		}
	}
	s.do(t, http.MethodPost, "/.well-known/mercure", formType, url.Values{"topic": {"end"}, "data": {"end"}}.Encode(), "Authorization", pub)
	var got []string
	for ev := st.Next(t); ev.Data != "end"; ev = st.Next(t) {
		got = append(got, ev.Data)
	}
	if want := []string{"books/1, exact grant", "books/3 by its alternate"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("received %q, want %q", got, want)
	}
}

// TestPresentation: where a token is looked for. The Authorization header
// wins over the cookies, the Mercure 1.0 cookie (named by -cookie-name)
// and the classic one both work, -query-token=false refuses the query.
func TestPresentation(t *testing.T) {
	t.Parallel()
	k := authtest.NewKeys(t)
	s := accessServer(t, k, nil)
	custom := accessServer(t, k, func(c *app.Config) { c.Token.CookieName, c.Token.QueryToken = "hub_token", false })
	good := access(t, k, authtest.Detail([]string{"publish"}, authtest.Exact("*")))
	classic := k.HS256(t, authtest.Claims([]string{"*"}, nil, time.Now().Add(time.Hour)))
	origin := "Origin"
	tests := []struct {
		name   string
		s      *server
		path   string
		hdr    []string
		status int
	}{
		{"header", s, "", []string{"Authorization", bearer(good)}, 200},
		{"header wins over a bad cookie", s, "", []string{"Authorization", bearer(good), "Cookie", httpapi.DefaultCookieName + "=bad"}, 200},
		{"a bad header is not saved by a good cookie", s, "", []string{"Authorization", bearer("bad"), "Cookie", httpapi.DefaultCookieName + "=" + good}, 401},
		{"1.0 cookie", s, "", []string{"Cookie", httpapi.DefaultCookieName + "=" + good, origin, s.URL}, 200},
		{"classic cookie, classic token", s, "", []string{"Cookie", httpapi.CookieName + "=" + classic, origin, s.URL}, 200},
		{"1.0 cookie publish from another origin", s, "", []string{"Cookie", httpapi.DefaultCookieName + "=" + good, origin, "https://evil.example"}, 403},
		{"1.0 cookie publish without Origin", s, "", []string{"Cookie", httpapi.DefaultCookieName + "=" + good}, 403},
		{"1.0 cookie wins over the classic one", s, "", []string{"Cookie", httpapi.DefaultCookieName + "=" + good + "; " + httpapi.CookieName + "=bad", origin, s.URL}, 200},
		{"-cookie-name", custom, "", []string{"Cookie", "hub_token=" + good, origin, custom.URL}, 200},
		{"-cookie-name replaces the default", custom, "", []string{"Cookie", httpapi.DefaultCookieName + "=" + good, origin, custom.URL}, 401},
		{"classic query", s, "?authorization=" + classic, nil, 200},
		{"-query-token=false", custom, "?authorization=" + classic, nil, 400},
		{"query twice", s, "?authorization=" + classic + "&authorization=" + classic, nil, 400},
		{"header wins over the query", s, "?authorization=bad", []string{"Authorization", bearer(good)}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ans := tt.s.do(t, http.MethodPost, "/.well-known/mercure"+tt.path, formType, "topic=x&data=d", tt.hdr...)
			if ans.status != tt.status {
				t.Fatalf("%d, want %d; body %s", ans.status, tt.status, ans.body)
			}
		})
	}
}

// TestResourceMetadata: the RFC 9728 document at both its paths, with the
// members draft-08 defines.
func TestResourceMetadata(t *testing.T) {
	t.Parallel()
	k := authtest.NewKeys(t)
	s := accessServer(t, k, func(c *app.Config) { c.Subscriptions = true })
	plain := newServer(t, nil)
	for _, tc := range []struct {
		s                      *server
		path, resource, issuer string
		subscriptions          bool
	}{
		{s, "/.well-known/oauth-protected-resource", audience, issuer, true},
		{s, "/.well-known/oauth-protected-resource/.well-known/mercure", audience, issuer, true},
		{plain, "/.well-known/oauth-protected-resource", plain.URL + "/.well-known/mercure", "", false},
	} {
		ans := tc.s.do(t, http.MethodGet, tc.path, "", "")
		var m struct {
			Resource      string   `json:"resource"`
			Servers       []string `json:"authorization_servers"`
			Types         []string `json:"authorization_details_types_supported"`
			Methods       []string `json:"bearer_methods_supported"`
			Cookie        string   `json:"mercure_cookie"`
			Matchers      []string `json:"mercure_matcher_types_supported"`
			Subscriptions bool     `json:"mercure_subscriptions"`
		}
		if ans.status != 200 || json.Unmarshal([]byte(ans.body), &m) != nil {
			t.Fatalf("GET %s: %d %s", tc.path, ans.status, ans.body)
		}
		var servers []string
		if tc.issuer != "" {
			servers = []string{tc.issuer}
		}
		switch {
		case m.Resource != tc.resource, strings.Join(m.Servers, ",") != strings.Join(servers, ","):
			t.Errorf("%s: resource %q servers %q", tc.path, m.Resource, m.Servers)
		case strings.Join(m.Types, ",") != "https://mercure.rocks/authorization-detail", strings.Join(m.Methods, ",") != "header":
			t.Errorf("%s: types %q methods %q", tc.path, m.Types, m.Methods)
		case m.Cookie != httpapi.DefaultCookieName, strings.Join(m.Matchers, ",") != "exact,urlpattern", m.Subscriptions != tc.subscriptions:
			t.Errorf("%s: cookie %q matchers %q subscriptions %v", tc.path, m.Cookie, m.Matchers, m.Subscriptions)
		}
	}
}

// TestAccessSubscriptionsAPI: the subscriptions web API takes access
// tokens (subscribe grant on the path), answers 403 insufficient_scope
// to one without, and shows the payload of the matching detail.
func TestAccessSubscriptionsAPI(t *testing.T) {
	t.Parallel()
	k := authtest.NewKeys(t)
	s := accessServer(t, k, func(c *app.Config) { c.Subscriptions = true })
	reader := access(t, k, authtest.Detail([]string{"subscribe"}, authtest.URLPattern("/.well-known/mercure/subscriptions{/*}?")))
	withPayload := authtest.Detail([]string{"subscribe"}, authtest.Exact("https://example.com/foo"))
	withPayload["payload"] = map[string]any{"tenant": "t1"}
	fallback := authtest.Detail([]string{"subscribe"}, authtest.Exact("*"))
	fallback["payload"] = map[string]any{"tenant": "default"}
	sub := access(t, k, withPayload, fallback)
	s.OpenStream(t, apptest.Query("/.well-known/mercure", "topic", "https://example.com/foo", "topic", "other"), apptest.Header("Authorization", bearer(sub)))
	s.WaitSubscribers(t, 1)

	ans := s.do(t, http.MethodGet, "/.well-known/mercure/subscriptions", "", "", "Authorization", bearer(reader))
	if ans.status != 200 {
		t.Fatalf("list: %d %s", ans.status, ans.body)
	}
	for _, want := range []string{`"topic":"https://example.com/foo"`, `"tenant":"t1"`, `"topic":"other"`, `"tenant":"default"`} {
		if !strings.Contains(ans.body, want) {
			t.Errorf("the list does not hold %s: %s", want, ans.body)
		}
	}
	narrow := access(t, k, withPayload)
	denied := s.do(t, http.MethodGet, "/.well-known/mercure/subscriptions", "", "", "Authorization", bearer(narrow))
	if denied.status != 403 || errorCode(denied.header.Get("WWW-Authenticate")) != "insufficient_scope" {
		t.Errorf("without a grant of the path: %d %q", denied.status, denied.header.Get("WWW-Authenticate"))
	}
}

// TestChallenges: the RFC 6750 answer of each protected endpoint to no
// token, a bad token and a token without the right.
func TestChallenges(t *testing.T) {
	t.Parallel()
	k := authtest.NewKeys(t)
	s := accessServer(t, k, func(c *app.Config) { c.AnonymousSubscribe, c.Subscriptions = false, true })
	bad := "Bearer " + accessFor(t, k, issuer, audience, time.Now().Add(-time.Minute))
	none := "Bearer " + access(t, k)
	const get, post = http.MethodGet, http.MethodPost
	chat := `{"model":"sim","messages":[{"role":"user","content":"hi"}]}`
	for _, ep := range []struct{ name, method, path, ctype, body string }{
		{"subscribe", get, "/.well-known/mercure?topic=x", "", ""},
		{"publish", post, "/.well-known/mercure", formType, "topic=x&data=d"},
		{"subscriptions API", get, "/.well-known/mercure/subscriptions", "", ""},
		{"generations", post, "/llm/generations", "application/json", chat},
		{"chat completions", post, "/v1/chat/completions", "application/json", chat},
	} {
		for _, tc := range []struct {
			auth   string
			status int
			code   string
		}{
			{"", 401, ""},
			{bad, 401, "invalid_token"},
			{none, 403, "insufficient_scope"},
			{"Basic dTpw", 400, "invalid_request"},
		} {
			if ep.name == "subscribe" && tc.status == 403 {
				continue // a valid token without grants subscribes to public updates
			}
			var hdr []string
			if tc.auth != "" {
				hdr = []string{"Authorization", tc.auth}
			}
			ans := s.do(t, ep.method, ep.path, ep.ctype, ep.body, hdr...)
			ch := ans.header.Get("WWW-Authenticate")
			if ans.status != tc.status || errorCode(ch) != tc.code || !strings.HasPrefix(ch, "Bearer ") {
				t.Errorf("%s with %.20q: %d %q, want %d error=%q; %s", ep.name, tc.auth, ans.status, ch, tc.status, tc.code, ans.body)
			}
			if tc.status != 400 && !strings.Contains(ch, `resource_metadata="`+s.URL+`/.well-known/oauth-protected-resource/.well-known/mercure"`) {
				t.Errorf("%s with %.20q: challenge %q without resource_metadata", ep.name, tc.auth, ch)
			}
		}
	}
}
