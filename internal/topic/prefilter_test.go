package topic_test

import (
	"fmt"
	"testing"

	"github.com/dunglas/go-urlpattern"

	"github.com/ssehub/ssehub/internal/topic"
)

const testBase = "https://hub.example.com/.well-known/mercure"

var (
	prefilterPatterns = []string{
		"https://example.com/books/:id", "https://example.com/books/:id?", "https://example.com/books/*",
		"https://example.com/books/:id/reviews", "https://EXAMPLE.com/books/:id", "http{s}?://example.com/books/:id",
		"https://*.example.com/books/:id", "https://example.com/a/./b/:id", "https://example.com/a/../b/:id",
		"https://example.com/caf%C3%A9/:id", "https://example.com/café/:id", "https://example.com:8443/x/:id",
		"https://example.com/books/(\\d+)", "https://example.com/books{/:id}?", "/.well-known/mercure/subscriptions/exact/:m/:s",
		"/.well-known/mercure/subscriptions/*", "books/:id", "urn\\:example\\:*", "https://127.0.0.1/x/:id",
		"https://example.com/books/1", "https://example.com/.hidden/:id", "https://example.com/books/:id.json",
		"https://example.com/books/:id/v7", "https://example.com/books/:id?/v7", "https://example.com/books/:id/..",
		"https://example.com/books/:id/./v7", "https://example.com/:a/:b.json", "https://example.com/books/:id/reviews/",
		"https://example.com/books/:id_x/v7", "https://example.com/books/:id-x", "https://example.com/books/*/v7",
	}
	prefilterTopics = []string{
		"https://example.com/books/7", "https://example.com/books", "https://example.com/books/", "https://EXAMPLE.COM/books/7",
		"HTTPS://example.com:443/books/7", "http://example.com/books/7", "https://a.example.com/books/7",
		"https://example.com/a/b/7", "https://example.com/b/7", "https://example.com/a/./b/7", "https://example.com/a/x/../b/7",
		"https://example.com/caf%C3%A9/7", "https://example.com/café/7", "https://example.com:8443/x/1",
		"https://example.com/books/12", "https://example.com/books/1/reviews", "/.well-known/mercure/subscriptions/exact/a/b",
		"https://hub.example.com/.well-known/mercure/subscriptions/exact/a/b", "books/7", "/books/7", "urn:example:1",
		"https:example.com/books/7", "https://0x7f.1/x/1", "not a url", "https://example.com/.hidden/1",
		"https://example.com/books/7.json", "//example.com/books/7", "https://example.com/books/7?q#f", "",
		"https://example.com/books/42/v7", "https://example.com/books/v7", "https://example.com/books/42/v7/",
		"https://example.com/books/42/V7", "https://example.com/x/y.json", "https://example.com/books/42/reviews/",
		"https://example.com/books/42-x", "https://example.com/books/a/b/v7", "https://example.com/books/42/./v7",
	}
)

// TestURLPatternPrefilter checks that matching a URL pattern through its
// prefilter and the parsed topics answers as go-urlpattern's Test does,
// for a Selector and for a Set.
func TestURLPatternPrefilter(t *testing.T) {
	for _, p := range prefilterPatterns {
		checkAgainstTest(t, p, prefilterTopics)
	}
}

func checkAgainstTest(t *testing.T, pattern string, topics []string) {
	t.Helper()
	want, err := safeNew(pattern)
	sel, err2 := topic.CompileSpec(topic.Spec{Match: pattern, Type: topic.URLPattern}, testBase)
	if (err == nil) != (err2 == nil) {
		t.Fatalf("%q: go-urlpattern says %v, CompileSpec %v", pattern, err, err2)
	}
	if err != nil {
		return
	}
	set := topic.NewSet([]topic.Selector{sel})
	for _, tp := range topics {
		w := want.Test(tp, testBase)
		if got := sel.Match(tp); got != w {
			t.Errorf("%q matching %q = %v, Test says %v", pattern, tp, got, w)
		}
		// The set is asked about two topics at once: a pattern may match
		// "zzz" too (":A" does), so Test is asked about both.
		if got, w := set.MatchTopics(topic.NewTopics([]string{"zzz", tp})), w || want.Test("zzz", testBase); got != w {
			t.Errorf("set of %q matching topics zzz, %q = %v, Test says %v", pattern, tp, got, w)
		}
	}
}

// safeNew is go-urlpattern's New, its panics (it has some, see
// topic.newURLPattern) turned into errors: CompileSpec must refuse those
// patterns rather than panic.
func safeNew(pattern string) (p *urlpattern.URLPattern, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("go-urlpattern panics: %v", r)
		}
	}()
	return urlpattern.New(pattern, testBase, nil)
}

// FuzzURLPatternPrefilter compares the prefiltered match with
// go-urlpattern's Test on arbitrary patterns and topics.
func FuzzURLPatternPrefilter(f *testing.F) {
	for i, p := range prefilterPatterns {
		f.Add(p, prefilterTopics[i%len(prefilterTopics)])
	}
	f.Fuzz(func(t *testing.T, pattern, tp string) {
		if pattern == topic.Wildcard || pattern == "" {
			return // "*" matches all before any pattern; "" is refused (ErrEmpty) before go-urlpattern sees it
		}
		checkAgainstTest(t, pattern, []string{tp})
	})
}

// BenchmarkCompile compiles a classic URI template and a URL pattern, as
// every subscription does once.
func BenchmarkCompile(b *testing.B) {
	for _, spec := range []topic.Spec{
		{Match: "https://example.com/books/{id}"},
		{Match: "https://example.com/books/:id", Type: topic.URLPattern},
	} {
		b.Run(string(spec.Type)+"-"+spec.Match, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if _, err := topic.CompileSpec(spec, testBase); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestTopicsBases matches one update's topics against relative patterns
// compiled for several bases, interleaved as a fan-out meets them: each
// answers for its own base.
func TestTopicsBases(t *testing.T) {
	rel := topic.Spec{Match: "/books/:id", Type: topic.URLPattern}
	var sels []topic.Selector
	for _, host := range []string{"a.example", "b.example", "a.example", "c.example"} {
		sel, err := topic.CompileSpec(rel, "https://"+host+"/.well-known/mercure")
		if err != nil {
			t.Fatal(err)
		}
		sels = append(sels, sel)
	}
	ts := topic.NewTopics([]string{"https://b.example/books/1", "/books/2"})
	for round := range 2 {
		for i, sel := range sels {
			if got := topic.NewSet([]topic.Selector{sel}).MatchTopics(ts); !got {
				t.Errorf("round %d, pattern %d: the relative topic /books/2 did not match against its own base", round, i)
			}
		}
		only := topic.NewTopics([]string{"https://b.example/books/1"})
		for i, sel := range sels {
			want := i == 1
			if got := topic.NewSet([]topic.Selector{sel}).MatchTopics(only); got != want {
				t.Errorf("round %d, pattern %d matching https://b.example/books/1 = %v, want %v", round, i, got, want)
			}
		}
	}
}
