package topic

import (
	"strings"

	"github.com/dunglas/go-urlpattern"
)

// prefilter is what a URL pattern's literal text says of every topic it
// matches, tested on the topic parsed once (Topics) before the pattern
// itself: a few string comparisons reject most topics before any regular
// expression runs (see componentRegexps). Each check is a necessary
// condition, so a topic it rejects would not match.
type prefilter struct {
	scheme string // the pattern's protocol when literal, else ""
	host   string // its hostname when literal, else ""
	path   string // the literal start of its pathname
	tail   string // the literal end of its pathname, after its last group
}

// newPrefilter reads p's literal text.
func newPrefilter(p *urlpattern.URLPattern) prefilter {
	var f prefilter
	if s := p.Protocol(); s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789") == "" {
		f.scheme = s
	}
	if h := p.Hostname(); h != "" && strings.Trim(h, "abcdefghijklmnopqrstuvwxyz0123456789.-") == "" {
		f.host = h
	}
	f.path = literalPath(p.Pathname())
	f.tail = literalTail(p.Pathname())
	// One allocation for the four, so that checking a pattern touches
	// one or two cache lines of them rather than four places.
	lit := f.scheme + f.host + f.path + f.tail
	a, b, c := len(f.scheme), len(f.scheme)+len(f.host), len(f.scheme)+len(f.host)+len(f.path)
	f.scheme, f.host, f.path, f.tail = lit[:a], lit[a:b], lit[b:c], lit[c:]
	return f
}

// literalChar reports whether r stands for itself in a pathname pattern
// and in a parsed pathname alike.
func literalChar(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("/._~-", r)
}

// literalTail returns the end of a pathname pattern that every matching
// pathname ends with: the literal text after its last group (a named
// group's name skipped), "" when something else ends it, or when a
// segment of it may be a dot segment, which a parsed pathname never has.
// "/books/:id/v7" gives "/v7": patterns that differ only after a variable
// are told apart without their regular expressions.
func literalTail(p string) string {
	i := strings.LastIndexAny(p, `:*(){}?+\`)
	if i < 0 {
		return "" // all literal: literalPath has it all
	}
	rest := p[i+1:]
	if p[i] == ':' {
		rest = strings.TrimLeftFunc(rest, func(r rune) bool {
			return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_'
		})
	}
	if strings.IndexFunc(rest, func(r rune) bool { return !literalChar(r) }) >= 0 {
		return ""
	}
	for _, seg := range strings.Split(rest, "/") {
		if seg != "" && strings.Trim(seg, ".") == "" {
			return ""
		}
	}
	return rest
}

// literalPath returns the start of a pathname pattern that every matching
// pathname starts with: its characters up to the first that may be
// syntax, less a last "/", which may be the optional prefix of the group
// that follows ("/books/:id?" matches "/books"), and cut before a dot
// segment, which a pathname never has once parsed.
func literalPath(p string) string {
	end := strings.IndexFunc(p, func(r rune) bool { return !literalChar(r) })
	if end >= 0 {
		p = strings.TrimSuffix(p[:end], "/")
	}
	for i, off := 0, 0; i >= 0; off += i + 1 {
		i = strings.IndexByte(p[off:], '/')
		seg := p[off:]
		if i >= 0 {
			seg = p[off : off+i]
		}
		if seg != "" && strings.Trim(seg, ".") == "" {
			return p[:off]
		}
	}
	return p
}

// admits reports whether a topic parsed as u may match the pattern.
func (f *prefilter) admits(u *parsedTopic) bool {
	return (f.scheme == "" || u.c[cProtocol] == f.scheme) &&
		(f.host == "" || u.c[cHostname] == f.host) &&
		strings.HasPrefix(u.c[cPathname], f.path) && strings.HasSuffix(u.c[cPathname], f.tail)
}
