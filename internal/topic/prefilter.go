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
	// One allocation for the three, so that checking a pattern touches
	// one or two cache lines of them rather than three places.
	lit := f.scheme + f.host + f.path
	f.scheme, f.host, f.path = lit[:len(f.scheme)], lit[len(f.scheme):len(f.scheme)+len(f.host)], lit[len(f.scheme)+len(f.host):]
	return f
}

// literalPath returns the start of a pathname pattern that every matching
// pathname starts with: its characters up to the first that may be
// syntax, less a last "/", which may be the optional prefix of the group
// that follows ("/books/:id?" matches "/books"), and cut before a dot
// segment, which a pathname never has once parsed.
func literalPath(p string) string {
	end := strings.IndexFunc(p, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("/._~-", r))
	})
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
		strings.HasPrefix(u.c[cPathname], f.path)
}
