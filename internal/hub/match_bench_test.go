package hub_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/topic"
)

// BenchmarkPatternFanout publishes one update to a hub whose N
// subscribers each have a distinct selector of their own, a classic URI
// template (https://example.com/books/{i}/{id}) or a Mercure 1.0 URL
// pattern (https://example.com/books/{i}/:id): every one is tried, one
// matches. An op is one publish and its fan-out.
func BenchmarkPatternFanout(b *testing.B) {
	kinds := []struct {
		name string
		opts func(i int) hub.SubscribeOptions
	}{
		{"template", func(i int) hub.SubscribeOptions {
			return hub.SubscribeOptions{Topics: []string{fmt.Sprintf("https://example.com/books/%d/{id}", i)}}
		}},
		{"urlpattern", func(i int) hub.SubscribeOptions {
			spec := topic.Spec{Match: fmt.Sprintf("https://example.com/books/%d/:id", i), Type: topic.URLPattern}
			sel, err := topic.CompileSpec(spec, "https://hub.example.com/.well-known/mercure")
			if err != nil {
				panic(err)
			}
			return hub.SubscribeOptions{Matchers: []topic.Selector{sel}}
		}},
	}
	for _, n := range []int{100, 1000, 10000} {
		for _, k := range kinds {
			b.Run(fmt.Sprintf("%s/%d", k.name, n), func(b *testing.B) {
				benchPatternFanout(b, n, k.opts)
			})
		}
	}
}

func benchPatternFanout(b *testing.B, n int, opts func(int) hub.SubscribeOptions) {
	h := newHub(b, hub.Config{QueueSize: 1 << 20})
	var target *hub.Subscriber
	for i := range n {
		s := subscribe(b, h, opts(i))
		if i == 7 {
			target = s
		}
	}
	data := `{"message":"a typical notification payload of about a hundred bytes","n":12345}`
	var buf []*hub.Update
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		u := &hub.Update{Topics: []string{"https://example.com/books/7/42"}, Data: data}
		if _, err := h.Publish(context.Background(), u); err != nil {
			b.Fatal(err)
		}
		if buf = target.Drain(buf); len(buf) != 1 {
			b.Fatalf("the matching subscriber got %d updates, want 1", len(buf))
		}
	}
}
