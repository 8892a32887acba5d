package auth_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ssehub/ssehub/internal/auth"
	"github.com/ssehub/ssehub/internal/auth/authtest"
	"github.com/ssehub/ssehub/internal/topic"
)

const (
	issuer   = "https://issuer.example"
	audience = "https://hub.example.com/.well-known/mercure"
)

// accessVerifier verifies classic and access tokens signed with k's secret.
func accessVerifier(t *testing.T, k *authtest.Keys) *auth.Verifier {
	t.Helper()
	v, err := auth.NewVerifier(auth.HS256, k.Secret)
	if err != nil {
		t.Fatal(err)
	}
	v.SetAccess(&auth.Access{Issuers: []string{issuer}, Audience: audience})
	return v
}

// raw signs an access token whose payload is the JSON text given, as written.
func raw(t *testing.T, k *authtest.Keys, payload string) string {
	return authtest.SignRaw(t, jwt.SigningMethodHS256, k.Secret, `{"alg":"HS256","typ":"at+jwt"}`, payload)
}

// TestAccessTokenValidation: draft-08 "Token validation" and
// "Authorization details": each rule, a token that keeps it and one that
// breaks it.
func TestAccessTokenValidation(t *testing.T) {
	t.Parallel()
	k := authtest.NewKeys(t)
	v := accessVerifier(t, k)
	exp := time.Now().Add(time.Hour).Unix()
	claims := func(details string) string {
		return `{"iss":"` + issuer + `","aud":"` + audience + `","exp":` + itoa(exp) + `,"sub":"s","authorization_details":` + details + `}`
	}
	const pub = `{"type":"https://mercure.rocks/authorization-detail","actions":["publish"],"topics":[{"match":"a"}]}`
	hs := func(header, payload string) string {
		return authtest.SignRaw(t, jwt.SigningMethodHS256, k.Secret, header, payload)
	}
	tests := []struct {
		name, token string
		err         error // nil: valid
		msg         string
	}{
		{"valid", raw(t, k, claims(`[`+pub+`]`)), nil, ""},
		{"typ application/AT+JWT", hs(`{"alg":"HS256","typ":"application/AT+JWT"}`, claims(`[`+pub+`]`)), nil, ""},
		{"aud array", raw(t, k, `{"iss":"`+issuer+`","aud":["x","`+audience+`"],"exp":`+itoa(exp)+`,"authorization_details":[]}`), nil, ""},
		{"no details grants nothing", raw(t, k, `{"iss":"`+issuer+`","aud":"`+audience+`","exp":`+itoa(exp)+`}`), nil, ""},
		{"iss untrusted", raw(t, k, strings.Replace(claims(`[]`), issuer, "https://evil.example", 1)), auth.ErrIssuer, "trusted issuers"},
		{"iss missing", raw(t, k, `{"aud":"`+audience+`","exp":`+itoa(exp)+`}`), auth.ErrIssuer, "trusted issuers"},
		{"aud other", raw(t, k, strings.Replace(claims(`[]`), audience, "https://other.example/.well-known/mercure", 1)), auth.ErrAudience, "resource identifier"},
		{"aud missing", raw(t, k, `{"iss":"`+issuer+`","exp":`+itoa(exp)+`}`), auth.ErrAudience, "resource identifier"},
		{"exp missing", raw(t, k, `{"iss":"`+issuer+`","aud":"`+audience+`"}`), auth.ErrExpired, "no exp"},
		{"expired", raw(t, k, strings.Replace(claims(`[]`), itoa(exp), itoa(time.Now().Add(-time.Minute).Unix()), 1)), auth.ErrExpired, "expired"},
		{"details not an array", raw(t, k, claims(`{}`)), auth.ErrClaims, "array"},
		{"detail not an object", raw(t, k, claims(`["x"]`)), auth.ErrMalformed, "object"},
		{"detail without type", raw(t, k, claims(`[{"actions":["publish"],"topics":[{"match":"a"}]}]`)), auth.ErrClaims, "no type"},
		{"foreign detail ignored", raw(t, k, claims(`[{"type":"payment","actions":7},`+pub+`]`)), nil, ""},
		{"actions missing", raw(t, k, claims(`[{"type":"`+auth.DetailType+`","topics":[{"match":"a"}]}]`)), auth.ErrClaims, "actions is missing"},
		{"actions empty", raw(t, k, claims(`[{"type":"`+auth.DetailType+`","actions":[],"topics":[{"match":"a"}]}]`)), auth.ErrClaims, "empty"},
		{"action not a string", raw(t, k, claims(`[{"type":"`+auth.DetailType+`","actions":[1],"topics":[{"match":"a"}]}]`)), auth.ErrMalformed, "must be a string"},
		{"unknown action ignored", raw(t, k, claims(`[{"type":"`+auth.DetailType+`","actions":["read","publish"],"topics":[{"match":"a"}]}]`)), nil, ""},
		{"topics missing", raw(t, k, claims(`[{"type":"`+auth.DetailType+`","actions":["publish"]}]`)), auth.ErrClaims, "topics is missing"},
		{"topics empty", raw(t, k, claims(`[{"type":"`+auth.DetailType+`","actions":["publish"],"topics":[]}]`)), auth.ErrClaims, "empty"},
		{"topic a bare string", raw(t, k, claims(`[{"type":"`+auth.DetailType+`","actions":["publish"],"topics":["a"]}]`)), auth.ErrClaims, "topic matcher object"},
		{"match missing", raw(t, k, claims(`[{"type":"`+auth.DetailType+`","actions":["publish"],"topics":[{"match_type":"exact"}]}]`)), auth.ErrClaims, "non-empty string match"},
		{"match empty", raw(t, k, claims(`[{"type":"`+auth.DetailType+`","actions":["publish"],"topics":[{"match":""}]}]`)), auth.ErrClaims, "non-empty string match"},
		{"unknown match_type", raw(t, k, claims(`[{"type":"`+auth.DetailType+`","actions":["publish"],"topics":[{"match":"a","match_type":"regex"}]}]`)), auth.ErrClaims, "not a matcher type"},
		{"match_type case-sensitive", raw(t, k, claims(`[{"type":"`+auth.DetailType+`","actions":["publish"],"topics":[{"match":"a","match_type":"URLPattern"}]}]`)), auth.ErrClaims, "not a matcher type"},
		{"bad URL pattern", raw(t, k, claims(`[{"type":"`+auth.DetailType+`","actions":["publish"],"topics":[{"match":"https://example.com/(","match_type":"urlpattern"}]}]`)), auth.ErrClaims, "URL pattern"},
		{"payload not an object", raw(t, k, claims(`[{"type":"`+auth.DetailType+`","actions":["subscribe"],"topics":[{"match":"a"}],"payload":"x"}]`)), auth.ErrClaims, "payload must be a JSON object"},
		{"one bad detail refuses all", raw(t, k, claims(`[`+pub+`,{"type":"`+auth.DetailType+`","actions":["publish"],"topics":[]}]`)), auth.ErrClaims, "empty"},
		{"duplicate member in a detail", raw(t, k, claims(`[{"type":"`+auth.DetailType+`","actions":["publish"],"topics":[{"match":"a"}],"topics":[{"match":"*"}]}]`)), auth.ErrMalformed, "duplicate"},
		{"mercure details need at+jwt", hs(`{"alg":"HS256"}`, claims(`[`+pub+`]`)), auth.ErrClaims, "typ is not at+jwt"},
		{"match too long", raw(t, k, claims(`[{"type":"`+auth.DetailType+`","actions":["publish"],"topics":[{"match":"`+strings.Repeat("a", auth.MaxMatchLength+1)+`"}]}]`)), auth.ErrClaims, "bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := v.Verify(tt.token)
			switch {
			case tt.err == nil && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.err != nil && (!errors.Is(err, tt.err) || !errors.Is(err, auth.ErrInvalidToken)):
				t.Fatalf("error %v, want %v and ErrInvalidToken", err, tt.err)
			case tt.err != nil && !strings.Contains(err.Error(), tt.msg):
				t.Fatalf("error %q does not say %q", err, tt.msg)
			}
		})
	}
}

