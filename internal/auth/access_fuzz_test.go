package auth_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ssehub/ssehub/internal/auth"
	"github.com/ssehub/ssehub/internal/auth/authtest"
	"github.com/ssehub/ssehub/internal/topic"
)

// FuzzAccessClaims verifies access tokens (typ at+jwt) of any payload. It
// checks that nothing panics, that refusals are ErrInvalidToken, and that
// an accepted token's grants are what encoding/json reads: one Detail per
// Mercure detail of the claim spelt exactly authorization_details, with non-empty actions and topics, every matcher
// non-empty and of a known type.
func FuzzAccessClaims(f *testing.F) {
	v, err := auth.NewVerifier(auth.HS256, fuzzSecret)
	if err != nil {
		f.Fatal(err)
	}
	v.SetAccess(&auth.Access{Issuers: []string{issuer}, Audience: audience})
	head := `{"iss":"` + issuer + `","aud":"` + audience + `","exp":` + fmt.Sprint(time.Now().Add(24*time.Hour).Unix())
	for _, details := range []string{
		`[{"type":"` + auth.DetailType + `","actions":["publish","subscribe"],"topics":[{"match":"*"}],"payload":{"a":1}}]`,
		`[{"type":"` + auth.DetailType + `","actions":["x"],"topics":[{"match":"/b/:id","match_type":"urlpattern"}]}]`,
		`[{"type":"other","actions":1},{"type":"` + auth.DetailType + `","actions":["publish"],"topics":[{"match":"a","match_type":null}]}]`,
		`[{"type":"` + auth.DetailType + `","actions":[],"topics":[{}]}]`,
		`[{"type":"` + auth.DetailType + `","type":"x"}]`,
		`null`, `[]`, `{}`,
	} {
		f.Add(head + `,"authorization_details":` + details + `}`)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		c, err := v.Verify(authtest.SignRaw(t, jwt.SigningMethodHS256, fuzzSecret, `{"alg":"HS256","typ":"at+jwt"}`, payload))
		if err != nil {
			if !errors.Is(err, auth.ErrInvalidToken) {
				t.Fatalf("error %q is not ErrInvalidToken", err)
			}
			return
		}
		// Claim names are case-sensitive (RFC 7519): the claim is the
		// member spelt exactly so, which a struct tag would not insist on.
		var members map[string]json.RawMessage
		if err := json.Unmarshal([]byte(payload), &members); err != nil {
			t.Fatalf("accepted a payload encoding/json refuses: %v", err)
		}
		var details []map[string]json.RawMessage
		if raw, ok := members["authorization_details"]; ok && string(raw) != "null" {
			if err := json.Unmarshal(raw, &details); err != nil {
				t.Fatalf("accepted authorization_details that are no list of objects: %v", err)
			}
		}
		mercure := 0
		for _, d := range details {
			var typ string
			if json.Unmarshal(d["type"], &typ) == nil && typ == auth.DetailType {
				mercure++
			}
		}
		if len(c.Details) != mercure {
			t.Fatalf("%d Mercure details read, encoding/json finds %d", len(c.Details), mercure)
		}
		for _, d := range c.Details {
			if len(d.Topics) == 0 {
				t.Fatalf("a detail without topics accepted: %s", payload)
			}
			for _, s := range d.Topics {
				if s.Match == "" || s.Type != topic.Exact && s.Type != topic.URLPattern {
					t.Fatalf("matcher %+v accepted", s)
				}
			}
		}
	})
}
