package auth_test

import (
	"github.com/ssehub/ssehub/internal/topic"

	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ssehub/ssehub/internal/auth"
	"github.com/ssehub/ssehub/internal/auth/authtest"
)

// verifier loads key as ssehub does (a file path or the value) and builds a Verifier.
func verifier(t *testing.T, alg, key string) *auth.Verifier {
	t.Helper()
	b, err := auth.LoadKey(key)
	if err != nil {
		t.Fatalf("LoadKey(%q): %v", key, err)
	}
	v, err := auth.NewVerifier(alg, b)
	if err != nil {
		t.Fatalf("NewVerifier(%s): %v", alg, err)
	}
	return v
}

// TestVerify checks real tokens of each algorithm against each verifier:
// what is accepted, and each refusal's reason and message.
func TestVerify(t *testing.T) {
	t.Parallel()
	k := authtest.NewKeys(t)
	hs := verifier(t, auth.HS256, k.SecretFile)
	rs := verifier(t, auth.RS256, k.RSAFile)
	rsCert := verifier(t, auth.RS256, k.RSACert)
	es := verifier(t, auth.ES256, k.ECFile)
	hsInline := verifier(t, auth.HS256, string(k.Secret))

	hour := time.Now().Add(time.Hour)
	good := authtest.Claims([]string{"a", "books/{id}"}, []string{"*"}, hour)
	rsaPEM, _ := os.ReadFile(k.RSAFile)
	other := authtest.NewKeys(t)
	encode := base64.RawURLEncoding.EncodeToString

	tests := []struct {
		name   string
		v      *auth.Verifier
		token  string
		reason error  // nil: accepted
		msg    string // part of the error message
	}{
		{"HS256", hs, k.HS256(t, good), nil, ""},
		{"HS256 inline secret", hsInline, k.HS256(t, good), nil, ""},
		{"RS256", rs, k.RS256(t, good), nil, ""},
		{"RS256 certificate", rsCert, k.RS256(t, good), nil, ""},
		{"ES256", es, k.ES256(t, good), nil, ""},
		{"no exp", hs, k.HS256(t, authtest.Claims([]string{"a"}, nil, time.Time{})), nil, ""},
		{"nbf within leeway", hs, k.HS256(t, jwt.MapClaims{"nbf": time.Now().Add(2 * time.Second).Unix()}), nil, ""},

		{"alg none", hs, authtest.Sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, good), auth.ErrAlgorithm, `signed with "none"`},
		{"alg none on RS256", rs, authtest.Sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, good), auth.ErrAlgorithm, "accepts only RS256"},
		{"alg confusion: HS256 with the RSA public key as secret", rs, authtest.Sign(t, jwt.SigningMethodHS256, rsaPEM, good), auth.ErrAlgorithm, `signed with "HS256", this hub accepts only RS256`},
		{"RS256 token on HS256", hs, k.RS256(t, good), auth.ErrAlgorithm, "accepts only HS256"},
		{"ES256 token on RS256", rs, k.ES256(t, good), auth.ErrAlgorithm, "accepts only RS256"},
		{"HS512", hs, authtest.Sign(t, jwt.SigningMethodHS512, k.Secret, good), auth.ErrAlgorithm, `"HS512"`},
		{"unknown alg", hs, encode([]byte(`{"alg":"XX1","typ":"JWT"}`)) + "." + encode([]byte(`{}`)) + ".c2ln", auth.ErrAlgorithm, "XX1"},
		{"no alg", hs, encode([]byte(`{"typ":"JWT"}`)) + "." + encode([]byte(`{}`)) + ".c2ln", auth.ErrAlgorithm, "accepts only HS256"},
		{"wrong secret", hs, other.HS256(t, good), auth.ErrSignature, "signature does not verify"},
		{"wrong RSA key", rs, other.RS256(t, good), auth.ErrSignature, "signature does not verify"},
		{"wrong EC key", es, other.ES256(t, good), auth.ErrSignature, "signature does not verify"},
		{"tampered payload", hs, tamper(k.HS256(t, good)), auth.ErrSignature, "signature"},
		{"expired", hs, k.HS256(t, authtest.Claims([]string{"a"}, nil, time.Now().Add(-time.Minute))), auth.ErrExpired, "expired at"},
		{"not yet valid", es, k.ES256(t, jwt.MapClaims{"nbf": time.Now().Add(time.Hour).Unix()}), auth.ErrNotYetValid, "not valid before"},
		{"empty", hs, "", auth.ErrMalformed, "empty"},
		{"garbage", hs, "not-a-token", auth.ErrMalformed, "segments"},
		{"bad base64", hs, "%%%.%%%.%%%", auth.ErrMalformed, "malformed"},
		{"publish not a list", hs, k.HS256(t, jwt.MapClaims{"mercure": map[string]any{"publish": "*"}}), auth.ErrMalformed, "publish"},
		{"exp not a number", hs, k.HS256(t, jwt.MapClaims{"exp": "tomorrow"}), auth.ErrMalformed, "exp must be a JSON number"},
		{"empty selector", hs, k.HS256(t, authtest.Claims([]string{"a", ""}, nil, hour)), auth.ErrClaims, "mercure.publish[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := tt.v.Verify(tt.token)
			if tt.reason == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Verify accepted the token: %+v", c)
			}
			if !errors.Is(err, auth.ErrInvalidToken) || !errors.Is(err, tt.reason) {
				t.Errorf("error %q is not ErrInvalidToken and %v", err, tt.reason)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not say %q", err, tt.msg)
			}
		})
	}
}