// TestAccessTokenLimits: more details or topics than the limits refuse
// the token.
func TestAccessTokenLimits(t *testing.T) {
	t.Parallel()
	k := authtest.NewKeys(t)
	v := accessVerifier(t, k)
	exp := time.Now().Add(time.Hour)
	manyTopics := make([]map[string]any, auth.MaxDetailTopics+1)
	for i := range manyTopics {
		manyTopics[i] = authtest.Exact("t")
	}
	manyDetails := make([]map[string]any, auth.MaxDetails+1)
	for i := range manyDetails {
		manyDetails[i] = authtest.Detail([]string{"publish"}, authtest.Exact("t"))
	}
	for name, c := range map[string]jwt.MapClaims{
		"topics":  authtest.Access(issuer, audience, exp, authtest.Detail([]string{"publish"}, manyTopics...)),
		"details": authtest.Access(issuer, audience, exp, manyDetails...),
	} {
		tok := authtest.SignAccess(t, jwt.SigningMethodHS256, k.Secret, "", c)
		if _, err := v.Verify(tok); !errors.Is(err, auth.ErrClaims) || !strings.Contains(err.Error(), "more than") {
			t.Errorf("too many %s: %v", name, err)
		}
	}
}

// TestAccessNotConfigured: a verifier without issuer and audience refuses
// access tokens, saying what is missing, and keeps taking classic ones.
func TestAccessNotConfigured(t *testing.T) {
	t.Parallel()
	k := authtest.NewKeys(t)
	exp := time.Now().Add(time.Hour)
	for name, a := range map[string]*auth.Access{
		"none":        nil,
		"no audience": {Issuers: []string{issuer}},
		"no issuer":   {Audience: audience},
	} {
		v, _ := auth.NewVerifier(auth.HS256, k.Secret)
		v.SetAccess(a)
		tok := authtest.SignAccess(t, jwt.SigningMethodHS256, k.Secret, "", authtest.Access(issuer, audience, exp))
		if _, err := v.Verify(tok); !errors.Is(err, auth.ErrInvalidToken) || !strings.Contains(err.Error(), "-jwt-") {
			t.Errorf("%s: %v, want refused naming the setting", name, err)
		}
		if _, err := v.Verify(k.HS256(t, authtest.Claims([]string{"*"}, nil, exp))); err != nil {
			t.Errorf("%s: classic token refused: %v", name, err)
		}
	}
}

