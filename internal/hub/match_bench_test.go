package hub_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/topic"
)

// patternKind is a way of giving N subscribers distinct selectors, and the
// topic of the one publish (matching subscriber 7's only).
type patternKind struct {
	name  string
	topic string
	opts  func(i int) hub.SubscribeOptions
}

// template subscribes with a classic URI template.
func template(format string) func(int) hub.SubscribeOptions {
	return func(i int) hub.SubscribeOptions {
		return hub.SubscribeOptions{Topics: []string{fmt.Sprintf(format, i)}}
	}
}

// urlPattern subscribes with a Mercure 1.0 URL pattern.
func urlPattern(format string) func(int) hub.SubscribeOptions {
	return func(i int) hub.SubscribeOptions {
		spec := topic.Spec{Match: fmt.Sprintf(format, i), Type: topic.URLPattern}
		sel, err := topic.CompileSpec(spec, "https://hub.example.com/.well-known/mercure")
		if err != nil {
			panic(err)
		}
		return hub.SubscribeOptions{Matchers: []topic.Selector{sel}}
	}
}

// BenchmarkPatternFanout publishes one update to a hub whose N
// subscribers each have a distinct selector of their own, a classic URI
// template or a Mercure 1.0 URL pattern: every one is tried, one
// matches. In "books" they differ in their literal start
// (https://example.com/books/{i}/{id} and …/books/{i}/:id); in "suffix"
// only after a variable (https://example.com/books/{id}/v{i} and
// …/books/:id/v{i}), which a pattern's literal start cannot tell apart.
// An op is one publish and its fan-out.
func BenchmarkPatternFanout(b *testing.B) {
	kinds := []patternKind{
		{"books/template", "https://example.com/books/7/42", template("https://example.com/books/%d/{id}")},
		{"books/urlpattern", "https://example.com/books/7/42", urlPattern("https://example.com/books/%d/:id")},
		{"suffix/template", "https://example.com/books/42/v7", template("https://example.com/books/{id}/v%d")},
		{"suffix/urlpattern", "https://example.com/books/42/v7", urlPattern("https://example.com/books/:id/v%d")},
	}
	for _, n := range []int{100, 1000, 10000} {
		for _, k := range kinds {
			b.Run(fmt.Sprintf("%s/%d", k.name, n), func(b *testing.B) { benchPatternFanout(b, n, k) })
		}
	}
}

func benchPatternFanout(b *testing.B, n int, k patternKind) {
	h := newHub(b, hub.Config{QueueSize: 1 << 20})
	var target *hub.Subscriber
	for i := range n {
		s := subscribe(b, h, k.opts(i))
		if i == 7 {
			target = s
		}
	}
	data := `{"message":"a typical notification payload of about a hundred bytes","n":12345}`
	var buf []*hub.Update
	runtime.GC() // the garbage of compiling N selectors is not the publish's
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		u := &hub.Update{Topics: []string{k.topic}, Data: data}
		if _, err := h.Publish(context.Background(), u); err != nil {
			b.Fatal(err)
		}
		if buf = target.Drain(buf); len(buf) != 1 {
			b.Fatalf("the matching subscriber got %d updates, want 1", len(buf))
		}
	}
}
