package topic

import whatwg "github.com/nlnwa/whatwg-url/url"

// Topics are the topics of one update made ready to be matched against
// many selectors: a topic is parsed as a URL (against a base URL, for
// relative ones) once, when a URL pattern first needs it, not once per
// pattern. It is not safe for concurrent use: a fan-out builds one per
// update and matches it under its lock.
type Topics struct {
	names []string
	bases []parsedBase // one per base URL asked for
}

// parsedBase is the topics parsed against one base URL, by index of
// names, each once asked for.
type parsedBase struct {
	base   string
	topics []parsedTopic
}

// parsedTopic is a topic parsed against a base, with its components as
// go-urlpattern's Test reads them; ok is false when it is not a URL
// reference.
type parsedTopic struct {
	done, ok bool
	c        [nComponents]string
}

// NewTopics returns the topics names, which it keeps.
func NewTopics(names []string) *Topics { return &Topics{names: names} }

// Names returns the topics as given to NewTopics.
func (ts *Topics) Names() []string { return ts.names }

// url returns topic i parsed against base, not ok when it is not a URL
// reference. A topic is parsed once per base: the hub's URL, derived from
// each request unless configured, is one per name the hub is reached by.
func (ts *Topics) url(i int, base string) *parsedTopic {
	p := &ts.parsedAgainst(base).topics[i]
	if !p.done {
		p.done = true
		if u, err := whatwg.ParseRef(base, ts.names[i]); err == nil {
			p.ok = true
			p.c = [nComponents]string{u.Scheme(), u.Username(), u.Password(), u.Hostname(), u.Port(), u.Pathname(), u.Query(), u.Fragment()}
		}
	}
	return p
}

// parsedAgainst returns the topics parsed against base, adding them.
func (ts *Topics) parsedAgainst(base string) *parsedBase {
	for i := range ts.bases {
		if ts.bases[i].base == base {
			return &ts.bases[i]
		}
	}
	ts.bases = append(ts.bases, parsedBase{base: base, topics: make([]parsedTopic, len(ts.names))})
	return &ts.bases[len(ts.bases)-1]
}

// matchAt reports whether topic i of ts matches s.
func (s *Selector) matchAt(ts *Topics, i int) bool {
	us := s.url
	if us == nil || s.all {
		return s.Match(ts.names[i])
	}
	u := ts.url(i, us.base)
	switch {
	case !u.ok || !us.filter.admits(u):
		return false
	case us.res != nil:
		return matchComponents(us.res, &u.c)
	}
	return us.pat.Test(ts.names[i], us.base)
}

// MatchTopics reports whether any of the topics matches s.
func (s *Selector) MatchTopics(ts *Topics) bool {
	for j := range ts.names {
		if s.matchAt(ts, j) {
			return true
		}
	}
	return false
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
		if s.sels[i].MatchTopics(ts) {
			return true
		}
	}
	return false
}
