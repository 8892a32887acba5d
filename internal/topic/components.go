package topic

import (
	"reflect"
	"regexp"

	"github.com/dunglas/go-urlpattern"
)

// The components of a URL, in the order a URL pattern matches them.
const (
	cProtocol = iota
	cUsername
	cPassword
	cHostname
	cPort
	cPathname
	cSearch
	cHash
	nComponents
)

// componentFields are the fields of go-urlpattern's URLPattern holding the
// components, in the order above.
var componentFields = [nComponents]string{"protocol", "username", "password", "hostname", "port", "pathname", "search", "hash"}

// componentRegexps returns the regular expressions go-urlpattern compiled
// for p's components, or nil if it cannot find them. Its Test parses the
// topic and the base URL for every call (some fifteen microseconds and a
// hundred allocations), and its only other entry, TestInit, canonicalizes
// every component again; with these a topic parsed once per publish
// (Topics) is tested in a few hundred nanoseconds, as a URI template is.
// go-urlpattern v1.0.0 does not export them, so they are read from its
// unexported fields, checked field by field; should a version lay them
// out otherwise this returns nil and matching falls back to Test. The
// differential test and fuzz target against Test guard the equivalence.
func componentRegexps(p *urlpattern.URLPattern) *[nComponents]*regexp.Regexp {
	reType := reflect.TypeFor[*regexp.Regexp]()
	v := reflect.ValueOf(p)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	var out [nComponents]*regexp.Regexp
	for i, name := range componentFields {
		c := v.Elem().FieldByName(name)
		if c.Kind() != reflect.Pointer || c.IsNil() || c.Elem().Kind() != reflect.Struct {
			return nil
		}
		re := c.Elem().FieldByName("regularExpression")
		if !re.IsValid() || re.Type() != reType || re.IsNil() {
			return nil
		}
		out[i] = (*regexp.Regexp)(re.UnsafePointer())
	}
	return &out
}

// matchComponents reports whether the components of a parsed topic
// match every regular expression, the most telling first.
func matchComponents(res *[nComponents]*regexp.Regexp, c *[nComponents]string) bool {
	for _, i := range [...]int{cPathname, cHostname, cProtocol, cPort, cSearch, cHash, cUsername, cPassword} {
		if !res[i].MatchString(c[i]) {
			return false
		}
	}
	return true
}
