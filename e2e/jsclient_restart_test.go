package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/auth/authtest"
)

// TestJSClientSharedTabsHubRestart: three tabs with topics of their own
// share one stream of the real binary, behind a proxy that keeps their
// origin while the hub restarts on its durable history. Every tab gets
// the updates published before the restart and after it (some before the
// tabs are back), each exactly once, in order, with no gap reported.
func TestJSClientSharedTabsHubRestart(t *testing.T) {
	addr, data := freeAddr(t), t.TempDir()
	args := []string{"-data-dir", data, "-retry", "200", "-reconnect-spread", "300ms"}
	hub := startBinaryOn(t, addr, nil, args...)
	front := httptest.NewServer(withSharedPage(&httputil.ReverseProxy{
		Rewrite:       func(r *httputil.ProxyRequest) { r.SetURL(&url.URL{Scheme: "http", Host: addr}) },
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			http.Error(w, err.Error(), http.StatusBadGateway)
		},
	}))
	t.Cleanup(front.Close)
	b := newBrowser(t)
	log := &published{}
	tabs := []*sharedTabSpec{
		{name: "a", topics: []string{"orders/{id}"}},
		{name: "b", topics: []string{"alerts"}},
		{name: "c", topics: []string{"alerts", "orders/1"}},
	}
	for _, s := range tabs {
		s.tab = sharedTab(t, b, front.URL+"/shared/", s.name, s.topics...)
	}
	waitStreams(t, hub.base, 1)
	log.add(t, hub.base, "orders/1", 3)
	log.add(t, hub.base, "alerts", 3)
	checkTabs(t, log, tabs)

	if err := hub.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = hub.cmd.Wait()
	for _, s := range tabs {
		s.tab.waitFor("the stream to drop", `statuses.at(-1) === "reconnecting"`)
	}
	hub = startBinaryOn(t, addr, nil, args...)
	log.add(t, hub.base, "orders/2", 4) // before the tabs are back: replayed to them
	log.add(t, hub.base, "alerts", 2)
	waitStreams(t, hub.base, 1)
	log.add(t, hub.base, "orders/1", 2)
	checkTabs(t, log, tabs)
	for _, s := range tabs {
		if st := eval[string](s.tab, `statuses.join()`); !strings.HasSuffix(st, "reconnecting,open") {
			t.Errorf("tab %s: statuses %s", s.name, st)
		}
		if gaps := eval[string](s.tab, `JSON.stringify(gaps)`); gaps != "[]" {
			t.Errorf("tab %s was told of a gap: %s", s.name, gaps)
		}
	}
}

// genPage starts a generation, or resumes the one sessionStorage names
// after a reload, showing the text as it comes.
const genPage = `<!doctype html>
<meta charset="utf-8">
<title>generate</title>
<pre id="out"></pre>
<script type="module">
import { Hub } from "/ssehub.js";
const hub = new Hub();
const out = document.getElementById("out");
window.chunks = [];
const id = sessionStorage.getItem("generation");
const gen = id ? hub.resumeGeneration(id) : hub.generate(
  { messages: [{ role: "user", content: "Tell me about the sea" }], max_tokens: 60 },
  { onStart: (id) => sessionStorage.setItem("generation", id) },
);
window.resumed = !!id;
for await (const chunk of gen) { chunks.push(chunk); out.textContent += chunk; }
window.finished = { id: gen.id, reason: gen.reason, text: gen.text };
</script>
`

