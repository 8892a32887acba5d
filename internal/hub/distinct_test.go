package hub_test

import (
	"context"
	"errors"
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

// TestUpdateTopicsBound refuses an update naming more than
// MaxUpdateTopics topics, whoever publishes it, and delivers one naming
// that many to the subscribers of each.
func TestUpdateTopicsBound(t *testing.T) {
	forEachHistory(t, func(t *testing.T, hist hub.History) {
		h := newHub(t, hub.Config{History: hist})
		topics := numbered(hub.MaxUpdateTopics + 1)
		first := subscribe(t, h, hub.SubscribeOptions{Topics: topics[:1]})
		last := subscribe(t, h, hub.SubscribeOptions{Topics: topics[hub.MaxUpdateTopics-1 : hub.MaxUpdateTopics]})
		_, err := h.Publish(context.Background(), &hub.Update{Topics: topics})
		var herr *hub.Error
		if !errors.As(err, &herr) || herr.Code != hub.CodeInvalid || herr.Field != "topic" {
			t.Fatalf("publish %d topics: err %v, want invalid topic", len(topics), err)
		}
		_, err = h.PublishBatch(context.Background(), []*hub.Update{{Topics: topics[:1]}, {Topics: topics}})
		if !errors.As(err, &herr) || herr.Code != hub.CodeInvalid || herr.Field != "[1].topic" {
			t.Fatalf("batch with %d topics in its second: err %v, want invalid [1].topic", len(topics), err)
		}
		id := publish(t, h, &hub.Update{Topics: topics[:hub.MaxUpdateTopics], Data: "all"})
		for _, s := range []*hub.Subscriber{first, last} {
			if got := receive(t, s, 1); got[0].ID != id {
				t.Fatalf("got %s, want %s", got[0].ID, id)
			}
		}
		if st := h.Stats(); st.Published != 1 {
			t.Fatalf("published %d updates, want 1", st.Published)
		}
	})
}
