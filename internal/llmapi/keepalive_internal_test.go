package llmapi

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestKeepAlive: a stream silent longer than the interval gets a comment,
// but only once its head is written (before it, the handler may still
// answer an error); writes put the comment off, and stop ends it.
func TestKeepAlive(t *testing.T) {
	const every = 30 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k := startKeepAlive(w, every)
		defer k.stop()
		time.Sleep(3 * every) // not begun: no comment may be written
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		k.begin()
		for range 5 { // busy: no comment between the events
			time.Sleep(every / 3)
			_, _ = k.Write([]byte("data: busy\n\n"))
		}
		time.Sleep(4 * every) // silent: comments
		_, _ = k.Write([]byte("data: end\n\n"))
	}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var lines []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if sc.Text() != "" {
			lines = append(lines, sc.Text())
		}
	}
	got := strings.Join(lines, "|")
	if !strings.HasPrefix(got, "data: busy|data: busy|data: busy|data: busy|data: busy|:") || !strings.HasSuffix(got, ":|data: end") {
		t.Fatalf("stream %q: want 5 events, comments, then the end", got)
	}
	if n := strings.Count(got, ":|"); n < 2 || n > 5 {
		t.Errorf("%d comments in 4 intervals of silence", n)
	}
}
