package httpapi_test

import (
	"bufio"
	"strings"
	"testing"
)

// TestTagSelectors: with tag=selectors every event of the stream, replayed
// or live, carries a "selectors:" line with the indices of the selectors
// it matched, topic= ones first, then the matchers.
func TestTagSelectors(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil)
	s.Publish(t, "/books/1", "replayed")
	st := s.OpenStream(t, "/.well-known/mercure?topic=chat&topic=*&match_urlpattern=/books/:id&tag=selectors&lastEventID=earliest", nil)
	s.Publish(t, "chat", "live")
	r := bufio.NewReader(st.Resp.Body)
	var tags []string
	for len(tags) < 2 {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read: %v (tags so far %q)", err, tags)
		}
		if v, ok := strings.CutPrefix(line, "selectors: "); ok {
			tags = append(tags, strings.TrimSuffix(v, "\n"))
		}
	}
	if tags[0] != "1 2" || tags[1] != "0 1" {
		t.Errorf("tags %q, want [\"1 2\" \"0 1\"]", tags)
	}
}
