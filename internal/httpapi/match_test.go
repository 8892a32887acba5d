package httpapi_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/app/apptest"
)

// TestMatcherParams checks draft-08's rules on the names and values of the
// topic matcher parameters: match, match_exact and match_urlpattern are
// known (case-sensitive); any other name of the reserved match namespace
// is 400 naming it; a value must be UTF-8 without controls or format
// characters, and a URL pattern well-formed. Other names are ignored as
// ever, and topic= keeps its classic meaning beside them.
func TestMatcherParams(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil)
	for _, tt := range []struct {
		name, query string
		status      int
		field       string
	}{
		{"match", "match=a", 200, ""},
		{"match_exact", "match_exact=a", 200, ""},
		{"match_urlpattern", "match_urlpattern=https://example.com/books/:id", 200, ""},
		{"relative URL pattern", "match_urlpattern=/books/*", 200, ""},
		{"topic and match mixed", "topic=a&match=b&match_urlpattern=/c/:id", 200, ""},
		{"non-ASCII value", "match=%C3%A9t%C3%A9", 200, ""},
		{"name short of the prefix", "topic=a&matc=x", 200, ""},
		{"name containing match later", "topic=a&xmatch=x&re_match=y", 200, ""},
		{"tagged", "topic=a&match=b&tag=selectors", 200, ""},
		{"unknown tag", "topic=a&tag=topics", 400, "tag"},
		{"unknown type", "match_regex=a", 400, "match_regex"},
		{"capitalised", "Match=a", 400, "Match"},
		{"upper case", "MATCH_URLPATTERN=a", 400, "MATCH_URLPATTERN"},
		{"type in other case", "match_Exact=a", 400, "match_Exact"},
		{"prefix glued", "topic=a&matchfoo=a", 400, "matchfoo"},
		{"prefix only, with topic", "topic=a&match_=a", 400, "match_"},
		{"empty value", "match=", 400, "match"},
		{"name without value", "match", 400, "match"},
		{"NUL", "match=a%00b", 400, "match"},
		{"C0 control", "match=a%1Fb", 400, "match"},
		{"tab", "match_exact=a%09b", 400, "match_exact"},
		{"DEL", "match=a%7Fb", 400, "match"},
		{"C1 control U+0080", "match=a%C2%80b", 400, "match"},
		{"C1 control U+009F", "match_urlpattern=/a%C2%9F", 400, "match_urlpattern"},
		{"format U+200B", "match=a%E2%80%8Bb", 400, "match"},
		{"format U+FEFF", "match=%EF%BB%BFa", 400, "match"},
		{"format U+00AD", "match=a%C2%ADb", 400, "match"},
		{"invalid UTF-8", "match=a%FFb", 400, "match"},
		{"invalid URL pattern", "match_urlpattern=https://example.com/(", 400, "match_urlpattern"},
		{"a pattern go-urlpattern panics on", "match_urlpattern=" + url.QueryEscape("*00/.."), 400, "match_urlpattern"},
		{"invalid among valid", "match=a&match_urlpattern=/x/:id&match_urlpattern=https://example.com/(", 400, "match_urlpattern"},
		{"nothing at all", "", 400, "topic"},
		{"over -max-topic-length", "match_urlpattern=/" + strings.Repeat("a", 2000), 400, "match_urlpattern"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ans := s.do(t, http.MethodGet, "/.well-known/mercure?"+tt.query, "", "")
			if ans.status != tt.status {
				t.Fatalf("GET ?%s: %d, want %d: %s", tt.query, ans.status, tt.status, ans.body)
			}
			if tt.status == 200 {
				return
			}
			if f := apptest.ErrorBody(t, ans.header.Get("Content-Type"), ans.body)["field"]; f != tt.field {
				t.Errorf("GET ?%s: field %v, want %q: %s", tt.query, f, tt.field, ans.body)
			}
		})
	}
}

// matchCase is a subscription and the topics, of those published, it
// must receive (every one else it must not).
type matchCase struct {
	query string
	want  []string
}

// TestMatcherSemantics publishes a set of topics to subscriptions of every
// kind and checks what each receives: exact matchers compare bytes (no
// template, no resolution), URL patterns follow the URL Pattern standard
// (host case-insensitive, path case-sensitive, relative patterns and
// topics against the hub's URL, taken from the request), "*" matches all
// in every type, topic= stays classic beside them.
func TestMatcherSemantics(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil)
	self := strings.TrimPrefix(s.URL, "http://") // the Host of the requests: the hub's URL is http://<it>/.well-known/mercure
	topics := []string{
		"https://example.com/books/1", "https://example.com/books/{id}", "https://EXAMPLE.com/books/2",
		"https://example.com/Books/3", "https://example.com/books/1/reviews", "/books/7",
		"http://" + self + "/books/8", "https://other.example/books/9", "books/10", "*",
	}
	checkMatches(t, s, topics, []matchCase{
		{"match=https://example.com/books/{id}", []string{"https://example.com/books/{id}"}},
		{"match_exact=https://example.com/books/1", []string{"https://example.com/books/1"}},
		{"topic=https://example.com/books/{id}", []string{"https://example.com/books/1", "https://example.com/books/{id}"}},
		// {id} is a path segment too once the topic is parsed as a URL (%7Bid%7D).
		{"match_urlpattern=https://example.com/books/:id", []string{"https://example.com/books/1", "https://example.com/books/{id}", "https://EXAMPLE.com/books/2"}},
		{"match_urlpattern=https://example.com/books/*", []string{"https://example.com/books/1", "https://example.com/books/{id}", "https://EXAMPLE.com/books/2", "https://example.com/books/1/reviews"}},
		{"match_urlpattern=/books/:id", []string{"/books/7", "http://" + self + "/books/8"}},
		{"match=/books/7", []string{"/books/7"}},
		{"match=books/10&topic=*", topics},
		{"match=*", topics},
		{"match_urlpattern=*", topics},
		{"topic=books/10&match=/books/7&match_urlpattern=https://other.example/books/:id", []string{"/books/7", "https://other.example/books/9", "books/10"}},
	})
}

