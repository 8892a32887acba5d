package hub_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/ssehub/ssehub/internal/hub"
)

// numbered returns n distinct topics.
func numbered(n int) []string {
	topics := make([]string, n)
	for i := range topics {
		topics[i] = fmt.Sprint("https://example.com/books/", i)
	}
	return topics
}

func TestDistinctTopics(t *testing.T) {
	many := numbered(100)
	manyRepeated := append(slices.Clone(many), many[99], many[0], many[50])
	tests := []struct {
		name   string
		in     []string
		want   []string
		shared bool // the input comes back as is
	}{
		{"none", nil, nil, true},
		{"one", []string{"a"}, []string{"a"}, true},
		{"few", []string{"a", "b", "c"}, []string{"a", "b", "c"}, true},
		{"few repeated", []string{"a", "b", "a", "c", "b"}, []string{"a", "b", "c"}, false},
		{"canonical repeated", []string{"a", "a"}, []string{"a"}, false},
		{"many", many, many, true},
		{"many repeated", manyRepeated, many, false},
		{"many, repeat first", append([]string{"z", "z"}, many...), append([]string{"z"}, many...), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.in)
			got := hub.DistinctTopics(in)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			if !slices.Equal(in, tt.in) {
				t.Fatalf("the input changed to %q", in)
			}
			if shared := len(got) > 0 && &got[0] == &in[0]; shared != tt.shared && len(got) > 0 {
				t.Fatalf("input returned as is: %v, want %v", shared, tt.shared)
			}
		})
	}
	few := []string{"https://example.com/a", "https://example.com/b", "https://example.com/c"}
	if n := testing.AllocsPerRun(100, func() { hub.DistinctTopics(few) }); n != 0 {
		t.Errorf("three distinct topics: %v allocations, want none", n)
	}
}
