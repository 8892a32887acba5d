package topic_test

import (
	"fmt"
	"testing"

	"github.com/ssehub/ssehub/internal/topic"
)

// TestCache checks that a cached selector is the one compiled for its
// base (a relative URL pattern resolves differently against another),
// that exact specs share an entry whatever the base, that errors are not
// kept, and the bound.
func TestCache(t *testing.T) {
	c := topic.NewCache(4)
	rel := topic.Spec{Match: "/books/:id", Type: topic.URLPattern}
	a, err := c.Compile(rel, "https://a.example/.well-known/mercure")
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Compile(rel, "https://b.example/.well-known/mercure")
	if err != nil {
		t.Fatal(err)
	}
	if !a.Match("https://a.example/books/1") || a.Match("https://b.example/books/1") ||
		!b.Match("https://b.example/books/1") || b.Match("https://a.example/books/1") {
		t.Error("a relative pattern compiled for one base answers for another")
	}
	again, _ := c.Compile(rel, "https://a.example/.well-known/mercure")
	if !again.Match("https://a.example/books/1") || again.Match("https://b.example/books/1") {
		t.Error("the cached pattern of base a lost its base")
	}
	ex := topic.Spec{Match: "/books/1", Type: topic.Exact}
	c.Compile(ex, "https://a.example/")
	c.Compile(ex, "https://b.example/")
	if c.Len() != 3 {
		t.Errorf("Len = %d, want 3: two bases of the pattern, one exact spec", c.Len())
	}
	if _, err := c.Compile(topic.Spec{Match: "https://x/(", Type: topic.URLPattern}, ""); err == nil || c.Len() != 3 {
		t.Errorf("a bad pattern: err %v, Len %d", err, c.Len())
	}
	for i := range 10 {
		if _, err := c.Compile(topic.Spec{Match: fmt.Sprint("t", i), Type: topic.Exact}, ""); err != nil {
			t.Fatal(err)
		}
	}
	if c.Len() != 4 {
		t.Errorf("Len = %d past the bound of 4", c.Len())
	}
}
