package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

// testTimeout bounds every browser action of one test.
const testTimeout = 60 * time.Second

// browser is one headless Chromium for one test.
type browser struct {
	t   testing.TB
	ctx context.Context // the browser's first tab, with no deadline
}

// newBrowser starts Chromium with a fresh profile, and any extra options;
// it is closed when the test ends.
func newBrowser(t testing.TB, extra ...chromedp.ExecAllocatorOption) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Chromium is required under CI: %v", err)
		}
		t.Skipf("Chromium not installed: %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// Resolve no host name: the tests talk to 127.0.0.1 only, and a page
		// that links a CDN fails at once instead of waiting on the network.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	opts = append(opts, extra...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc() // waits for the browser process to exit
	})
	// The first run starts the browser; its life is bound to ctx, so it gets
	// no deadline here (see chromedp.Run).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return &browser{t: t, ctx: ctx}
}

// tab is one browser tab. Its actions share a deadline of testTimeout.
type tab struct {
	t    testing.TB
	name string
	ctx  context.Context

	mu       sync.Mutex
	problems []string // uncaught exceptions and security errors of its pages
}

// tab opens a new tab (with opts, e.g. chromedp.WithNewBrowserContext for
// cookies of its own); it is closed when the test ends. An uncaught
// exception or a security error (such as a Content-Security-Policy
// violation) in its pages fails the test; other errors and warnings are
// logged.
func (b *browser) tab(name string, opts ...chromedp.ContextOption) *tab {
	b.t.Helper()
	tabCtx, cancelTab := chromedp.NewContext(b.ctx, opts...)
	ctx, cancel := context.WithTimeout(tabCtx, testTimeout)
	tb := &tab{t: b.t, name: name, ctx: ctx}
	messages := chromedp.Console(tabCtx) // creates the tab
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			switch {
			case m.IsException() || m.Source == "security": // security: e.g. a CSP violation
				tb.mu.Lock()
				tb.problems = append(tb.problems, m.String())
				tb.mu.Unlock()
			case m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning:
				b.t.Logf("tab %s: console %s", name, m)
			}
		}
	}()
	b.t.Cleanup(func() {
		cancel()
		cancelTab()
		<-done
		for _, p := range tb.problems {
			b.t.Errorf("tab %s: %s", name, p)
		}
	})
	return tb
}

// do runs actions in the tab and fails the test on an error.
func (tb *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, actions...); err != nil {
		tb.t.Fatalf("tab %s: %s: %v%s", tb.name, what, err, tb.dump())
	}
}

// eval evaluates a JavaScript expression in the tab.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		tb.t.Fatalf("tab %s: evaluate %s: %v%s", tb.name, expr, err, tb.dump())
	}
	return v
}

// waitFor polls a JavaScript expression until it is truthy or the deadline passes.
func (tb *tab) waitFor(what, expr string) {
	tb.t.Helper()
	_, err := chromedp.Run(tb.ctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(50*time.Millisecond),
		chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		tb.t.Fatalf("tab %s: waiting for %s: %v%s", tb.name, what, err, tb.dump())
	}
}

// dump describes the page for a failure message: its URL, the console's
// status, the text of its log and the chat's bubbles.
func (tb *tab) dump() string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(tb.ctx), 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const st = document.getElementById('status');
		const log = document.getElementById('eventLog');
		const chat = [...document.querySelectorAll('#chatLog .chat-msg')]
			.map((m) => m.dataset.role + (m.dataset.state ? ' (' + m.dataset.state + ')' : '') + ': ' + m.textContent.slice(0, 200));
		return 'url: ' + location.href + '\nstatus: ' + (st ? st.dataset.state || st.textContent : '-') +
			'\nlog:\n' + (log ? log.innerText : '-') + '\nchat:\n' + (chat.join('\n') || '-') +
			(window.debugState ? '\nstate: ' + window.debugState() : '');
	})()`))
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return "\n(page not readable: deadline passed)"
		}
		return "\n(page not readable: " + err.Error() + ")"
	}
	return "\n--- " + tb.name + " ---\n" + s
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s) // a string always encodes
	return string(b)
}
