package topic_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/ssehub/ssehub/internal/topic"
)

func TestMatch(t *testing.T) {
	cases := []struct {
		selector, topic string
		want            bool
	}{
		{"*", "anything", true},
		{"*", "https://example.com/books/1", true},
		{"https://example.com/books/1", "https://example.com/books/1", true},
		{"https://example.com/books/1", "https://example.com/books/2", false},
		{"https://example.com/books/{id}", "https://example.com/books/1", true},
		{"https://example.com/books/{id}", "https://example.com/books/1/reviews", false},
		{"https://example.com/books/{id}", "https://example.com/authors/1", false},
		{"https://example.com/books/{id}", "https://example.com/books/{id}", true}, // identical strings match
		{"https://example.com/{+path}", "https://example.com/a/b/c", true},
		{"https://example.com/users/{id}{?tab}", "https://example.com/users/7?tab=posts", true},
		{"{invalid", "{invalid", true}, // not a valid template: an exact topic
		{"{invalid", "invalid", false},
		{"chat", "chat2", false},
	}
	for _, c := range cases {
		sel, err := topic.Compile(c.selector)
		if err != nil {
			t.Fatalf("compile %q: %v", c.selector, err)
		}
		if got := sel.Match(c.topic); got != c.want {
			t.Errorf("%q matches %q = %v, want %v", c.selector, c.topic, got, c.want)
		}
	}
	if _, err := topic.Compile(""); err == nil {
		t.Error("an empty selector compiled")
	}
	if (topic.Selector{}).Match("x") {
		t.Error("the zero Selector matched")
	}
}

func TestMatchAny(t *testing.T) {
	sels, err := topic.CompileAll([]string{"a", "https://ex.com/{x}"})
	if err != nil {
		t.Fatal(err)
	}
	if !topic.MatchAny(sels, []string{"zzz", "https://ex.com/1"}) || topic.MatchAny(sels, []string{"b"}) || topic.MatchAny(nil, []string{"a"}) {
		t.Fatal("MatchAny disagrees with Match")
	}
	if _, err := topic.CompileAll([]string{"a", ""}); err == nil {
		t.Fatal("CompileAll accepted an empty selector")
	}
}

// TestSet checks that a Set, with a few exact selectors and with a map of
// many, matches as MatchAny does over its selectors.
func TestSet(t *testing.T) {
	var many []string
	for i := range 20 {
		many = append(many, fmt.Sprint("https://ex.com/t/", i))
	}
	lists := [][]string{
		nil,
		{"a", "b"},
		{"a", "https://ex.com/{x}"},
		append([]string{"https://ex.com/books/{id}"}, many...),
		append(slices.Clone(many), "*"),
		many,
	}
	topics := [][]string{
		nil,
		{"a"},
		{"zzz", "https://ex.com/1"},
		{"https://ex.com/books/7"},
		{"b", "https://ex.com/t/19"},
		{"https://ex.com/t/20", "https://ex.com/t/0"},
		{"https://ex.com/t/20", "https://ex.com/books/x/y"},
	}
	for _, list := range lists {
		sels, err := topic.CompileAll(list)
		if err != nil {
			t.Fatal(err)
		}
		set := topic.NewSet(sels)
		if !slices.Equal(set.Selectors(), sels) {
			t.Fatalf("Selectors of %q changed", list)
		}
		for _, ts := range topics {
			if got, want := set.MatchAny(ts), topic.MatchAny(sels, ts); got != want {
				t.Errorf("set of %d selectors, MatchAny(%q) = %v, want %v", len(list), ts, got, want)
			}
			for _, one := range ts {
				if got, want := set.Match(one), topic.MatchAny(sels, []string{one}); got != want {
					t.Errorf("set of %d selectors, Match(%q) = %v, want %v", len(list), one, got, want)
				}
			}
		}
	}
	if (topic.Set{}).MatchAny([]string{"a"}) || (topic.Set{}).Match("a") {
		t.Error("the zero Set matched")
	}
}

// FuzzMatch compiles arbitrary selectors and matches arbitrary topics: it
// never panics, a selector always matches itself, "*" matches everything,
// and an exact selector matches only itself.
func FuzzMatch(f *testing.F) {
	for _, s := range []string{"*", "a", "https://example.com/books/{id}", "{+path}", "{?q,r}", "{", "}{", "{/a*}", "x{#y}"} {
		f.Add(s, "https://example.com/books/1")
	}
	f.Fuzz(func(t *testing.T, selector, topicName string) {
		sel, err := topic.Compile(selector)
		if err != nil {
			if selector != "" {
				t.Fatalf("compile %q: %v", selector, err)
			}
			return
		}
		if !sel.Match(selector) {
			t.Fatalf("%q does not match itself", selector)
		}
		got := sel.Match(topicName)
		if sel.Exact() && got != (selector == topicName) {
			t.Fatalf("exact %q matches %q = %v", selector, topicName, got)
		}
		if selector == topic.Wildcard && !got {
			t.Fatalf("* does not match %q", topicName)
		}
	})
}

func TestCompileSpec(t *testing.T) {
	const base = "https://hub.example.com/.well-known/mercure"
	cases := []struct {
		spec  topic.Spec
		topic string
		want  bool
	}{
		{topic.Spec{Match: "https://example.com/{id}"}, "https://example.com/1", true},
		{topic.Spec{Match: "https://example.com/{id}", Type: topic.Exact}, "https://example.com/1", false},
		{topic.Spec{Match: "https://example.com/{id}", Type: topic.Exact}, "https://example.com/{id}", true},
		{topic.Spec{Match: "*", Type: topic.Exact}, "anything", true},
		{topic.Spec{Match: "*", Type: topic.URLPattern}, "anything", true},
		{topic.Spec{Match: "https://example.com/books/:id", Type: topic.URLPattern}, "https://example.com/books/7", true},
		{topic.Spec{Match: "https://example.com/books/:id", Type: topic.URLPattern}, "https://example.com/books/7/pages", false},
		{topic.Spec{Match: "https://example.com/books/:id", Type: topic.URLPattern}, "https://EXAMPLE.com/books/7", true},
		{topic.Spec{Match: "https://example.com/books/:id", Type: topic.URLPattern}, "https://example.com/Books/7", false},
		{topic.Spec{Match: "/.well-known/mercure/subscriptions/exact/:topic/:sub", Type: topic.URLPattern}, "/.well-known/mercure/subscriptions/exact/a/b", true},
		{topic.Spec{Match: "https://example.com/users/42/*", Type: topic.URLPattern}, "https://example.com/users/42/orders/1", true},
		{topic.Spec{Match: "https://example.com/users/42/*", Type: topic.URLPattern}, "not a url at all", false},
	}
	for _, c := range cases {
		sel, err := topic.CompileSpec(c.spec, base)
		if err != nil {
			t.Fatalf("%+v: %v", c.spec, err)
		}
		if got := sel.Match(c.topic); got != c.want {
			t.Errorf("%+v matching %q = %v, want %v", c.spec, c.topic, got, c.want)
		}
		if sel.Spec() != c.spec {
			t.Errorf("Spec() = %+v, want %+v", sel.Spec(), c.spec)
		}
	}
	for _, bad := range []topic.Spec{{Match: "https://example.com/(", Type: topic.URLPattern}, {Match: "x", Type: "regex"}, {Type: topic.Exact}} {
		if _, err := topic.CompileSpec(bad, base); err == nil {
			t.Errorf("%+v compiled", bad)
		}
	}
}
