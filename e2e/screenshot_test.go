package e2e

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ssehub/ssehub/internal/app"
)

// TestConsoleScreenshot saves a full-page PNG of the console with a finished
// answer of the model in its chat and a few events of each type in its log,
// to SSEHUB_SCREENSHOT (relative to the repository root unless absolute), e.g.
//
//	SSEHUB_SCREENSHOT=docs/console.png go test ./e2e -run Screenshot -count=1
func TestConsoleScreenshot(t *testing.T) {
	out := os.Getenv("SSEHUB_SCREENSHOT")
	if out == "" {
		t.Skip("set SSEHUB_SCREENSHOT to a path to save a screenshot of the console")
	}
	if !filepath.IsAbs(out) {
		out = filepath.Join(repoRoot(t), out)
	}
	srv := startServer(t, serverOptions{configure: func(c *app.Config) {
		c.SimTTFT, c.SimTokensPerSec = 10*time.Millisecond, 1e6
	}})
	b := newBrowser(t)
	tb := b.tab("console")
	tb.do("set the viewport", chromedp.EmulateViewport(1200, 900))
	tb.openConsole(srv)
	tb.connect()
	events := []struct{ eventType, message string }{
		{"message", "你好，ssehub！"},
		{"notification", "部署完成：v1.2.0 已上线"},
		{"update", "订单 #1024 已发货"},
		{"alert", "CPU 使用率超过 90%"},
		{"message", "第二条普通消息"},
		{"notification", "今晚 22:00 例行维护"},
		{"update", "库存已同步"},
		{"alert", "磁盘空间不足 10%"},
	}
	for _, e := range events {
		tb.send(e.eventType, e.message)
		tb.waitEvent(e.eventType, e.message)
	}
	tb.waitFor("the model list", `document.getElementById('chatModel').value === 'ssehub-sim'`)
	tb.ask("如何用 Go 写一个 SSE 服务？")
	tb.waitAnswer("the answer done", `a.state === 'done'`)
	tb.waitFor("Send to be shown enabled", `getComputedStyle(document.getElementById('chatSend')).opacity === '1'`)
	tb.do("tidy the form", chromedp.Evaluate[chromedp.Void](
		`document.getElementById('customMessage').value = ''; document.activeElement.blur();
		const log = document.getElementById('chatLog'); log.scrollTop = 0`))
	png, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", out, len(png))
}
