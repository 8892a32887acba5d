package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ssehub/ssehub/internal/auth"
)

const tokenUsage = `Usage: ssehub token -key SECRET [-publish SEL]... [-subscribe SEL]... [flags]

Mints an HS256 JWT for a hub started with the same -jwt-key, and prints it:
a classic token (a mercure claim), or with -issuer and -audience a Mercure
1.0 access token (typ at+jwt, authorization_details) for a hub started with
the same -jwt-issuer and -jwt-audience. For development and scripts: in
production, tokens come from the application that authenticates users.

  ssehub token -key "$SECRET" -publish '*'
  ssehub token -key secret.txt -subscribe 'https://example.com/users/42/{+rest}' -ttl 24h
  ssehub token -key "$SECRET" -subscribe 'chat' -payload '{"user":"alice"}'
  ssehub token -key "$SECRET" -issuer https://app.example -audience https://hub.example/.well-known/mercure \
      -match-type urlpattern -subscribe 'https://example.com/books/:id'

Flags:
`

// token mints and prints an HS256 token.
func token(_ context.Context, args []string, env Env) error {
	fs := newFlagSet("token", tokenUsage, env)
	var publish, subscribe list
	key := fs.String("key", "", "the HS256 secret, or a file holding it, as the hub's -jwt-key (default $SSEHUB_JWT_KEY)")
	fs.Var(&publish, "publish", "topic `selector` the token may publish to (* for all); repeat for several")
	fs.Var(&subscribe, "subscribe", "topic `selector` whose private updates the token may receive (* for all); repeat for several")
	ttl := fs.Duration("ttl", time.Hour, "lifetime of the token; 0 for a token that never expires")
	subject := fs.String("subject", "", "the token's sub claim, e.g. a user id (optional)")
	payload := fs.String("payload", "", `mercure.payload: JSON attached to the subscriber, which the hub's active subscriptions show, e.g. '{"user":"alice"}' (optional)`)
	var access accessFlags
	access.declare(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *key == "" {
		*key = env.Getenv("SSEHUB_JWT_KEY")
	}
	switch {
	case *key == "":
		return usagef("-key is required (or set SSEHUB_JWT_KEY)")
	case len(publish) == 0 && len(subscribe) == 0:
		return usagef("give -publish or -subscribe topic selectors, e.g. -publish '*'")
	case *ttl < 0:
		return usagef("-ttl must not be negative")
	case *payload != "" && !json.Valid([]byte(*payload)):
		return usagef("-payload is not valid JSON: %s", *payload)
	}
	if err := access.check(*ttl); err != nil {
		return err
	}
	secret, err := auth.LoadKey(*key)
	if err != nil {
		return fmt.Errorf("-key: %w", err)
	}
	v, err := auth.NewVerifier(auth.HS256, secret) // refuses what the hub would refuse
	if err != nil {
		return fmt.Errorf("-key: %w", err)
	}
	var s string
	if access.on() {
		v.SetAccess(&auth.Access{Issuers: []string{access.issuer}, Audience: access.audience})
		s, err = access.sign(secret, publish, subscribe, json.RawMessage(*payload), *subject, *ttl, time.Now())
	} else {
		s, err = sign(secret, claimsOf(publish, subscribe, json.RawMessage(*payload)), *subject, *ttl, time.Now())
	}
	if err != nil {
		return err
	}
	if _, err := v.Verify(s); err != nil {
		return fmt.Errorf("the token minted does not verify: %w", err)
	}
	fmt.Fprintln(env.Stdout, s)
	return nil
}

// claimsOf returns the mercure claim with what is given.
func claimsOf(publish, subscribe []string, payload json.RawMessage) map[string]any {
	mercure := map[string]any{}
	if len(publish) > 0 {
		mercure["publish"] = publish
	}
	if len(subscribe) > 0 {
		mercure["subscribe"] = subscribe
	}
	if len(payload) > 0 {
		mercure["payload"] = payload
	}
	return mercure
}

// sign builds the token: iat, exp when ttl > 0, sub when set, and the
// mercure claim.
func sign(secret []byte, mercure map[string]any, subject string, ttl time.Duration, now time.Time) (string, error) {
	claims := jwt.MapClaims{"mercure": mercure, "iat": now.Unix()}
	if ttl > 0 {
		claims["exp"] = now.Add(ttl).Unix()
	}
	if subject != "" {
		claims["sub"] = subject
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return s, nil
}
