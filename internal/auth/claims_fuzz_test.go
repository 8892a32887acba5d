package auth_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ssehub/ssehub/internal/auth"
	"github.com/ssehub/ssehub/internal/auth/authtest"
)

// fuzzSecret is the HS256 secret of FuzzClaims.
var fuzzSecret = []byte("fuzz-secret-of-thirty-two-bytes!")

// FuzzClaims signs any header and payload text and verifies the token, so
// that the strict reading of both runs on every input. It checks that
// nothing panics, that refusals are ErrInvalidToken, and that what is
// accepted is what encoding/json reads in the payload (once names are
// unique the two must agree) and round-trips: the claims written back as
// a payload, signed and verified, are the same claims.
func FuzzClaims(f *testing.F) {
	v, err := auth.NewVerifier(auth.HS256, fuzzSecret)
	if err != nil {
		f.Fatal(err)
	}
	exp := fmt.Sprint(time.Now().Add(24 * time.Hour).Unix())
	for _, seed := range [][2]string{
		{hsHeader, `{"exp":` + exp + `,"mercure":{"publish":["*"],"subscribe":["books/{id}"],"payload":{"user":7}}}`},
		{hsHeader, `{"iss":"i","sub":"s","aud":["a"],"jti":"j","iat":1700000000,"nbf":1.5,"mercure":{"payload":[1,"x",null]}}`},
		{hsHeader, `{"mercure":{"publish":["a"]},"mercure":{"publish":["*"]}}`},
		{hsHeader, `{"mercure":{"publish":["a"],"publish":["*"]}}`},
		{hsHeader, `{"mercure":{"payload":{"a":{"b":1,"b":2}}}}`},
		{hsHeader, `{"exp":"99999999999","nbf":"0","iat":"1"}`},
		{hsHeader, `{"exp":1e20,"nbf":-1e20,"iat":1e400}`},
		{hsHeader, `{"exp":253402300799,"MERCURE":{"publish":["*"]},"mer\u0063ure":null}`},
		{hsHeader, `null`},
		{hsHeader, `{"a":[[[[{}]]]]} `},
		{`{"alg":"HS256","crit":["b64"],"b64":false}`, `{}`},
		{`{"alg":"HS256","crit":[]}`, `{}`},
		{`{"alg":"HS256","crit":["alg","alg"]}`, `{}`},
		{`{"alg":"HS256","alg":"HS256","jwk":{"k":1,"k":2}}`, `{}`},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, header, payload string) {
		c, err := v.Verify(authtest.SignRaw(t, jwt.SigningMethodHS256, fuzzSecret, header, payload))
		if err != nil {
			if !errors.Is(err, auth.ErrInvalidToken) {
				t.Fatalf("error %q is not ErrInvalidToken", err)
			}
			return
		}
		agreesWithEncodingJSON(t, payload, c)
		again, err := v.Verify(authtest.SignRaw(t, jwt.SigningMethodHS256, fuzzSecret, hsHeader, rewrite(t, c)))
		if err != nil {
			t.Fatalf("the accepted claims %+v, written back, are refused: %v", c, err)
		}
		sameClaims(t, again, c)
	})
}

// agreesWithEncodingJSON checks c against encoding/json's reading of
// payload into maps, whose names are exact (into a struct, they are not).
func agreesWithEncodingJSON(t *testing.T, payload string, c *auth.Claims) {
	t.Helper()
	var top, mercure map[string]json.RawMessage
	if err := json.Unmarshal([]byte(payload), &top); err != nil || top == nil {
		t.Fatalf("accepted a payload that is not a JSON object: %v", err)
	}
	var want struct {
		Publish, Subscribe []string
		Payload            json.RawMessage
	}
	if err := json.Unmarshal(top["mercure"], &mercure); top["mercure"] != nil && err != nil {
		t.Fatalf("accepted mercure %s: %v", top["mercure"], err)
	}
	for _, m := range []struct {
		name string
		list *[]string
	}{{"publish", &want.Publish}, {"subscribe", &want.Subscribe}} {
		if err := json.Unmarshal(mercure[m.name], m.list); mercure[m.name] != nil && err != nil {
			t.Fatalf("accepted mercure.%s %s: %v", m.name, mercure[m.name], err)
		}
	}
	want.Payload = mercure["payload"]
	if !slices.Equal(matches(c.Publish), want.Publish) || !slices.Equal(matches(c.Subscribe), want.Subscribe) || !bytes.Equal(c.Payload, want.Payload) {
		t.Fatalf("Verify read %+v, encoding/json %+v", c, want)
	}
	if c.Expiry.IsZero() {
		return
	}
	if y := c.Expiry.UTC().Year(); y < 1970 || y > 9999 {
		t.Fatalf("accepted an expiry in year %d", y)
	}
	var exp float64
	if err := json.Unmarshal(top["exp"], &exp); err != nil || !near(c.Expiry, exp) {
		t.Fatalf("expiry %v, encoding/json reads exp %s as %v (%v)", c.Expiry, top["exp"], exp, err)
	}
}

// rewrite writes c back as a payload.
func rewrite(t *testing.T, c *auth.Claims) string {
	t.Helper()
	var p struct {
		Exp     json.Number `json:"exp,omitempty"`
		Mercure struct {
			Publish   []string        `json:"publish"`
			Subscribe []string        `json:"subscribe"`
			Payload   json.RawMessage `json:"payload,omitempty"`
		} `json:"mercure"`
	}
	if !c.Expiry.IsZero() {
		p.Exp = json.Number(fmt.Sprintf("%d.%09d", c.Expiry.Unix(), c.Expiry.Nanosecond()))
	}
	p.Mercure.Publish, p.Mercure.Subscribe, p.Mercure.Payload = matches(c.Publish), matches(c.Subscribe), c.Payload
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		t.Fatalf("write back %+v: %v", c, err)
	}
	return b.String()
}

// sameClaims checks that got is want read again: the same lists (nil
// stays nil), the payload compacted, the expiry to the millisecond (a
// float64 of seconds in year 9999 holds no finer fractions).
func sameClaims(t *testing.T, got, want *auth.Claims) {
	t.Helper()
	var compact bytes.Buffer
	if len(want.Payload) > 0 {
		if err := json.Compact(&compact, want.Payload); err != nil {
			t.Fatalf("accepted payload %q is not JSON: %v", want.Payload, err)
		}
	}
	switch {
	case !equal(matches(got.Publish), matches(want.Publish)), !equal(matches(got.Subscribe), matches(want.Subscribe)):
		t.Fatalf("lists changed in the round trip: %q %q, then %q %q", want.Publish, want.Subscribe, got.Publish, got.Subscribe)
	case !bytes.Equal(got.Payload, compact.Bytes()):
		t.Fatalf("payload %q came back as %q", want.Payload, got.Payload)
	case got.Expiry.IsZero() != want.Expiry.IsZero() || got.Expiry.Sub(want.Expiry).Abs() > time.Millisecond:
		t.Fatalf("expiry %v came back as %v", want.Expiry, got.Expiry)
	}
}

// near reports whether t is the NumericDate f, to float64's precision.
func near(t time.Time, f float64) bool {
	secs := float64(t.Unix()) + float64(t.Nanosecond())/1e9
	return math.Abs(secs-f) <= 1e-6+math.Abs(f)*1e-15
}
