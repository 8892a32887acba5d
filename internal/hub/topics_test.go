package hub_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/ssehub/ssehub/internal/history"
	"github.com/ssehub/ssehub/internal/hub"
)

func TestTopTopics(t *testing.T) {
	h := newHub(t, hub.Config{})
	for topic, n := range map[string]int{"a": 3, "b": 1, "c": 2, "d": 2} {
		for range n {
			subscribe(t, h, hub.SubscribeOptions{Topics: []string{topic}})
		}
	}
	subscribe(t, h, hub.SubscribeOptions{Topics: []string{"*"}})
	subscribe(t, h, hub.SubscribeOptions{Topics: []string{"*", "https://ex.com/{id}", "a"}})
	// Counts: a 4, * 2, c 2, d 2, b 1, https://ex.com/{id} 1: 12 in all.
	tests := []struct {
		n     int
		want  string
		other int
	}{
		{0, "", 12},
		{1, "a=4", 8},
		{3, "a=4 *=2 c=2", 4},
		{10, "a=4 *=2 c=2 d=2 b=1 https://ex.com/{id}=1", 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.n), func(t *testing.T) {
			got := h.TopTopics(tt.n)
			s := ""
			for i, tc := range got.Top {
				if i > 0 {
					s += " "
				}
				s += fmt.Sprintf("%s=%d", tc.Topic, tc.Subscribers)
			}
			if s != tt.want || got.Other != tt.other || got.Topics != 6 {
				t.Fatalf("TopTopics(%d) = %q other %d topics %d, want %q other %d topics 6", tt.n, s, got.Other, got.Topics, tt.want, tt.other)
			}
		})
	}
	if n := h.Listeners("a"); n != 4 {
		t.Errorf("Listeners(a) = %d, want 4", n)
	}
	if n := h.Listeners("nobody"); n != 0 {
		t.Errorf("Listeners(nobody) = %d, want 0", n)
	}
}

// TestInternalUpdates: the hub's own updates on reserved topics reach only
// subscriptions naming the topic, are not stored or counted as published,
// and do not become the last id; others may not publish there.
func TestInternalUpdates(t *testing.T) {
	mem := history.NewMemory(history.MemoryConfig{})
	h := newHub(t, hub.Config{History: mem})
	exact := subscribe(t, h, hub.SubscribeOptions{Topics: []string{"$ssehub/stats"}})
	wild := subscribe(t, h, hub.SubscribeOptions{Topics: []string{"*"}})
	tmpl := subscribe(t, h, hub.SubscribeOptions{Topics: []string{"$ssehub/{name}"}})
	user := publish(t, h, &hub.Update{Topics: []string{"news"}, Data: "user"})
	publish(t, h, &hub.Update{Topics: []string{"$ssehub/stats"}, Data: "internal", Internal: true})
	end := publish(t, h, &hub.Update{Topics: []string{"news"}, Data: "end"})

	if got := receive(t, exact, 1); got[0].Data != "internal" {
		t.Errorf("exact subscriber got %q", got[0].Data)
	}
	if got := receive(t, wild, 2); got[0].ID != user || got[1].ID != end {
		t.Errorf("wildcard subscriber got %q, want only the two user updates", ids(got))
	}
	if extra := tmpl.Drain(nil); len(extra) != 0 {
		t.Errorf("template subscriber got %d updates of a reserved topic", len(extra))
	}
	if n := mem.Len("$ssehub/stats"); n != 0 {
		t.Errorf("history kept %d internal updates", n)
	}
	st := h.Stats()
	if st.Published != 2 || st.Internal != 1 || st.LastID != end {
		t.Errorf("stats %+v, want 2 published, 1 internal, last id %s", st, end)
	}

	for _, u := range []*hub.Update{
		{Topics: []string{"$ssehub/stats"}, Data: "forged"},
		{Topics: []string{"news", "$ssehub/stats"}, Data: "alternate"},
		{Topics: []string{"news"}, Data: "not reserved", Internal: true},
	} {
		_, err := h.Publish(context.Background(), u)
		var herr *hub.Error
		if !errors.As(err, &herr) || herr.Code != hub.CodeInvalid || herr.Field != "topic" || !errors.Is(err, hub.ErrReserved) {
			t.Errorf("publish %v (internal %v): err %v, want an invalid topic naming the reserved prefix", u.Topics, u.Internal, err)
		}
	}
}

func TestClosing(t *testing.T) {
	h := newHub(t, hub.Config{})
	if h.Closing() {
		t.Fatal("a new hub is closing")
	}
	h.EndSubscriptions()
	if !h.Closing() {
		t.Fatal("not closing after EndSubscriptions")
	}
}