// TestAccessGrants: what the details grant: publish needs every topic,
// typed matchers, "*" in every type, unknown actions grant nothing.
func TestAccessGrants(t *testing.T) {
	t.Parallel()
	k := authtest.NewKeys(t)
	v := accessVerifier(t, k)
	exp := time.Now().Add(time.Hour)
	d := authtest.Detail
	tests := []struct {
		name   string
		detail map[string]any
		topics []string
		pub    bool // may publish to all topics
		sub    bool // may read the first topic
	}{
		{"exact", d([]string{"publish", "subscribe"}, authtest.Exact("https://example.com/books/1")), []string{"https://example.com/books/1"}, true, true},
		{"exact is exact", d([]string{"publish"}, authtest.Exact("https://example.com/books/{id}")), []string{"https://example.com/books/1"}, false, false},
		{"publish needs every topic", d([]string{"publish"}, authtest.Exact("a")), []string{"a", "b"}, false, false},
		{"urlpattern", d([]string{"publish"}, authtest.URLPattern("https://example.com/books/:id")), []string{"https://example.com/books/1", "https://example.com/books/2"}, true, false},
		{"urlpattern misses", d([]string{"subscribe"}, authtest.URLPattern("https://example.com/books/:id")), []string{"https://example.com/authors/1"}, false, false},
		{"relative urlpattern against the audience", d([]string{"subscribe"}, authtest.URLPattern("/books/:id")), []string{"https://hub.example.com/books/1"}, false, true},
		{"* exact", d([]string{"publish"}, authtest.Exact("*")), []string{"x", "y"}, true, false},
		{"* urlpattern", d([]string{"subscribe"}, authtest.URLPattern("*")), []string{"x"}, false, true},
		{"unknown action grants nothing", d([]string{"read"}, authtest.Exact("*")), []string{"x"}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := v.Verify(authtest.SignAccess(t, jwt.SigningMethodHS256, k.Secret, "", authtest.Access(issuer, audience, exp, tt.detail)))
			if err != nil {
				t.Fatal(err)
			}
			if err := c.CanPublish(tt.topics); (err == nil) != tt.pub || err != nil && !errors.Is(err, auth.ErrForbidden) {
				t.Errorf("CanPublish(%q) = %v, want ok=%v", tt.topics, err, tt.pub)
			}
			if err := c.CanSubscribe(tt.topics[0]); (err == nil) != tt.sub {
				t.Errorf("CanSubscribe(%q) = %v, want ok=%v", tt.topics[0], err, tt.sub)
			}
		})
	}
}

// TestPayloadFor: the payload of the first subscribe detail whose topics
// match the subscription's own matcher string (draft-08 "Payloads"); a
// classic token's mercure.payload whatever the subscription.
func TestPayloadFor(t *testing.T) {
	t.Parallel()
	k := authtest.NewKeys(t)
	v := accessVerifier(t, k)
	exp := time.Now().Add(time.Hour)
	withPayload := func(m map[string]any, p string) map[string]any {
		m["payload"] = json.RawMessage(p)
		return m
	}
	d := authtest.Detail
	c, err := v.Verify(authtest.SignAccess(t, jwt.SigningMethodHS256, k.Secret, "", authtest.Access(issuer, audience, exp,
		withPayload(d([]string{"publish"}, authtest.Exact("*")), `{"p":0}`),
		withPayload(d([]string{"subscribe"}, authtest.Exact("https://example.com/foo")), `{"p":1}`),
		withPayload(d([]string{"subscribe"}, authtest.URLPattern("https://example.com/bar/:id")), `{"p":2}`),
		withPayload(d([]string{"subscribe"}, authtest.Exact("*")), `{"p":3}`),
	)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		spec topic.Spec
		want string
	}{
		{topic.Spec{Match: "https://example.com/foo", Type: topic.Exact}, `{"p":1}`},
		{topic.Spec{Match: "https://example.com/bar/1"}, `{"p":2}`},
		{topic.Spec{Match: "https://example.com/bar/:id", Type: topic.URLPattern}, `{"p":2}`},
		{topic.Spec{Match: "https://example.com/other"}, `{"p":3}`},
	} {
		if got := string(c.PayloadFor(tt.spec)); got != tt.want {
			t.Errorf("PayloadFor(%+v) = %s, want %s", tt.spec, got, tt.want)
		}
	}
	classic, err := v.Verify(k.HS256(t, jwt.MapClaims{"mercure": map[string]any{"payload": map[string]any{"u": 1}}}))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(classic.PayloadFor(topic.Spec{Match: "x"})); got != `{"u":1}` {
		t.Errorf("classic PayloadFor = %s", got)
	}
}
