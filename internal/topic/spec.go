package topic

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dunglas/go-urlpattern"
)

// Type is a topic matcher type: how a selector's text is read. Classic is
// the protocol of draft-07 (topic=, mercure.publish/mercure.subscribe
// claims); Exact and URLPattern are Mercure 1.0's (match=,
// match_urlpattern=, authorization_details).
type Type string

// The matcher types.
const (
	// Classic reads a selector as draft-07 does: "*", an exact topic, or
	// an RFC 6570 URI template when it is a valid one.
	Classic Type = ""
	// Exact compares byte for byte ("*" still matches every topic).
	Exact Type = "exact"
	// URLPattern reads a WHATWG URL Pattern, relative ones against the
	// hub's URL ("*" still matches every topic).
	URLPattern Type = "urlpattern"
)

// Spec is a selector as written, with its matcher type.
type Spec struct {
	Match string
	Type  Type
}

// Specs returns the classic specs of the selectors raw.
func Specs(raw []string) []Spec {
	out := make([]Spec, len(raw))
	for i, s := range raw {
		out[i] = Spec{Match: s}
	}
	return out
}

// newURLPattern compiles a URL pattern. go-urlpattern v1.0.0 panics on
// some patterns (an index out of range canonicalizing "*00/.."): that is
// an invalid pattern too, not a crash of the request.
func newURLPattern(pattern, base string) (p *urlpattern.URLPattern, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("%w: the pattern cannot be compiled (%v)", ErrNotURLPattern, r)
		}
	}()
	p, err = urlpattern.New(pattern, base, nil)
	if err != nil {
		return nil, patternError(err)
	}
	return p, nil
}

// CompileSpec compiles s. base is the hub's URL, against which a relative
// URL pattern, and a relative topic matched against one, are resolved; it
// matters to URLPattern only.
func CompileSpec(s Spec, base string) (Selector, error) {
	switch s.Type {
	case Classic:
		return Compile(s.Match)
	case Exact, URLPattern:
	default:
		return Selector{}, fmt.Errorf("unknown matcher type %q", string(s.Type))
	}
	if s.Match == "" {
		return Selector{}, ErrEmpty
	}
	sel := Selector{raw: s.Match, typ: s.Type, all: s.Match == Wildcard}
	if s.Type == URLPattern && !sel.all {
		p, err := newURLPattern(s.Match, base)
		if err != nil {
			return Selector{}, err
		}
		sel.url = &urlSelector{pat: p, base: base, filter: newPrefilter(p), res: componentRegexps(p)}
	}
	return sel, nil
}

// Spec returns the selector as written, with its matcher type.
func (s Selector) Spec() Spec { return Spec{Match: s.raw, Type: s.typ} }

// ParseType returns the Mercure 1.0 matcher type named s, case-sensitive:
// "exact" or "urlpattern" (Classic has no name).
func ParseType(s string) (Type, bool) {
	switch t := Type(s); t {
	case Exact, URLPattern:
		return t, true
	}
	return Classic, false
}

// ErrNotURLPattern is the error of a URL pattern that does not compile.
var ErrNotURLPattern = errors.New("not a URL pattern")

// patternError names why go-urlpattern refused a pattern, without the
// dump of its tokenizer some of its errors carry.
func patternError(err error) error {
	msg, _, _ := strings.Cut(err.Error(), ": &")
	if errors.Is(err, urlpattern.ErrType) {
		msg += " (the URL Pattern standard refuses its syntax; a regular expression group may not hold another group)"
	}
	return fmt.Errorf("%w: %s", ErrNotURLPattern, msg)
}
