package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ssehub/ssehub/internal/topic"
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
window.gaps = [];
window.hub = new Hub({ worker: location.search.includes("worker=0") ? false : undefined });
window.debugState = () => JSON.stringify([...hub.groups.values()].map((g) =>
  ({ lead: !!g.release, state: g.state, union: g.union, all: [...g.all.values()], lastID: g.lastID, statuses })));
// hubOpts.tokenFn becomes a token function giving it.
const hubOf = (o) => (window.lastHub = o ? new Hub(o.tokenFn ? { ...o, token: async () => o.tokenFn } : o) : hub);
window.start = (topics, hubOpts) => hubOf(hubOpts).subscribe(topics, {
  onEvent: (ev) => got.push(ev.id),
  onStatus: (s) => statuses.push(s),
  onGap: (g) => gaps.push(g),
});
window.ready = true;
</script>
`

// sharedTab opens the shared page at page (base + "/shared/", with
// "?worker=0" for a leading tab rather than a SharedWorker) in a new tab
// of b and subscribes it to topics.
func sharedTab(t testing.TB, b *browser, page, name string, topics ...string) *tab {
	t.Helper()
	return sharedTabWith(t, b, page, name, nil, topics...)
}

// sharedTabWith is sharedTab with a Hub of these options (nil: the page's).
func sharedTabWith(t testing.TB, b *browser, page, name string, hubOpts map[string]any, topics ...string) *tab {
	t.Helper()
	tb := b.tab(name)
	tb.do("open the page", chromedp.Navigate(page))
	tb.waitFor("the module", `window.ready`)
	q, _ := json.Marshal(topics)
	o, _ := json.Marshal(hubOpts)
	tb.do("subscribe", chromedp.Evaluate[chromedp.Void](`void start(`+string(q)+`, `+string(o)+`)`))
	tb.waitFor("the subscription to open", `statuses.includes("open")`)
	return tb
}

// hubStreams reads how many subscriptions the hub holds (/healthz).
func hubStreams(t testing.TB, base string) int {
	t.Helper()
	return hubStreamsVia(t, http.DefaultClient, base)
}

// hubStreamsVia is hubStreams with that client (of a TLS server).
func hubStreamsVia(t testing.TB, c *http.Client, base string) int {
	t.Helper()
	var h struct{ Subscribers int }
	getJSONVia(t, c, base+"/healthz", &h)
	return h.Subscribers
}

// getJSON decodes the JSON body of a GET of u into v.
func getJSON(t testing.TB, u string, v any) {
	t.Helper()
	getJSONVia(t, http.DefaultClient, u, v)
}

// getJSONVia is getJSON with that client.
func getJSONVia(t testing.TB, c *http.Client, u string, v any) {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %d: %v", u, res.StatusCode, err)
	}
}

// waitStreams waits until the hub holds n subscriptions.
func waitStreams(t testing.TB, base string, n int) {
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
func publishN(t testing.TB, base, topic string, n int) []string {
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

// published is the log of what a test published, in order.
type published struct {
	mu     sync.Mutex
	topics []string
	ids    []string
}

// add publishes n updates to topic and logs them.
func (p *published) add(t *testing.T, base, topic string, n int) {
	t.Helper()
	ids := publishN(t, base, topic, n)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, id := range ids {
		p.topics, p.ids = append(p.topics, topic), append(p.ids, id)
	}
}

// mark returns how many updates are logged so far.
func (p *published) mark() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.ids)
}

// want returns the ids of the updates from the from-th on that one of the
// selectors matches, in order.
func (p *published) want(t *testing.T, from int, selectors []string) []string {
	t.Helper()
	sels, err := topic.CompileAll(selectors)
	if err != nil {
		t.Fatal(err)
	}
	set := topic.NewSet(sels)
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for i := from; i < len(p.ids); i++ {
		if set.MatchAny([]string{p.topics[i]}) {
			out = append(out, p.ids[i])
		}
	}
	return out
}

// sharedTabSpec is a tab of a shared-stream test and its selectors.
type sharedTabSpec struct {
	name   string
	topics []string
	tab    *tab
	from   int // the updates it gets start there
}

// checkTabs fails unless every tab got exactly its updates, in order.
func checkTabs(t *testing.T, log *published, tabs []*sharedTabSpec) {
	t.Helper()
	for _, s := range tabs {
		w := log.want(t, s.from, s.topics)
		s.tab.waitFor("its updates", fmt.Sprintf(`got.length >= %d`, len(w)))
		time.Sleep(50 * time.Millisecond) // one more would be a duplicate
		if got := strings.Fields(eval[string](s.tab, `got.join(" ")`)); !slices.Equal(got, w) {
			t.Errorf("tab %s %v got %d updates, want %d: %v", s.name, s.topics, len(got), len(w), diffIDs(got, w))
		}
	}
}

// sharedServer serves the hub with the shared page at /shared/.
func sharedServer(t *testing.T) *httptest.Server {
	return startServer(t, serverOptions{wrap: withSharedPage})
}

// withSharedPage serves sharedPage at /shared/ in front of h.
var withSharedPage = withPage("/shared/", sharedPage)

// withPage serves the HTML page at path in front of a handler.
func withPage(path, page string) func(http.Handler) http.Handler {
	return withFile(path, "text/html; charset=utf-8", page)
}

// withFile serves body, of contentType, at path in front of a handler.
func withFile(path, contentType, body string) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == path {
				w.Header().Set("Content-Type", contentType)
				io.WriteString(w, body)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
}

// TestJSClientSharedTabs opens tabs of one origin over HTTP/1.1 with
// shared: true, each with selectors of its own, led by the SharedWorker
// and by a tab: the hub holds one stream, of their union, and every tab
// gets exactly the updates of its selectors, once, in order. Closing the
// first tab (the leading one, without the worker) in the middle of a
// burst loses and repeats nothing in the others; a seventh and an eighth
// tab (past HTTP/1.1's six connections a host), one with a new topic,
// join the same stream.
func TestJSClientSharedTabs(t *testing.T) {
	t.Run("worker", func(t *testing.T) { testSharedTabs(t, true) })
	t.Run("leading tab", func(t *testing.T) { testSharedTabs(t, false) })
}

func testSharedTabs(t *testing.T, worker bool) {
	srv := sharedServer(t)
	page := srv.URL + "/shared/"
	statuses := "connecting,open" // the worker's stream goes on
	if !worker {
		page += "?worker=0"
		statuses += ",reconnecting,open" // the tab taking over says so, and the others with it
	}
	b := newBrowser(t)
	log := &published{}
	tabs := []*sharedTabSpec{
		{name: "tab1", topics: []string{"lobby", "room/{id}"}},
		{name: "tab2", topics: []string{"lobby"}},
		{name: "tab3", topics: []string{"room/{id}"}},
		{name: "tab4", topics: []string{"news"}},
		{name: "tab5", topics: []string{"news", "lobby"}},
		{name: "tab6", topics: []string{"room/1"}},
	}
	for _, s := range tabs {
		s.tab = sharedTab(t, b, page, s.name, s.topics...)
	}
	waitStreams(t, srv.URL, 1)
	if led := eval[bool](tabs[1].tab, `[...hub.groups.values()][0].port !== undefined`); led != worker {
		t.Fatalf("led by a SharedWorker: %v, want %v", led, worker)
	}
	log.add(t, srv.URL, "room/1", 5)
	log.add(t, srv.URL, "news", 2)
	log.add(t, srv.URL, "lobby", 2)

	// The burst: the first tab holds the stream; it closes after 50 updates.
	half := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		log.add(t, srv.URL, "lobby", 50)
		close(half)
		log.add(t, srv.URL, "room/2", 150)
		log.add(t, srv.URL, "news", 100)
	}()
	<-half
	if err := chromedp.Cancel(tabs[0].tab.ctx); err != nil {
		t.Fatalf("close the first tab: %v", err)
	}
	<-done
	tabs = tabs[1:]
	checkTabs(t, log, tabs)
	for _, s := range tabs {
		if st := eval[string](s.tab, `statuses.join()`); st != statuses {
			t.Errorf("tab %s: statuses %s, want %s", s.name, st, statuses)
		}
	}

	from := log.mark()
	for _, s := range []*sharedTabSpec{{name: "tab7", topics: []string{"room/{id}", "lobby"}}, {name: "tab8", topics: []string{"extra", "lobby"}}} {
		s.tab, s.from = sharedTab(t, b, page, s.name, s.topics...), from
		tabs = append(tabs, s)
	}
	waitStreams(t, srv.URL, 1)
	log.add(t, srv.URL, "lobby", 3)
	log.add(t, srv.URL, "extra", 2)
	log.add(t, srv.URL, "room/3", 2)
	checkTabs(t, log, tabs)
	if n := hubStreams(t, srv.URL); n != 1 {
		t.Errorf("the hub holds %d streams, want 1", n)
	}
	if st := eval[string](tabs[0].tab, `statuses.join()`); st != statuses {
		t.Errorf("a new tab's topics changed the others' status: %s", st)
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

// TestJSClientWorkerFallback: a SharedWorker that cannot start (its
// script is missing) leaves the tabs to lead themselves: they still share
// one stream and get their updates.
func TestJSClientWorkerFallback(t *testing.T) {
	tabs := tabsLeadWithout(t, sharedServer(t), "/no-such-worker.js")
	if led := eval[bool](tabs[1].tab, `[...window.lastHub.groups.values()][0].port === undefined`); !led {
		t.Error("the tab still waits for the worker")
	}
}

// tabsLeadWithout opens two tabs of srv's shared page given the worker
// script at path, which fails them, and checks that they share one stream
// all the same and get every update of their topics once.
func tabsLeadWithout(t *testing.T, srv *httptest.Server, path string) []*sharedTabSpec {
	t.Helper()
	b := newBrowser(t)
	page := srv.URL + "/shared/"
	opts := map[string]any{"worker": path}
	tabs := []*sharedTabSpec{{name: "one", topics: []string{"a"}}, {name: "two", topics: []string{"b", "a"}}}
	for _, s := range tabs {
		s.tab = sharedTabWith(t, b, page, s.name, opts, s.topics...)
	}
	waitStreams(t, srv.URL, 1)
	log := &published{}
	log.add(t, srv.URL, "a", 3)
	log.add(t, srv.URL, "b", 2)
	checkTabs(t, log, tabs)
	return tabs
}

// TestJSClientSilentWorker: a worker script that loads but never answers
// (as when a browser attaches a tab to a worker that failed to load for
// another tab) is given up after the client's 5 s: the tabs lead
// themselves, one stream at the hub, every update once.
func TestJSClientSilentWorker(t *testing.T) {
	silent := withFile("/silent-worker.js", "text/javascript", "// a worker that takes every connection and answers none\n")
	srv := startServer(t, serverOptions{wrap: func(h http.Handler) http.Handler { return withSharedPage(silent(h)) }})
	tabsLeadWithout(t, srv, "/silent-worker.js")
}
