package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"unicode"
	"unicode/utf8"

	"github.com/ssehub/ssehub/internal/httpio"
	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/topic"
)

// Mercure 1.0 (draft-08) subscribes with topic matchers beside the classic
// topic= selectors: match= and match_exact= (exact), match_urlpattern=
// (a WHATWG URL Pattern). Every other name of the reserved "match"
// namespace is refused, so that a misspelt matcher fails loudly.

// matcherParams are the matcher query parameters and their types; names
// are case-sensitive.
var matcherParams = map[string]topic.Type{
	"match":            topic.Exact,
	"match_exact":      topic.Exact,
	"match_urlpattern": topic.URLPattern,
}

// subscribeQuery is what a subscription asks for: classic selectors
// (topic=) and Mercure 1.0 matchers, with the parameter each came in.
type subscribeQuery struct {
	topics []string
	specs  []topic.Spec
	params []string // the parameter of each spec
	// tagSelectors: tag=selectors asks that each event name the selectors
	// it matched (hub.TagField), so that one stream serves several tabs.
	tagSelectors bool
}

// selectors returns every selector as written, classic ones first: what
// the limits, the active subscriptions and the application see.
func (sq subscribeQuery) selectors() []string {
	out := slices.Clone(sq.topics)
	for _, s := range sq.specs {
		out = append(out, s.Match)
	}
	return out
}

// parseSubscribeQuery reads the selectors of a subscription from q,
// refusing a name of the reserved match namespace that names no matcher
// type, and a matcher value a topic may not hold.
func parseSubscribeQuery(q url.Values) (subscribeQuery, error) {
	sq := subscribeQuery{topics: q["topic"]}
	for _, v := range q["tag"] {
		if v != hub.TagField {
			return sq, &httpio.Error{Status: http.StatusBadRequest, Field: "tag", Msg: fmt.Sprintf("tag=%q: the only tag this hub adds to events is %q", v, hub.TagField)}
		}
		sq.tagSelectors = true
	}
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	slices.Sort(names) // a stable order: match, match_exact, match_urlpattern
	for _, name := range names {
		if !reservedMatchName(name) {
			continue
		}
		typ, ok := matcherParams[name]
		if !ok {
			return sq, &httpio.Error{Status: http.StatusBadRequest, Field: name,
				Msg: fmt.Sprintf("query parameter %q: the names starting with \"match\" are reserved for topic matchers, and this hub knows match (or match_exact) and match_urlpattern only (case-sensitive)", name)}
		}
		for _, v := range q[name] {
			if err := checkMatcherValue(v); err != nil {
				return sq, &httpio.Error{Status: http.StatusBadRequest, Field: name, Msg: fmt.Sprintf("%s=%q: %v", name, v, err)}
			}
			sq.specs = append(sq.specs, topic.Spec{Match: v, Type: typ})
			sq.params = append(sq.params, name)
		}
	}
	return sq, nil
}

// reservedMatchName reports whether name is in the reserved match
// namespace: "match" or a name beginning with it, in ASCII letters of
// either case.
func reservedMatchName(name string) bool {
	const prefix = "match"
	if len(name) < len(prefix) {
		return false
	}
	for i := range len(prefix) {
		if name[i]|0x20 != prefix[i] {
			return false
		}
	}
	return true
}

// checkMatcherValue refuses what a matcher may not hold: no value,
// invalid UTF-8, C0 and C1 controls, DEL, and Unicode format characters.
func checkMatcherValue(v string) error {
	if v == "" {
		return topic.ErrEmpty
	}
	if !utf8.ValidString(v) {
		return fmt.Errorf("a topic matcher must be valid UTF-8")
	}
	for _, r := range v {
		switch {
		case r < 0x20, 0x7f <= r && r <= 0x9f:
			return fmt.Errorf("a topic matcher may not hold the control character U+%04X", r)
		case unicode.Is(unicode.Cf, r):
			return fmt.Errorf("a topic matcher may not hold the format character U+%04X", r)
		}
	}
	return nil
}

// matcherCacheSize is how many compiled matchers the API keeps.
const matcherCacheSize = 10000

// compileMatchers compiles the matchers of sq against the hub's URL base,
// through the API's cache, naming the parameter of one that does not
// compile.
func (a *API) compileMatchers(sq subscribeQuery, base string) ([]topic.Selector, error) {
	out := make([]topic.Selector, 0, len(sq.specs))
	for i, s := range sq.specs {
		sel, err := a.matchers.Compile(s, base)
		if err != nil {
			return nil, &httpio.Error{Status: http.StatusBadRequest, Field: sq.params[i], Msg: fmt.Sprintf("%s=%q: %v", sq.params[i], s.Match, err)}
		}
		out = append(out, sel)
	}
	return out, nil
}

// checkMatchers applies -max-topic-length to each matcher, naming its
// parameter, and refuses one whose subscription could not be announced
// (checkAnnounceableMatchers). The other limits count matchers as topics
// (checkSubscription).
func (a *API) checkMatchers(sq subscribeQuery) error {
	if max := a.cfg.Limits.MaxTopicLength; max > 0 {
		for i, sp := range sq.specs {
			if len(sp.Match) > max {
				return &httpio.Error{Status: http.StatusBadRequest, Field: sq.params[i],
					Msg: fmt.Sprintf("matcher of %d bytes: at most %d (-max-topic-length)", len(sp.Match), max)}
			}
		}
	}
	return a.checkAnnounceableMatchers(sq)
}
