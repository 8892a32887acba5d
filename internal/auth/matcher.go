package auth

import (
	"encoding/json"

	"github.com/ssehub/ssehub/internal/topic"
)

// matcher reads a topic matcher object (draft-08 "Topic Matcher List"):
// match, a non-empty string, and match_type, exact when absent; a type
// the hub does not know, or a match its type cannot read, refuses the
// token.
func (r *reader) matcher(path string) (topic.Spec, error) {
	var (
		s        topic.Spec
		hasMatch bool
		typ      = string(topic.Exact)
	)
	tok, err := r.token(path)
	if err != nil {
		return s, err
	}
	if tok != json.Delim('{') {
		return s, invalid(ErrClaims, "%s must be a topic matcher object such as {\"match\": \"https://example.com/books/1\"}, not %s", path, kind(tok))
	}
	err = r.members(path, tok, 2, func(name string) (err error) {
		switch name {
		case "match":
			s.Match, err = r.text(path + ".match")
			hasMatch = err == nil && s.Match != ""
		case "match_type":
			var t string
			if t, err = r.text(path + ".match_type"); err == nil && t != "" {
				typ = t
			}
		default:
			err = r.skip(path+"."+name, 2)
		}
		return err
	})
	if err != nil {
		return s, err
	}
	return checkMatcher(path, s.Match, hasMatch, topic.Type(typ))
}

// checkMatcher checks a matcher's match and type.
func checkMatcher(path, match string, hasMatch bool, typ topic.Type) (topic.Spec, error) {
	s := topic.Spec{Match: match, Type: typ}
	switch {
	case !hasMatch:
		return s, invalid(ErrClaims, "%s needs a non-empty string match", path)
	case len(match) > MaxMatchLength:
		return s, invalid(ErrClaims, "%s.match has %d bytes, over the %d this hub allows", path, len(match), MaxMatchLength)
	case typ != topic.Exact && typ != topic.URLPattern:
		return s, invalid(ErrClaims, "%s.match_type %q is not a matcher type this hub supports (exact, urlpattern), so the grant cannot be evaluated", path, string(typ))
	}
	if _, err := topic.CompileSpec(s, checkBase); err != nil {
		return s, invalid(ErrClaims, "%s.match %q: %v", path, match, err)
	}
	return s, nil
}
