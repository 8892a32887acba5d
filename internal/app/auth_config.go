package app

import (
	"errors"
	"fmt"

	"github.com/ssehub/ssehub/internal/auth"
)

// verifiers builds the verifiers of publishers' and subscribers' tokens;
// both are nil in open development mode (no key at all).
func (c Config) verifiers() (pub, sub *auth.Verifier, err error) {
	if c.JWTKeyPrevious != "" && c.JWTKey == "" {
		return nil, nil, errors.New("-jwt-key-previous needs -jwt-key: it is the key -jwt-key replaced")
	}
	pub, err = verifier("publisher-jwt-key", c.PublisherJWTKey, c.PublisherJWTAlg, c)
	if err != nil {
		return nil, nil, err
	}
	sub, err = verifier("subscriber-jwt-key", c.SubscriberJWTKey, c.SubscriberJWTAlg, c)
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
// falling back to -jwt-key (with -jwt-key-previous) and -jwt-alg; nil when
// neither key is set.
func verifier(flagName, key, alg string, c Config) (*auth.Verifier, error) {
	previous := ""
	if key == "" {
		key, flagName, previous = c.JWTKey, "jwt-key", c.JWTKeyPrevious
	}
	if alg == "" {
		alg = c.JWTAlg
	}
	if key == "" {
		return nil, nil
	}
	v, err := loadVerifier(alg, key)
	if err != nil {
		return nil, fmt.Errorf("-%s (%s): %w", flagName, alg, err)
	}
	if previous != "" {
		b, err := auth.LoadKey(previous)
		if err == nil && len(b) > 0 { // an empty file: no previous key now
			err = v.Accept(b)
		}
		if err != nil {
			return nil, fmt.Errorf("-jwt-key-previous (%s): %w", alg, err)
		}
	}
	return v, nil
}

// loadVerifier reads a key setting (a file or the key) and builds its
// verifier.
func loadVerifier(alg, key string) (*auth.Verifier, error) {
	b, err := auth.LoadKey(key)
	if err != nil {
		return nil, err
	}
	return auth.NewVerifier(alg, b)
}
