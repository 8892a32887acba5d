package e2e

import (
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/chromedp/chromedp"
)

// logLinesJS counts the seed page's log lines whose text matches the
// JavaScript regular expression re.
func logLinesJS(re string) string {
	return `[...document.querySelectorAll('#eventLog .event-item')].filter((e) => ` + re + `.test(e.textContent)).length`
}

// TestSeedPage runs the seed's original demo page, unchanged, against
// ssehub's seed endpoints: the page's ticker stream and its publish form.
func TestSeedPage(t *testing.T) {
	page := seedPage(t)
	srv := startServer(t, serverOptions{wrap: func(h http.Handler) http.Handler {
		mux := http.NewServeMux()
		mux.HandleFunc("GET /seed.html", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = io.WriteString(w, page)
		})
		mux.Handle("/", h)
		return mux
	}})
	b := newBrowser(t)
	tb := b.tab("seed")
	// The page links Bootstrap from a CDN; offline that fails, unstyled is fine.
	tb.do("open the seed page", chromedp.Navigate(srv.URL+"/seed.html"), chromedp.WaitVisible(chromedp.ID("connectBtn")))
	tb.do("click 连接", chromedp.Click(chromedp.ID("connectBtn")))
	tb.waitFor("the first notification", logLinesJS(`/^\[.*\] 通知: 系统通知 #0 \(优先级: medium\)$/`)+` === 1`)
	tb.waitFor("two ticks", logLinesJS(`/(消息|通知): /`)+` >= 2`)

	msg := unique("seed-alert")
	res, err := http.PostForm(srv.URL+"/gbi/sse/receive", url.Values{"eventType": {"alert"}, "message": {msg}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("POST /gbi/sse/receive = %d: %s", res.StatusCode, body)
	}
	tb.waitFor("the alert", `[...document.querySelectorAll('#eventLog .event-item')].some((e) => e.textContent.includes(`+
		jsString("警报: "+msg+" (级别: warning)")+`))`)
}
