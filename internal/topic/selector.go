// Package topic matches topics against Mercure topic selectors: the
// reserved "*", and, by matcher type (see Type), an exact topic or a URI
// Template (RFC 6570) in the classic protocol, an exact topic or a WHATWG
// URL Pattern in Mercure 1.0.
package topic

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/dunglas/go-urlpattern"
	"github.com/yosida95/uritemplate/v3"
)

// Wildcard is the reserved selector that matches every topic.
const Wildcard = "*"

// ErrEmpty is returned for an empty topic or selector.
var ErrEmpty = errors.New("topic must not be empty")

// Selector is a compiled topic selector. The zero value matches nothing.
type Selector struct {
	raw string
	typ Type
	all bool
	re  *regexp.Regexp // a classic URI template's
	url *urlSelector   // a URL pattern's, nil for other types
}

// urlSelector is what a URL pattern selector holds beyond the selector's
// text: behind a pointer, so that the selectors of every other type, one
// or more in each subscription, stay small.
type urlSelector struct {
	pat    *urlpattern.URLPattern
	base   string                       // the base URL of pat
	filter prefilter                    // what pat's literal text says
	res    *[nComponents]*regexp.Regexp // pat's, nil to call its Test
}

// Compile parses a topic selector. A string containing "{" is compiled as a
// URI Template; if it is not a valid template it is still usable as an exact
// topic, as the protocol allows any string as a selector.
func Compile(s string) (Selector, error) {
	if s == "" {
		return Selector{}, ErrEmpty
	}
	sel := Selector{raw: s, all: s == Wildcard}
	if !sel.all && strings.ContainsRune(s, '{') {
		if tpl, err := uritemplate.New(s); err == nil {
			sel.re = tpl.Regexp()
		}
	}
	return sel, nil
}

// CompileAll compiles every selector, naming the first invalid one in the error.
func CompileAll(raw []string) ([]Selector, error) {
	out := make([]Selector, 0, len(raw))
	for _, s := range raw {
		sel, err := Compile(s)
		if err != nil {
			return nil, fmt.Errorf("selector %q: %w", s, err)
		}
		out = append(out, sel)
	}
	return out, nil
}

// String returns the selector as written.
func (s Selector) String() string { return s.raw }

// Exact reports whether the selector matches only the identical topic, so an
// index keyed by topic can serve it.
func (s Selector) Exact() bool { return !s.all && s.re == nil && s.url == nil && s.raw != "" }

// Match reports whether topic matches the selector, following the
// protocol's steps: "*" matches everything; a URL pattern decides alone
// (draft-08); otherwise identical strings match, then the template.
func (s Selector) Match(topic string) bool {
	switch {
	case s.raw == "":
		return false
	case s.all:
		return true
	case s.url != nil:
		return s.matchAt(NewTopics([]string{topic}), 0)
	case s.raw == topic:
		return true
	case s.re != nil:
		return s.re.MatchString(topic)
	}
	return false
}

// MatchAny reports whether any of the topics matches any of the selectors.
func MatchAny(sels []Selector, topics []string) bool {
	for i := range sels {
		for _, t := range topics {
			if sels[i].Match(t) {
				return true
			}
		}
	}
	return false
}

// fewExact is how many exact selectors a Set compares one by one; past
// it, it keeps them in a map.
const fewExact = 8

// Set is a list of selectors made to match many topics: once it has more
// than a few exact selectors it looks them up in a map, so matching takes
// time in proportion to the topics and the non-exact selectors, not to
// the topics times the selectors. The zero value matches nothing.
type Set struct {
	sels  []Selector          // as given
	exact map[string]struct{} // the exact ones, when more than fewExact
}

// NewSet returns the set of sels, which it keeps.
func NewSet(sels []Selector) Set {
	s := Set{sels: sels}
	n := 0
	for i := range sels {
		if sels[i].Exact() {
			n++
		}
	}
	if n > fewExact {
		s.exact = make(map[string]struct{}, n)
		for i := range sels {
			if sels[i].Exact() {
				s.exact[sels[i].raw] = struct{}{}
			}
		}
	}
	return s
}

// Selectors returns the selectors of the set, as given to NewSet.
func (s Set) Selectors() []Selector { return s.sels }

// Match reports whether topic matches a selector of the set.
func (s Set) Match(topic string) bool {
	if _, ok := s.exact[topic]; ok {
		return true
	}
	for i := range s.sels {
		if (s.exact == nil || !s.sels[i].Exact()) && s.sels[i].Match(topic) {
			return true
		}
	}
	return false
}

// MatchAny reports whether any of the topics matches a selector of the
// set.
func (s Set) MatchAny(topics []string) bool {
	if s.exact == nil {
		return MatchAny(s.sels, topics)
	}
	for _, t := range topics {
		if _, ok := s.exact[t]; ok {
			return true
		}
	}
	for i := range s.sels {
		if s.sels[i].Exact() {
			continue
		}
		for _, t := range topics {
			if s.sels[i].Match(t) {
				return true
			}
		}
	}
	return false
}
