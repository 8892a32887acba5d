package topic

import whatwg "github.com/nlnwa/whatwg-url/url"

// Topics are the topics of one update made ready to be matched against
// many selectors: a topic is parsed as a URL (against a base URL, for
// relative ones) once, when a URL pattern first needs it, not once per
// pattern. It is not safe for concurrent use: a fan-out builds one per
// update and matches it under its lock.
type Topics struct {
	names  []string
	parsed []parsedTopic // by index of names, once asked for
}

// parsedTopic is a topic parsed against base, with its components as
// go-urlpattern's Test reads them; ok is false when it is not a URL
// reference.
type parsedTopic struct {
	done, ok bool
	base     string
	c        [nComponents]string
}

// NewTopics returns the topics names, which it keeps.
func NewTopics(names []string) *Topics { return &Topics{names: names} }

// Names returns the topics as given to NewTopics.
func (ts *Topics) Names() []string { return ts.names }

// url returns topic i parsed against base, not ok when it is not a URL
// reference. A topic is parsed again only when asked for another base
// (the hub's URL, derived from each request unless configured, is
// usually one).
func (ts *Topics) url(i int, base string) *parsedTopic {
	if ts.parsed == nil {
		ts.parsed = make([]parsedTopic, len(ts.names))
	}
	p := &ts.parsed[i]
	if !p.done || p.base != base {
		*p = parsedTopic{done: true, base: base}
		if u, err := whatwg.ParseRef(base, ts.names[i]); err == nil {
			p.ok = true
			p.c = [nComponents]string{u.Scheme(), u.Username(), u.Password(), u.Hostname(), u.Port(), u.Pathname(), u.Query(), u.Fragment()}
		}
	}
	return p
}

// matchAt reports whether topic i of ts matches s.
func (s *Selector) matchAt(ts *Topics, i int) bool {
	if s.pat == nil || s.all {
		return s.Match(ts.names[i])
	}
	u := ts.url(i, s.base)
	switch {
	case !u.ok || !s.filter.admits(u):
		return false
	case s.res != nil:
		return matchComponents(s.res, &u.c)
	}
	return s.pat.Test(ts.names[i], s.base)
}

// MatchTopics reports whether any of the topics matches a selector of the
// set, as MatchAny does, parsing each topic for URL patterns once.
func (s Set) MatchTopics(ts *Topics) bool {
	for _, t := range ts.names {
		if _, ok := s.exact[t]; ok {
			return true
		}
	}
	for i := range s.sels {
		if s.exact != nil && s.sels[i].Exact() {
			continue
		}
		for j := range ts.names {
			if s.sels[i].matchAt(ts, j) {
				return true
			}
		}
	}
	return false
}
