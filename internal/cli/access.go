package cli

import (
	"encoding/json"
	"flag"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ssehub/ssehub/internal/auth"
)

// accessFlags are the token command's settings of a Mercure 1.0 access
// token (RFC 9068).
type accessFlags struct {
	issuer, audience, matchType string
}

func (a *accessFlags) declare(fs *flag.FlagSet) {
	fs.StringVar(&a.issuer, "issuer", "", "mint a Mercure 1.0 access token with this iss: one of the hub's -jwt-issuer (with -audience)")
	fs.StringVar(&a.audience, "audience", "", "the access token's aud: the hub's -jwt-audience (with -issuer)")
	fs.StringVar(&a.matchType, "match-type", "exact", "with -issuer: the matcher type of every -publish and -subscribe selector, exact or urlpattern")
}

// on reports whether an access token is asked for.
func (a *accessFlags) on() bool { return a.issuer != "" || a.audience != "" }

// check refuses an incomplete access token: access tokens need iss, aud
// and exp.
func (a *accessFlags) check(ttl time.Duration) error {
	switch {
	case !a.on():
		return nil
	case a.issuer == "" || a.audience == "":
		return usagef("an access token needs both -issuer and -audience")
	case ttl == 0:
		return usagef("an access token must expire: give a -ttl above 0")
	case a.matchType != "exact" && a.matchType != "urlpattern":
		return usagef("-match-type is exact or urlpattern, not %q", a.matchType)
	}
	return nil
}

// sign builds and signs the access token: iss, aud, exp, iat, sub when
// set, and an authorization detail per action given, the payload in the
// subscribe one.
func (a *accessFlags) sign(secret []byte, publish, subscribe []string, payload json.RawMessage, subject string, ttl time.Duration, now time.Time) (string, error) {
	var details []map[string]any
	if len(publish) > 0 {
		details = append(details, a.detail("publish", publish, nil))
	}
	if len(subscribe) > 0 {
		details = append(details, a.detail("subscribe", subscribe, payload))
	}
	claims := jwt.MapClaims{"iss": a.issuer, "aud": a.audience, "client_id": a.issuer,
		"iat": now.Unix(), "exp": now.Add(ttl).Unix(), "authorization_details": details}
	if subject != "" {
		claims["sub"] = subject
	}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	t.Header["typ"] = "at+jwt"
	s, err := t.SignedString(secret)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return s, nil
}

// detail is a Mercure authorization detail granting action on selectors.
func (a *accessFlags) detail(action string, selectors []string, payload json.RawMessage) map[string]any {
	topics := make([]map[string]string, len(selectors))
	for i, s := range selectors {
		topics[i] = map[string]string{"match": s, "match_type": a.matchType}
	}
	d := map[string]any{"type": auth.DetailType, "actions": []string{action}, "topics": topics}
	if len(payload) > 0 {
		d["payload"] = payload
	}
	return d
}
