package e2e

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// jsclientPage is a page of the hub's origin that imports the client the
// hub serves, with no build step, and subscribes.
const jsclientPage = `<!doctype html>
<meta charset="utf-8">
<title>@ssehub/client</title>
<p id="state">loading</p>
<script type="module">
import { Hub } from "/ssehub.js";
window.got = [];
window.statuses = [];
window.hub = new Hub();
hub.subscribe(["browser/{id}"], {
  onEvent: (ev) => got.push({ id: ev.id, type: ev.type, data: ev.json() }),
  onStatus: (s) => { statuses.push(s); document.getElementById("state").textContent = s; },
});
</script>
`

// TestJSClientBrowser loads a page that does import { Hub } from
// "/ssehub.js" in Chromium: it subscribes, receives an update published
// to the hub, and publishes one itself.
func TestJSClientBrowser(t *testing.T) {
	srv := startServer(t, serverOptions{wrap: withPage("/jsclient/", jsclientPage)})
	tb := newBrowser(t).tab("jsclient")
	tb.do("open the page", chromedp.Navigate(srv.URL+"/jsclient/"))
	tb.waitFor("the subscription to open", `window.statuses && statuses.includes("open")`)

	res, err := http.PostForm(srv.URL+"/.well-known/mercure", url.Values{"topic": {"browser/1"}, "type": {"note"}, "data": {`{"hello":"tab"}`}})
	if err != nil {
		t.Fatal(err)
	}
	id, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("publish: %d %s", res.StatusCode, id)
	}
	tb.waitFor("the update", `got.length === 1`)
	if got := eval[string](tb, `JSON.stringify(got[0])`); got != `{"id":"`+string(id)+`","type":"note","data":{"hello":"tab"}}` {
		t.Errorf("page got %s", got)
	}

	tb.do("publish from the page", chromedp.Evaluate[chromedp.Void](
		`hub.publish({ topic: "browser/2", data: "\"from the page\"" }).then((id) => { window.pubID = id; })`))
	tb.waitFor("its own update and its id", `got.length === 2 && window.pubID`)
	if got := eval[string](tb, `got[1].id === window.pubID ? got[1].data : "ids differ: " + JSON.stringify([got, window.pubID])`); got != "from the page" {
		t.Errorf("page's own publish came back as %q", got)
	}
	if s := eval[string](tb, `statuses.join(",")`); !strings.HasPrefix(s, "connecting,open") {
		t.Errorf("statuses %s", s)
	}
}