// tamper changes the payload of a signed token, keeping its signature.
func tamper(token string) string {
	parts := strings.Split(token, ".")
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(`{"mercure":{"publish":["*"]}}`))
	return strings.Join(parts, ".")
}

// TestClaims checks the claims a token carries.
func TestClaims(t *testing.T) {
	t.Parallel()
	k := authtest.NewKeys(t)
	v := verifier(t, auth.ES256, k.ECFile)
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	c, err := v.Verify(k.ES256(t, jwt.MapClaims{"exp": exp.Unix(), "mercure": map[string]any{
		"publish": []string{"p"}, "subscribe": []string{"s/{id}"}, "payload": map[string]any{"user": 7},
	}}))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(matches(c.Publish), []string{"p"}) || !slices.Equal(matches(c.Subscribe), []string{"s/{id}"}) {
		t.Errorf("claims = %+v", c)
	}
	if string(c.Payload) != `{"user":7}` {
		t.Errorf("payload = %s", c.Payload)
	}
	if !c.Expiry.Equal(exp) {
		t.Errorf("expiry = %v, want %v", c.Expiry, exp)
	}
	c, err = v.Verify(k.ES256(t, jwt.MapClaims{}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Publish != nil || c.Subscribe != nil || !c.Expiry.IsZero() {
		t.Errorf("a token without claims grants %+v", c)
	}
}

// TestCanPublish checks the publish rule: every topic must match a selector.
func TestCanPublish(t *testing.T) {
	t.Parallel()
	manyClaims := []string{"books/{id}"}
	for i := range 20 {
		manyClaims = append(manyClaims, fmt.Sprint("t/", i))
	}
	tests := []struct {
		publish []string
		topics  []string
		ok      bool
	}{
		{[]string{"a"}, []string{"a"}, true},
		{[]string{"a"}, []string{"b"}, false},
		{[]string{"*"}, []string{"anything", "else"}, true},
		{[]string{"books/{id}"}, []string{"books/1"}, true},
		{[]string{"books/{id}"}, []string{"books/1", "authors/1"}, false},
		{[]string{"books/{id}", "authors/{id}"}, []string{"books/1", "authors/1"}, true},
		{[]string{"books/{id}"}, []string{"books/1/x"}, false},
		{nil, []string{"a"}, false},
		{[]string{}, []string{"a"}, false},
		// Claims past the few a topic.Set compares one by one.
		{manyClaims, []string{"t/19", "books/7", "t/0"}, true},
		{manyClaims, []string{"t/19", "t/20"}, false},
	}
	for _, tt := range tests {
		err := (&auth.Claims{Publish: topic.Specs(tt.publish)}).CanPublish(tt.topics)
		if (err == nil) != tt.ok {
			t.Errorf("publish %q to %q: err %v, want ok=%v", tt.publish, tt.topics, err, tt.ok)
		}
		if err != nil && !errors.Is(err, auth.ErrForbidden) {
			t.Errorf("error %q is not ErrForbidden", err)
		}
	}
}

// TestNewVerifier checks that unusable keys are refused at startup.
func TestNewVerifier(t *testing.T) {
	t.Parallel()
	k := authtest.NewKeys(t)
	rsaPEM, _ := os.ReadFile(k.RSAFile)
	ecPEM, _ := os.ReadFile(k.ECFile)
	tests := []struct {
		name, alg string
		key       []byte
		msg       string
	}{
		{"unknown alg", "HS384", k.Secret, "unsupported algorithm"},
		{"short secret", auth.HS256, []byte("short"), "at least 32"},
		{"PEM as HS256 secret", auth.HS256, rsaPEM, "not a PEM key"},
		{"secret as RS256 key", auth.RS256, k.Secret, "no PEM block"},
		{"EC key for RS256", auth.RS256, ecPEM, "RSA public key"},
		{"RSA key for ES256", auth.ES256, rsaPEM, "ECDSA public key"},
		{"private key", auth.RS256, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), "never needs the private key"},
		{"bad PEM body", auth.ES256, []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"), "parse the ES256 public key"},
	}
	for _, tt := range tests {
		_, err := auth.NewVerifier(tt.alg, tt.key)
		if err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: err %v, want one saying %q", tt.name, err, tt.msg)
		}
	}
	if _, err := auth.LoadKey(t.TempDir()); err == nil {
		t.Error("LoadKey of a directory succeeded")
	}
}

// FuzzVerify checks that no token string makes Verify panic, and that
// every refusal is ErrInvalidToken.
func FuzzVerify(f *testing.F) {
	k := authtest.NewKeys(f)
	v, err := auth.NewVerifier(auth.HS256, k.Secret)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(k.HS256(f, authtest.Claims([]string{"*"}, []string{"a"}, time.Now().Add(time.Hour))))
	f.Add(authtest.Sign(f, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, jwt.MapClaims{}))
	f.Add(k.RS256(f, jwt.MapClaims{}))
	f.Add("")
	f.Add("..")
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJIUzI1NiJ9.eyJtZXJjdXJlIjpudWxsfQ.")
	f.Add("eyJhbGciOiJIUzI1NiJ9.e30.e30.e30")
	f.Fuzz(func(t *testing.T, token string) {
		c, err := v.Verify(token)
		switch {
		case err != nil && !errors.Is(err, auth.ErrInvalidToken):
			t.Errorf("error %q is not ErrInvalidToken", err)
		case err == nil && c == nil:
			t.Error("nil claims without an error")
		}
	})
}

// TestAcceptPreviousKey: a verifier that also accepts a previous key
// verifies tokens signed with either, still refuses any other key and
// algorithm, and refuses a previous key of another algorithm.
func TestAcceptPreviousKey(t *testing.T) {
	t.Parallel()
	current, previous, stranger := authtest.NewKeys(t), authtest.NewKeys(t), authtest.NewKeys(t)
	claims := authtest.Claims([]string{"*"}, nil, time.Now().Add(time.Hour))
	for _, alg := range []struct {
		name          string
		cur, prev     string
		sign          func(*authtest.Keys) string
		wrongAlgToken string
	}{
		{auth.HS256, current.SecretFile, previous.SecretFile, func(k *authtest.Keys) string { return k.HS256(t, claims) }, current.ES256(t, claims)},
		{auth.ES256, current.ECFile, previous.ECFile, func(k *authtest.Keys) string { return k.ES256(t, claims) }, current.HS256(t, claims)},
	} {
		v := verifier(t, alg.name, alg.cur)
		prev, err := auth.LoadKey(alg.prev)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(alg.sign(previous)); !errors.Is(err, auth.ErrSignature) {
			t.Fatalf("%s: the previous key before Accept: %v, want a bad signature", alg.name, err)
		}
		if err := v.Accept(prev); err != nil {
			t.Fatalf("%s: Accept: %v", alg.name, err)
		}
		for who, k := range map[string]*authtest.Keys{"current": current, "previous": previous} {
			if _, err := v.Verify(alg.sign(k)); err != nil {
				t.Errorf("%s: token of the %s key: %v", alg.name, who, err)
			}
		}
		if _, err := v.Verify(alg.sign(stranger)); !errors.Is(err, auth.ErrSignature) {
			t.Errorf("%s: token of another key: %v, want a bad signature", alg.name, err)
		}
		if _, err := v.Verify(alg.wrongAlgToken); !errors.Is(err, auth.ErrAlgorithm) {
			t.Errorf("%s: token of another algorithm: %v, want refused", alg.name, err)
		}
	}
	es := verifier(t, auth.ES256, current.ECFile)
	if err := es.Accept(current.Secret); err == nil {
		t.Error("an ES256 verifier accepted an HMAC secret as its previous key")
	}
}
