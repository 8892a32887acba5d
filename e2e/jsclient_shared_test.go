package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// sharedPage is a page of the hub's origin whose start(topics) subscribes
// with the client's default, shared: true, noting the ids it gets.
const sharedPage = `<!doctype html>
<meta charset="utf-8">
<title>shared</title>
<script type="module">
import { Hub } from "/ssehub.js";
window.got = [];
window.statuses = [];
window.start = (topics) => new Hub().subscribe(topics, {
  onEvent: (ev) => got.push(ev.id),
  onStatus: (s) => statuses.push(s),
});
window.ready = true;
</script>
`

// sharedTab opens the page in a new tab of b and subscribes it to topics.
func sharedTab(t *testing.T, b *browser, base, name string, topics ...string) *tab {
	t.Helper()
	tb := b.tab(name)
	tb.do("open the page", chromedp.Navigate(base+"/shared/"))
	tb.waitFor("the module", `window.ready`)
	q, _ := json.Marshal(topics)
	tb.do("subscribe", chromedp.Evaluate[chromedp.Void](`void start(`+string(q)+`)`))
	tb.waitFor("the subscription to open", `statuses.includes("open")`)
	return tb
}

// hubStreams reads how many subscriptions the hub holds (/healthz).
func hubStreams(t *testing.T, base string) int {
	t.Helper()
	res, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var h struct{ Subscribers int }
	if err := json.NewDecoder(res.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	return h.Subscribers
}

// waitStreams waits until the hub holds n subscriptions.
func waitStreams(t *testing.T, base string, n int) {
	t.Helper()
	var got int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got = hubStreams(t, base); got == n {
			return
		}
	}
	t.Fatalf("the hub holds %d streams, want %d", got, n)
}

// publishN publishes n updates to topic and returns their ids, in order.
func publishN(t *testing.T, base, topic string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		res, err := http.PostForm(base+"/.well-known/mercure", url.Values{"topic": {topic}, "data": {fmt.Sprint(i)}})
		if err != nil {
			t.Error(err)
			return ids
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("publish: %d %s", res.StatusCode, b)
		}
		ids[i] = string(b)
	}
	return ids
}

// TestJSClientSharedTabs opens tabs of one origin over HTTP/1.1 with
// shared: true: six tabs subscribing alike hold one stream of the hub and
// each gets every update once, in order; closing the tab holding it in
// the middle of a burst loses and repeats nothing in the others; a seventh
// and an eighth tab (past HTTP/1.1's six connections a host) work. A tab
// with other topics has a stream of its own and gets only its updates.
func TestJSClientSharedTabs(t *testing.T) {
	srv := startServer(t, serverOptions{wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/shared/" {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				io.WriteString(w, sharedPage)
				return
			}
			h.ServeHTTP(w, r)
		})
	}})
	b := newBrowser(t)
	var tabs []*tab
	for i := range 6 {
		tabs = append(tabs, sharedTab(t, b, srv.URL, fmt.Sprint("tab", i+1), "room/{id}", "lobby"))
	}
	waitStreams(t, srv.URL, 1)
	other := sharedTab(t, b, srv.URL, "other", "elsewhere")
	waitStreams(t, srv.URL, 2)

	want := publishN(t, srv.URL, "room/1", 5)
	elsewhere := publishN(t, srv.URL, "elsewhere", 2)

	// The burst: the first tab holds the stream; it closes after 50 updates.
	burst := make(chan []string)
	half := make(chan struct{})
	go func() {
		ids := publishN(t, srv.URL, "lobby", 50)
		close(half)
		burst <- append(ids, publishN(t, srv.URL, "room/2", 250)...)
	}()
	<-half
	if err := chromedp.Cancel(tabs[0].ctx); err != nil {
		t.Fatalf("close the first tab: %v", err)
	}
	want = append(want, <-burst...)
	tabs = tabs[1:]
	for _, tb := range tabs {
		tb.waitFor("the burst", fmt.Sprintf(`got.length >= %d`, len(want)))
		// The tab taking over says "reconnecting", and the others with it.
		if s := eval[string](tb, `statuses.join()`); s != "connecting,open,reconnecting,open" {
			t.Errorf("tab %s: statuses %s", tb.name, s)
		}
	}
	tabs = append(tabs, sharedTab(t, b, srv.URL, "tab7", "room/{id}", "lobby"), sharedTab(t, b, srv.URL, "tab8", "lobby", "room/{id}"))
	waitStreams(t, srv.URL, 2)
	more := publishN(t, srv.URL, "lobby", 3)
	want = append(want, more...)
	for i, tb := range tabs {
		w := want
		if i >= 5 {
			w = more // the new tabs get what comes after them
		}
		tb.waitFor("the last updates", fmt.Sprintf(`got.length >= %d`, len(w)))
		if got := strings.Split(eval[string](tb, `got.join(" ")`), " "); !slices.Equal(got, w) {
			t.Errorf("tab %s got %d updates, want %d: %v", tb.name, len(got), len(w), diffIDs(got, w))
		}
	}
	other.waitFor("its updates", `got.length >= 2`)
	if got := strings.Split(eval[string](other, `got.join(" ")`), " "); !slices.Equal(got, elsewhere) {
		t.Errorf("tab other got %q, want %q", got, elsewhere)
	}
	if n := hubStreams(t, srv.URL); n != 2 {
		t.Errorf("the hub holds %d streams, want 2", n)
	}
}

// diffIDs describes where got first differs from want.
func diffIDs(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("at %d got %s, want %s", i, got[i], want[i])
		}
	}
	return fmt.Sprintf("same first %d", min(len(got), len(want)))
}
