package app

import (
	"errors"
	"fmt"

	"github.com/ssehub/ssehub/internal/auth"
)

// verifiers builds the verifiers of publishers' and subscribers' tokens;
// both are nil in open development mode (no key at all).
func (c Config) verifiers() (pub, sub *auth.Verifier, err error) {
	pub, err = verifier("publisher-jwt-key", c.PublisherJWTKey, c.PublisherJWTAlg, c.JWTKey, c.JWTAlg)
	if err != nil {
		return nil, nil, err
	}
	sub, err = verifier("subscriber-jwt-key", c.SubscriberJWTKey, c.SubscriberJWTAlg, c.JWTKey, c.JWTAlg)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case pub == nil && sub != nil:
		return nil, nil, errors.New("-subscriber-jwt-key alone would let nobody publish: set -jwt-key or -publisher-jwt-key too")
	case sub == nil && !c.AnonymousSubscribe:
		return nil, nil, errors.New("-anonymous-subscribe=false needs -jwt-key or -subscriber-jwt-key to verify subscribers' tokens")
	}
	return pub, sub, nil
}

// verifier builds one role's verifier from its own key and algorithm,
// falling back to -jwt-key and -jwt-alg; nil when neither key is set.
func verifier(flagName, key, alg, defKey, defAlg string) (*auth.Verifier, error) {
	if key == "" {
		key, flagName = defKey, "jwt-key"
	}
	if alg == "" {
		alg = defAlg
	}
	if key == "" {
		return nil, nil
	}
	b, err := auth.LoadKey(key)
	if err == nil {
		var v *auth.Verifier
		if v, err = auth.NewVerifier(alg, b); err == nil {
			return v, nil
		}
	}
	return nil, fmt.Errorf("-%s (%s): %w", flagName, alg, err)
}
