package hub_test

import (
	"strings"
	"testing"

	"github.com/ssehub/ssehub/internal/hub"
)

// TestTagSelectors: a tagging subscription gets each update with a line
// naming the selectors it matched, live and replayed, Topics before
// Matchers; another subscription of the same updates gets them as they
// are; the hub forgets the selectors when the subscription ends.
func TestTagSelectors(t *testing.T) {
	h := newHub(t, hub.Config{})
	publish(t, h, &hub.Update{Topics: []string{"books/1"}, Data: "replayed"})
	tags := subscribe(t, h, hub.SubscribeOptions{Topics: []string{"chat", "books/{id}", "*"}, LastEventID: hub.Earliest, TagSelectors: true})
	plain := subscribe(t, h, hub.SubscribeOptions{Topics: []string{"chat", "books/{id}"}, LastEventID: hub.Earliest})
	publish(t, h, &hub.Update{Topics: []string{"chat"}, Data: "one"})
	publish(t, h, &hub.Update{Topics: []string{"elsewhere", "books/2"}, Data: "two\nlines", Type: "t"})
	want := []string{"selectors: 1 2\n\n", "selectors: 0 2\n\n", "selectors: 1 2\n\n"}
	for i, u := range receive(t, tags, 3) {
		if w := string(u.Wire()); !strings.HasSuffix(w, "\n"+want[i]) || strings.Count(w, "selectors:") != 1 {
			t.Errorf("update %d: %q, want it to end with %q", i, w, want[i])
		}
	}
	for _, u := range receive(t, plain, 3) {
		if strings.Contains(string(u.Wire()), "selectors:") {
			t.Errorf("an untagged subscription got %q", u.Wire())
		}
	}
	if n := h.Taggers(); n != 1 {
		t.Errorf("%d taggers, want 1", n)
	}
	tags.Close()
	if n := h.Taggers(); n != 0 {
		t.Errorf("%d taggers after Close, want 0", n)
	}
}
