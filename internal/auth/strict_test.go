package auth_test

import (
	"github.com/ssehub/ssehub/internal/topic"

	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ssehub/ssehub/internal/auth"
	"github.com/ssehub/ssehub/internal/auth/authtest"
)

// signers sign raw header and payload text with one key of each algorithm,
// and verify with the matching verifier.
type signers struct {
	k          *authtest.Keys
	hs, rs, es *auth.Verifier
}

func newSigners(t *testing.T) *signers {
	k := authtest.NewKeys(t)
	return &signers{k: k, hs: verifier(t, auth.HS256, k.SecretFile), rs: verifier(t, auth.RS256, k.RSAFile), es: verifier(t, auth.ES256, k.ECFile)}
}

func (s *signers) hs256(t *testing.T, header, payload string) string {
	return authtest.SignRaw(t, jwt.SigningMethodHS256, s.k.Secret, header, payload)
}

func (s *signers) rs256(t *testing.T, header, payload string) string {
	return authtest.SignRaw(t, jwt.SigningMethodRS256, s.k.RSA, header, payload)
}

func (s *signers) es256(t *testing.T, header, payload string) string {
	return authtest.SignRaw(t, jwt.SigningMethodES256, s.k.EC, header, payload)
}

const (
	hsHeader = `{"alg":"HS256","typ":"JWT"}`
	rsHeader = `{"alg":"RS256","typ":"JWT"}`
	esHeader = `{"alg":"ES256","typ":"JWT"}`
)

