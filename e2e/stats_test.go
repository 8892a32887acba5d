package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ssehub/ssehub/internal/app"
)

// openStreams opens n event streams on topic from Go and reads them in the
// background until the test ends.
func openStreams(t *testing.T, srv *httptest.Server, topic string, n int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	for range n {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/events?topic="+url.QueryEscape(topic), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatalf("subscribe to %s: %v", topic, err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			t.Fatalf("subscribe to %s: status %d", topic, resp.StatusCode)
		}
		wg.Go(func() {
			defer resp.Body.Close()
			_, _ = io.Copy(io.Discard, resp.Body)
		})
	}
}

// publishLoop publishes to topic every few milliseconds until the returned
// function is called, which waits for the loop and reports its first error.
func publishLoop(srv *httptest.Server, topic string) (stop func() error) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	errc := make(chan error, 1)
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				errc <- nil
				return
			case <-tick.C:
			}
			form := url.Values{"topic": {topic}, "data": {fmt.Sprint("tick ", i)}}
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/publish", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := srv.Client().Do(req)
			if err != nil {
				if ctx.Err() == nil {
					errc <- err
				} else {
					errc <- nil
				}
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				errc <- fmt.Errorf("publish %d: status %d", i, resp.StatusCode)
				return
			}
		}
	}()
	return func() error {
		cancel()
		return <-errc
	}
}

// TestStatsPage opens the live stats page, which subscribes to the hub's
// own stats feed, and checks that its figures, topics table and plots
// follow what happens: streams opened from Go raise the connections, and
// events published from Go in a loop give the events-in and events-out
// series non-zero points. With SSEHUB_STATS_SCREENSHOT=path it saves a PNG
// of the page.
func TestStatsPage(t *testing.T) {
	srv := startServer(t, serverOptions{configure: func(c *app.Config) {
		c.LLMMaxLateness = time.Second
		// Webhooks to an application that is down: the page shows them failing.
		c.Webhook.URL, c.Webhook.Secret = "http://127.0.0.1:1/webhook", "stats-page-webhook-secret-0123456789"
	}})
	b := newBrowser(t)
	tb := b.tab("stats")
	tb.do("open the stats page", chromedp.Navigate(srv.URL+"/stats.html"), chromedp.WaitVisible(chromedp.ID("figConnections")))
	tb.waitFor("the feed to be live", `document.getElementById('feedState').dataset.feed === 'live'
		&& window.ssehubStats.cols.t.length > 0`)
	tb.waitFor("the page's own connection", `document.getElementById('figConnections').textContent === '1'`)
	tb.waitFor("no generation running, of the admission limit", `document.getElementById('figLLM').textContent === '0 / 256'`)
	tb.waitFor("the webhooks failing, the page's own start queued", `document.getElementById('figWebhooks').dataset.failing === 'yes'
		&& document.getElementById('figWebhooks').textContent.endsWith('发送失败')`)
	if got := eval[string](tb, `document.title`); got != "ssehub 实时统计" {
		t.Errorf("title %q, want the Chinese one by default", got)
	}

	topic := unique("stats")
	openStreams(t, srv, topic, 2)
	tb.waitFor("three connections", `document.getElementById('figConnections').textContent === '3'
		&& window.ssehubStats.plots.connections.data[1].includes(3)`)
	row := `document.querySelector('#topicRows tr[data-topic=` + jsString(topic) + `]')`
	tb.waitFor("the topic's row", row+` !== null && `+row+`.cells[1].textContent === '2'`)

	stop := publishLoop(srv, topic)
	tb.waitFor("a non-zero events-in point", `window.ssehubStats.plots.rates.data[1].some((v) => v > 0)
		&& document.getElementById('figIn').textContent !== '0'`)
	tb.waitFor("a non-zero events-out point", `window.ssehubStats.plots.rates.data[2].some((v) => v > 0)`)
	if err := stop(); err != nil {
		t.Fatalf("publishing: %v", err)
	}
	// Two subscribers get every event: out is about twice in. The point
	// with the most events in (the loop's rate) must show it.
	ratio := eval[float64](tb, `(() => {
		const [, ins, outs] = window.ssehubStats.plots.rates.data;
		let best = 0;
		ins.forEach((v, i) => { if (v > ins[best]) best = i; });
		return outs[best] / ins[best];
	})()`)
	if ratio < 1.5 || ratio > 2.5 {
		t.Errorf("events out / events in = %.2f at the busiest second, want about 2 (two subscribers)", ratio)
	}

	tb.do("switch to English", chromedp.Click(chromedp.ID("langSwitch")))
	tb.waitFor("the English page with its plots rebuilt", `document.title === 'ssehub live stats'
		&& window.ssehubStats.plots.rates.series[1].label === 'In'
		&& window.ssehubStats.plots.rates.data[1].some((v) => v > 0)
		&& document.getElementById('figWebhooks').textContent.endsWith('failing')`)
	saveStatsScreenshot(t, tb)
}

// saveStatsScreenshot writes a full-page PNG of the stats page to
// SSEHUB_STATS_SCREENSHOT, if set (relative to the repository root).
func saveStatsScreenshot(t *testing.T, tb *tab) {
	out := os.Getenv("SSEHUB_STATS_SCREENSHOT")
	if out == "" {
		return
	}
	if !filepath.IsAbs(out) {
		out = filepath.Join(repoRoot(t), out)
	}
	png, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", out, len(png))
}

// TestStatsPageDenied opens the stats page of a hub with a JWT key and no
// anonymous subscribers: the page has no token, the hub refuses its
// subscription (401), and the page says so rather than trying again at once.
func TestStatsPageDenied(t *testing.T) {
	srv := startServer(t, serverOptions{configure: func(c *app.Config) {
		c.JWTKey = "a-test-secret-that-is-at-least-32-bytes-long"
		c.AnonymousSubscribe = false
	}})
	b := newBrowser(t)
	tb := b.tab("stats")
	tb.do("open the stats page", chromedp.Navigate(srv.URL+"/stats.html"), chromedp.WaitVisible(chromedp.ID("figConnections")))
	tb.waitFor("the feed to be refused", `document.getElementById('feedState').dataset.feed === 'denied'`)
}