// TestJSClientGenerateReload: a page streams an answer with the client,
// is reloaded in the middle of it, and resumes it from the id it kept:
// the text shown is the whole answer, once, as the hub stored it.
func TestJSClientGenerateReload(t *testing.T) {
	srv := startServer(t, serverOptions{
		configure: func(c *app.Config) { c.SimTokensPerSec, c.SimTTFT = 20, 20*time.Millisecond },
		wrap:      withPage("/gen/", genPage),
	})
	tb := newBrowser(t).tab("gen")
	tb.do("open the page", chromedp.Navigate(srv.URL+"/gen/"))
	tb.waitFor("a few chunks", `window.chunks && chunks.length >= 5`)
	id := eval[string](tb, `sessionStorage.getItem("generation")`)
	tb.do("reload", chromedp.Reload())
	tb.waitFor("the resumed answer", `window.finished !== undefined`)
	if !eval[bool](tb, `resumed`) {
		t.Fatal("the reloaded page did not resume")
	}
	var snap struct{ Status, Text string }
	getJSON(t, srv.URL+"/llm/generations/"+id, &snap)
	shown := eval[string](tb, `document.getElementById("out").textContent`)
	if snap.Status != "done" || shown != snap.Text || eval[string](tb, `finished.text`) != snap.Text {
		t.Errorf("after the reload the page shows %q; the hub's answer is %q (%s)", shown, snap.Text, snap.Status)
	}
	if n := eval[int](tb, `chunks.length`); n < 2 {
		t.Errorf("resumed in %d chunks, want the text so far and then the rest", n)
	}
}

// TestJSClientPrivateToken: tabs whose Hub has a token (sent in the
// Authorization header: a fetch stream, not EventSource) share one stream
// and get the private updates their token allows, each of its own
// selectors; a tab without a token has a stream of its own and gets the
// public ones only. With the SharedWorker the token comes from a token
// function of the tabs, which the worker asks for it; with a leading tab,
// a string.
func TestJSClientPrivateToken(t *testing.T) {
	t.Run("worker, token function", func(t *testing.T) { testPrivateToken(t, "", "tokenFn") })
	t.Run("leading tab, token", func(t *testing.T) { testPrivateToken(t, "?worker=0", "token") })
}

func testPrivateToken(t *testing.T, query, option string) {
	keys := authtest.NewKeys(t)
	srv := startServer(t, serverOptions{
		configure: func(c *app.Config) { c.JWTKey = string(keys.Secret) },
		wrap:      withSharedPage,
	})
	sub := keys.HS256(t, authtest.Claims(nil, []string{"inbox/alice", "team"}, time.Now().Add(time.Hour)))
	pub := keys.HS256(t, authtest.Claims([]string{"*"}, nil, time.Now().Add(time.Hour)))
	b := newBrowser(t)
	page := srv.URL + "/shared/" + query
	withToken := map[string]any{option: sub}
	alice := sharedTabWith(t, b, page, "alice", withToken, "inbox/{user}")
	team := sharedTabWith(t, b, page, "team", withToken, "team", "inbox/alice")
	waitStreams(t, srv.URL, 1)
	anon := sharedTabWith(t, b, page, "anonymous", nil, "inbox/alice", "team")
	waitStreams(t, srv.URL, 2)

	post := func(topic, data string, private bool) string {
		form := url.Values{"topic": {topic}, "data": {data}}
		if private {
			form.Set("private", "on")
		}
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/.well-known/mercure", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+pub)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		id, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("publish: %d %s", res.StatusCode, id)
		}
		return string(id)
	}
	p1 := post("inbox/alice", "secret", true)
	p2 := post("inbox/bob", "not hers", true)
	p3 := post("team", "team secret", true)
	p4 := post("team", "public", false)
	for _, c := range []struct {
		tab  *tab
		want []string
	}{{alice, []string{p1}}, {team, []string{p1, p3, p4}}, {anon, []string{p4}}} {
		c.tab.waitFor("its updates", fmt.Sprintf(`got.length >= %d`, len(c.want)))
		time.Sleep(50 * time.Millisecond)
		if got := strings.Fields(eval[string](c.tab, `got.join(" ")`)); !slices.Equal(got, c.want) {
			t.Errorf("tab %s got %v, want %v (bob's private %s)", c.tab.name, got, c.want, p2)
		}
	}
}