// TestVerifyStrict checks the refusals of the strict reading of a token
// whose signature verifies: duplicated members, crit, NumericDates that
// are not numbers or out of range, and claims of the wrong type. The
// encoding/json reading of the jwt package accepted or misread each.
func TestVerifyStrict(t *testing.T) {
	t.Parallel()
	s := newSigners(t)
	other := newSigners(t)
	tests := []struct {
		name   string
		v      *auth.Verifier
		token  string
		reason error
		msg    string
	}{
		{"duplicate mercure", s.hs, s.hs256(t, hsHeader, `{"mercure":{"publish":["a"]},"mercure":{"publish":["*"]}}`), auth.ErrMalformed, `duplicate member "mercure" in the payload`},
		{"duplicate mercure, one escaped", s.es, s.es256(t, esHeader, `{"mercure":{"publish":["a"]},"mer\u0063ure":{"publish":["*"]}}`), auth.ErrMalformed, `duplicate member "mercure"`},
		{"duplicate exp", s.hs, s.hs256(t, hsHeader, `{"exp":1,"exp":99999999999}`), auth.ErrMalformed, `duplicate member "exp" in the payload`},
		{"duplicate publish in mercure", s.rs, s.rs256(t, rsHeader, `{"mercure":{"publish":["a"],"publish":["*"]}}`), auth.ErrMalformed, `duplicate member "publish" in mercure`},
		{"duplicate subscribe in mercure", s.es, s.es256(t, esHeader, `{"mercure":{"subscribe":["a"],"publish":[],"subscribe":["*"]}}`), auth.ErrMalformed, `duplicate member "subscribe" in mercure`},
		{"duplicate member in mercure.payload", s.hs, s.hs256(t, hsHeader, `{"mercure":{"payload":{"user":[{"id":1,"id":2}]}}}`), auth.ErrMalformed, `duplicate member "id" in mercure.payload`},
		{"duplicate header alg", s.es, s.es256(t, `{"alg":"ES256","alg":"ES256"}`, `{}`), auth.ErrMalformed, `duplicate member "alg" in the header`},
		{"duplicate member in a header object", s.hs, s.hs256(t, `{"alg":"HS256","jwk":{"kty":"oct","kty":"RSA"}}`, `{}`), auth.ErrMalformed, `duplicate member "kty" in the header's jwk`},

		{"unknown crit", s.hs, s.hs256(t, `{"alg":"HS256","crit":["exp"],"exp":1}`, `{}`), auth.ErrExtension, `crit lists ["exp"]: extensions this hub does not understand`},
		{"crit b64 (RFC 7797)", s.rs, s.rs256(t, `{"alg":"RS256","b64":false,"crit":["b64"]}`, `{}`), auth.ErrExtension, "does not understand"},
		{"crit empty", s.hs, s.hs256(t, `{"alg":"HS256","crit":[]}`, `{}`), auth.ErrMalformed, "crit is an empty list"},
		{"crit not an array", s.es, s.es256(t, `{"alg":"ES256","crit":"foo","foo":1}`, `{}`), auth.ErrMalformed, "crit must be an array of strings, not a string"},
		{"crit null", s.hs, s.hs256(t, `{"alg":"HS256","crit":null}`, `{}`), auth.ErrMalformed, "crit must be an array of strings, not null"},
		{"crit of numbers", s.hs, s.hs256(t, `{"alg":"HS256","crit":[1]}`, `{}`), auth.ErrMalformed, "crit[0] must be a string, not a number"},
		{"crit lists alg", s.hs, s.hs256(t, `{"alg":"HS256","crit":["alg"]}`, `{}`), auth.ErrMalformed, `crit lists "alg", a header parameter RFC 7515 defines`},
		{"crit lists a name twice", s.hs, s.hs256(t, `{"alg":"HS256","crit":["x","x"],"x":1}`, `{}`), auth.ErrMalformed, `crit lists "x" twice`},

		{"exp a string", s.hs, s.hs256(t, hsHeader, `{"exp":"99999999999"}`), auth.ErrMalformed, "exp must be a JSON number"},
		{"nbf a string", s.rs, s.rs256(t, rsHeader, `{"nbf":"0"}`), auth.ErrMalformed, "nbf must be a JSON number"},
		{"iat a string", s.es, s.es256(t, esHeader, `{"iat":"1700000000"}`), auth.ErrMalformed, "iat must be a JSON number"},
		{"exp an object", s.hs, s.hs256(t, hsHeader, `{"exp":{}}`), auth.ErrMalformed, "exp must be a JSON number of seconds since 1970 (a NumericDate), not an object"},
		{"exp 1e20", s.hs, s.hs256(t, hsHeader, `{"exp":1e20}`), auth.ErrMalformed, "exp out of range"},
		{"exp -1e20", s.hs, s.hs256(t, hsHeader, `{"exp":-1e20}`), auth.ErrMalformed, "exp out of range"},
		{"exp 1e400", s.hs, s.hs256(t, hsHeader, `{"exp":1e400}`), auth.ErrMalformed, "exp out of range"},
		{"exp in year 10000", s.hs, s.hs256(t, hsHeader, `{"exp":253402300800}`), auth.ErrMalformed, "exp out of range"},
		{"exp before 1970", s.hs, s.hs256(t, hsHeader, `{"exp":-1}`), auth.ErrMalformed, "exp out of range"},
		{"nbf 1e20", s.es, s.es256(t, esHeader, `{"nbf":1e20}`), auth.ErrMalformed, "nbf out of range"},
		{"iat 1e20", s.hs, s.hs256(t, hsHeader, `{"iat":1e20}`), auth.ErrMalformed, "iat out of range"},

		{"payload null", s.hs, s.hs256(t, hsHeader, `null`), auth.ErrMalformed, "the payload must be a JSON object, not null"},
		{"payload an array", s.hs, s.hs256(t, hsHeader, `[]`), auth.ErrMalformed, "the payload must be a JSON object, not an array"},
		{"iss a number", s.hs, s.hs256(t, hsHeader, `{"iss":5}`), auth.ErrMalformed, "iss must be a string, not a number"},
		{"aud of numbers", s.hs, s.hs256(t, hsHeader, `{"aud":["a",1]}`), auth.ErrMalformed, "aud[1] must be a string"},
		{"mercure a list", s.hs, s.hs256(t, hsHeader, `{"mercure":["*"]}`), auth.ErrMalformed, "mercure must be a JSON object, not an array"},
		{"subscribe of numbers", s.hs, s.hs256(t, hsHeader, `{"mercure":{"subscribe":[1]}}`), auth.ErrMalformed, "mercure.subscribe[0] must be a string"},

		// Without the key, the strict reading says nothing: the signature is refused first.
		{"bad claim type, wrong key", s.hs, other.hs256(t, hsHeader, `{"mercure":{"publish":"*"}}`), auth.ErrSignature, "signature does not verify"},
		{"duplicate mercure, wrong key", s.es, other.es256(t, esHeader, `{"mercure":{},"mercure":{}}`), auth.ErrSignature, "signature does not verify"},
		{"unknown crit, wrong key", s.rs, other.rs256(t, `{"alg":"RS256","crit":["x"],"x":1}`, `{}`), auth.ErrSignature, "signature does not verify"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := tt.v.Verify(tt.token)
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

// TestVerifyStrictAccepts checks that the strict reading still accepts
// well-formed tokens of each algorithm, and reads what they grant: the
// classic mercure claims, other claims of the right types, null for an
// absent claim, a far-future exp that RFC 3339 can still write. Names are
// exact: a member spelled in another case is another, unknown, member.
func TestVerifyStrictAccepts(t *testing.T) {
	t.Parallel()
	s := newSigners(t)
	future := time.Now().Add(time.Hour).Unix()
	full := `{"iss":"https://issuer.example","sub":"u1","aud":["hub","other"],"jti":"j","iat":1700000000,"nbf":1700000000.5,` +
		`"exp":` + itoa(future) + `,"extra":{"n":[1,{"a":null}]},"mercure":{"publish":["books/{id}"],"subscribe":["*"],"payload":{"user": 7, "tags":["a"]},"other":true}}`
	tests := []struct {
		name               string
		v                  *auth.Verifier
		token              string
		publish, subscribe []string
		payload            string
		expiry             time.Time
	}{
		{"HS256 classic claims", s.hs, s.hs256(t, hsHeader, full), []string{"books/{id}"}, []string{"*"}, `{"user": 7, "tags":["a"]}`, time.Unix(future, 0)},
		{"RS256 classic claims", s.rs, s.rs256(t, rsHeader, full), []string{"books/{id}"}, []string{"*"}, `{"user": 7, "tags":["a"]}`, time.Unix(future, 0)},
		{"ES256 classic claims", s.es, s.es256(t, esHeader, full), []string{"books/{id}"}, []string{"*"}, `{"user": 7, "tags":["a"]}`, time.Unix(future, 0)},
		{"ES256 with kid and cty", s.es, s.es256(t, `{"alg":"ES256","typ":"JWT","kid":"k1","cty":"x"}`, `{"mercure":{"publish":["a"]}}`), []string{"a"}, nil, "", time.Time{}},
		{"empty payload", s.hs, s.hs256(t, hsHeader, `{}`), nil, nil, "", time.Time{}},
		{"nulls are absent claims", s.hs, s.hs256(t, hsHeader, `{"exp":null,"nbf":null,"iss":null,"aud":null,"mercure":{"publish":null,"payload":null}}`), nil, nil, "null", time.Time{}},
		{"aud a string", s.hs, s.hs256(t, hsHeader, `{"aud":"hub","mercure":{"subscribe":["a"]}}`), nil, []string{"a"}, "", time.Time{}},
		{"exp in year 9999", s.rs, s.rs256(t, rsHeader, `{"exp":253402300799,"mercure":{"publish":["*"]}}`), []string{"*"}, nil, "", time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)},
		{"exp with a fraction", s.hs, s.hs256(t, hsHeader, `{"exp":99999999999.5}`), nil, nil, "", time.Unix(99999999999, 5e8)},
		{"exp with an exponent", s.hs, s.hs256(t, hsHeader, `{"exp":1e10}`), nil, nil, "", time.Unix(1e10, 0)},
		{"same name in two objects", s.hs, s.hs256(t, hsHeader, `{"a":{"id":1},"b":{"id":1},"mercure":{"payload":[{"id":1},{"id":2}]}}`), nil, nil, `[{"id":1},{"id":2}]`, time.Time{}},
		{"MERCURE is not mercure", s.hs, s.hs256(t, hsHeader, `{"mercure":{"publish":["a"]},"MERCURE":{"publish":["*"]}}`), []string{"a"}, nil, "", time.Time{}},
		{"Publish is not publish", s.es, s.es256(t, esHeader, `{"mercure":{"Publish":["*"],"SUBSCRIBE":["*"]}}`), nil, nil, "", time.Time{}},
		{"escaped name", s.hs, s.hs256(t, hsHeader, `{"mer\u0063ure":{"publish":["a"]}}`), []string{"a"}, nil, "", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := tt.v.Verify(tt.token)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !equal(matches(c.Publish), tt.publish) || !equal(matches(c.Subscribe), tt.subscribe) || string(c.Payload) != tt.payload {
				t.Errorf("claims publish %q subscribe %q payload %s, want %q %q %s", c.Publish, c.Subscribe, c.Payload, tt.publish, tt.subscribe, tt.payload)
			}
			if !c.Expiry.Equal(tt.expiry) {
				t.Errorf("expiry %v, want %v", c.Expiry, tt.expiry)
			}
		})
	}
}

// equal compares lists, telling nil (no claim) from empty.
func equal(a, b []string) bool {
	return (a == nil) == (b == nil) && slices.Equal(a, b)
}

// matches returns the match strings of classic specs; nil stays nil.
func matches(specs []topic.Spec) []string {
	if specs == nil {
		return nil
	}
	out := []string{}
	for _, s := range specs {
		if s.Type != topic.Classic {
			return append(out, "typed:"+string(s.Type))
		}
		out = append(out, s.Match)
	}
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// BenchmarkVerify measures a verification of a typical token, where the
// strict reading of header and payload weighs most: HS256.
func BenchmarkVerify(b *testing.B) {
	k := authtest.NewKeys(b)
	v, err := auth.NewVerifier(auth.HS256, k.Secret)
	if err != nil {
		b.Fatal(err)
	}
	token := k.HS256(b, jwt.MapClaims{"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix(), "mercure": map[string]any{
		"publish": []string{"books/{id}"}, "subscribe": []string{"books/{id}", "users/7"}, "payload": map[string]any{"user": 7, "name": "x"},
	}})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(token); err != nil {
			b.Fatal(err)
		}
	}
}