// TestMatcherHubURL checks that with -hub-url relative URL patterns and
// topics resolve against it, whatever the request's Host.
func TestMatcherHubURL(t *testing.T) {
	t.Parallel()
	s := newServer(t, func(c *app.Config) { c.HubURL = "https://hub.example.com/.well-known/mercure" })
	self := strings.TrimPrefix(s.URL, "http://")
	topics := []string{"/books/7", "https://hub.example.com/books/8", "http://" + self + "/books/9", "https://hub.example.com/.well-known/x"}
	checkMatches(t, s, topics, []matchCase{
		{"match_urlpattern=/books/:id", []string{"/books/7", "https://hub.example.com/books/8"}},
		{"match_urlpattern=x", []string{"https://hub.example.com/.well-known/x"}}, // resolved as a URL reference: beside "mercure"
		{"match=/books/7", []string{"/books/7"}},
	})
}

// checkMatches opens a stream per case, publishes every topic (its data
// is the topic) and then an end marker, and compares what each received.
func checkMatches(t *testing.T, s *server, topics []string, cases []matchCase) {
	t.Helper()
	const end = "zz-end"
	streams := make([]*apptest.Stream, len(cases))
	for i, c := range cases {
		streams[i] = s.OpenStream(t, "/.well-known/mercure?"+c.query+"&match="+end, nil)
	}
	for _, tp := range append(slices.Clone(topics), end) {
		s.Publish(t, tp, tp)
	}
	for i, c := range cases {
		var got []string
		for ev := streams[i].Next(t); ev.Data != end; ev = streams[i].Next(t) {
			got = append(got, ev.Data)
		}
		if !sameSet(got, c.want) {
			t.Errorf("?%s received %q, want %q", c.query, got, c.want)
		}
	}
}

// TestMatcherReplay checks that matchers select from history as they do
// live: a stream resuming from earliest gets the retained updates its
// matchers match, and only those.
func TestMatcherReplay(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil)
	for _, tp := range []string{"https://example.com/books/1", "https://example.com/authors/2", "/books/3", "exact-one", "https://example.com/books/4/x"} {
		s.Publish(t, tp, tp)
	}
	st := s.OpenStream(t, "/.well-known/mercure?match_urlpattern=https://example.com/books/:id&match_urlpattern=/books/:id&match=exact-one&lastEventID=earliest", nil)
	evs, err := st.Read(3)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range evs {
		got = append(got, ev.Data)
	}
	if want := []string{"https://example.com/books/1", "/books/3", "exact-one"}; !slices.Equal(got, want) {
		t.Errorf("replayed %q, want %q in order", got, want)
	}
	s.Publish(t, "https://example.com/books/5", "live")
	if ev := st.Next(t); ev.Data != "live" {
		t.Errorf("after the replay got %q, want the live update", ev.Data)
	}
}

// TestHostileMatchers: matchers count toward -max-topics like topic=
// selectors; a URL pattern written to backtrack catastrophically
// ("(?:a+)+b" against a long run of a's) costs a publish no stall, since
// its expressions run on Go's linear-time engine: the update after it
// arrives at once (the time is logged, and a backtracking engine would
// take longer than the test's deadline by far).
func TestHostileMatchers(t *testing.T) {
	t.Parallel()
	s := newServer(t, func(c *app.Config) { c.Limits.MaxTopics = 3 })
	ans := s.do(t, http.MethodGet, "/.well-known/mercure?topic=a&match=b&match_urlpattern=/c/:id&match_exact=d", "", "")
	if ans.status != http.StatusBadRequest || !strings.Contains(ans.body, "at most 3") {
		t.Errorf("4 selectors, 2 of them matchers, over -max-topics 3: %d %s", ans.status, ans.body)
	}
	ans = s.do(t, http.MethodGet, "/.well-known/mercure?match_urlpattern="+url.QueryEscape("https://example.com/:x((a+)+b)"), "", "")
	if ans.status != http.StatusBadRequest || strings.Contains(ans.body, "&urlpattern") || !strings.Contains(ans.body, "not a URL pattern") {
		t.Errorf("a regular expression group holding a group: %d %s, want 400 naming the pattern without the library's internals", ans.status, ans.body)
	}
	st := s.OpenStream(t, "/.well-known/mercure?match_urlpattern="+url.QueryEscape("https://example.com/:x((?:a+)+b)"), nil)
	start := time.Now()
	s.Publish(t, "https://example.com/"+strings.Repeat("a", 1000)+"!", "evil")
	s.Publish(t, "https://example.com/aab", "after")
	if ev := st.Next(t); ev.Data != "after" {
		t.Fatalf("received %q, want the update after the evil one", ev.Data)
	}
	t.Logf("a publish against the pathological pattern and the next one delivered in %v", time.Since(start))
}
