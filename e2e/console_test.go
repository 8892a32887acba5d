package e2e

import (
	"fmt"
	"github.com/ssehub/ssehub/internal/app"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var nonce atomic.Int64

// unique makes a message no other test sends.
func unique(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano(), nonce.Add(1))
}

// openConsole loads the console and waits for its scripts to have run.
func (tb *tab) openConsole(srv *httptest.Server) {
	tb.t.Helper()
	tb.do("open the console", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.ID("status")))
	tb.waitFor("the console's scripts", `document.getElementById('eventLog').childElementCount > 0`)
}

// waitState waits for the status light to be in state.
func (tb *tab) waitState(state string) {
	tb.t.Helper()
	tb.waitFor("status "+state, `document.getElementById('status').dataset.state === `+jsString(state))
}

// connect clicks Connect and waits for the stream to open.
func (tb *tab) connect() {
	tb.t.Helper()
	tb.do("click Connect", chromedp.Click(chromedp.ID("connectBtn")))
	tb.waitState("connected")
}

// send publishes an event from the Send card.
func (tb *tab) send(eventType, message string) {
	tb.t.Helper()
	tb.do("send "+eventType,
		chromedp.SetValue(chromedp.ID("eventType"), eventType),
		chromedp.SetValue(chromedp.ID("customMessage"), message),
		chromedp.Click(chromedp.ID("sendBtn")))
}

// eventLinesJS lists the text of the log's event lines (those with an id)
// that contain msg, as "type: text".
func eventLinesJS(msg string) string {
	return `[...document.querySelectorAll('#eventLog .event-item[data-id]')]
		.filter((e) => e.dataset.id !== '' && e.textContent.includes(` + jsString(msg) + `))
		.map((e) => e.dataset.type + ': ' + e.textContent)`
}

// waitEvent waits until the log shows an event line of eventType containing msg.
func (tb *tab) waitEvent(eventType, msg string) {
	tb.t.Helper()
	tb.waitFor(fmt.Sprintf("a %s line with %q", eventType, msg),
		eventLinesJS(msg)+`.some((l) => l.startsWith(`+jsString(eventType+": ")+`))`)
}

// eventLines returns the log's event lines that contain msg.
func (tb *tab) eventLines(msg string) []string {
	tb.t.Helper()
	return eval[[]string](tb, eventLinesJS(msg))
}

func TestConsoleTwoTabs(t *testing.T) {
	srv := startServer(t, serverOptions{})
	b := newBrowser(t)
	tabA, tabB := b.tab("A"), b.tab("B")
	for _, tb := range []*tab{tabA, tabB} {
		tb.openConsole(srv)
		tb.connect()
	}
	// Markup in the message must show as text, never as HTML.
	msg := unique(`<b class="injected">通知</b> & "quoted"`)
	tabA.send("notification", msg)
	for _, tb := range []*tab{tabA, tabB} {
		tb.waitEvent("notification", msg)
		if lines := tb.eventLines(msg); len(lines) != 1 {
			t.Errorf("tab %s: %d lines with the message, want 1: %q", tb.name, len(lines), lines)
		} else if !strings.Contains(lines[0], "通知: "+msg+" (优先级: high)") {
			t.Errorf("tab %s: line %q, want the seed's notification format", tb.name, lines[0])
		}
		if n := eval[int](tb, `document.querySelectorAll('#eventLog .injected').length`); n != 0 {
			t.Errorf("tab %s: event data became %d HTML elements", tb.name, n)
		}
	}
}

func TestConsoleReloadResumes(t *testing.T) {
	srv := startServer(t, serverOptions{})
	b := newBrowser(t)
	tabA, tabB := b.tab("A"), b.tab("B")
	for _, tb := range []*tab{tabA, tabB} {
		tb.openConsole(srv)
		tb.connect()
	}
	// B needs an event id to resume after.
	first := unique("first")
	tabA.send("message", first)
	tabB.waitEvent("message", first)

	tabB.do("leave the console", chromedp.Navigate("about:blank"))
	missed1, missed2 := unique("missed-1"), unique("missed-2")
	tabA.send("update", missed1)
	tabA.send("alert", missed2)
	tabA.waitEvent("alert", missed2)

	tabB.do("come back", chromedp.Navigate(srv.URL+"/"))
	tabB.waitState("connected") // by itself, from the stored state
	tabB.waitEvent("alert", missed2)
	// Anything replayed twice would come before an event sent now.
	last := unique("last")
	tabA.send("message", last)
	tabB.waitEvent("message", last)

	got := eval[[]string](tabB, `[...document.querySelectorAll('#eventLog .event-item[data-id]')]
		.map((e) => e.textContent)
		.filter((s) => [`+jsString(first)+`, `+jsString(missed1)+`, `+jsString(missed2)+`].some((m) => s.includes(m)))`)
	want := []string{first, missed1, missed2}
	if len(got) != len(want) {
		t.Fatalf("B shows %d of the events, want each once in order: %q", len(got), got)
	}
	for i, m := range want {
		if !strings.Contains(got[i], m) {
			t.Errorf("B's line %d is %q, want it to show %q", i, got[i], m)
		}
	}
}

func TestConsoleLanguageSwitch(t *testing.T) {
	srv := startServer(t, serverOptions{})
	b := newBrowser(t)
	tb := b.tab("console")
	tb.openConsole(srv)
	page := `[document.documentElement.lang, document.title, document.getElementById('connectBtn').textContent,
		document.getElementById('statusText').textContent].join('|')`
	if got, want := eval[string](tb, page), "zh-CN|ssehub 控制台|连接|未连接"; got != want {
		t.Errorf("default page = %q, want %q", got, want)
	}
	english := "en|ssehub console|Connect|Disconnected"
	tb.do("switch language", chromedp.Click(chromedp.ID("langSwitch")))
	tb.waitFor("English", page+` === `+jsString(english))
	tb.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("status")))
	tb.waitFor("English after a reload", page+` === `+jsString(english))
	tb.do("switch back", chromedp.Click(chromedp.ID("langSwitch")))
	tb.waitFor("Chinese again", page+` === `+jsString("zh-CN|ssehub 控制台|连接|未连接"))
}

// TestConsoleCustomType sends an event of a type the console did not know:
// it starts listening to it, shows its line, and keeps the type after a reload.
func TestConsoleCustomType(t *testing.T) {
	srv := startServer(t, serverOptions{})
	b := newBrowser(t)
	tb := b.tab("console")
	tb.openConsole(srv)
	tb.connect()
	msg := unique("custom")
	tb.do("choose a custom type",
		chromedp.Evaluate[chromedp.Void](`(() => {
			const s = document.getElementById('eventType');
			s.value = '';
			s.dispatchEvent(new Event('change'));
		})()`),
		chromedp.WaitVisible(chromedp.ID("customType")),
		chromedp.SetValue(chromedp.ID("customType"), "order-created"),
		chromedp.SetValue(chromedp.ID("customMessage"), msg),
		chromedp.Click(chromedp.ID("sendBtn")))
	tb.waitEvent("order-created", msg)
	if lines := tb.eventLines(msg); len(lines) != 1 || !strings.Contains(lines[0], "order-created: "+msg+" (time: ") {
		t.Errorf("lines %q, want one with %q and its time field", lines, "order-created: "+msg)
	}
	tb.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("status")))
	tb.waitState("connected")
	again := unique("again")
	tb.send("order-created", again)
	tb.waitEvent("order-created", again)
}

// TestConsoleDevBanner: the console warns in open development mode and not
// once a JWT key is configured.
func TestConsoleDevBanner(t *testing.T) {
	open := startServer(t, serverOptions{})
	secured := startServer(t, serverOptions{configure: func(c *app.Config) {
		c.JWTKey = "a-test-secret-that-is-at-least-32-bytes-long"
	}})
	b := newBrowser(t)
	tb := b.tab("banner")
	tb.openConsole(open)
	tb.waitFor("the open-mode banner", `!document.getElementById('devBanner').hidden && document.getElementById('devBanner').textContent.includes('-jwt-key')`)
	tb.openConsole(secured)
	tb.waitFor("the health answer", `document.getElementById('devBanner').dataset.auth === 'jwt'`)
	if hidden := eval[bool](tb, `document.getElementById('devBanner').hidden`); !hidden {
		t.Fatal("banner shown with a JWT key configured")
	}
}

// TestConsolePresence: with -subscriptions the console shows how many
// subscribers its topic has, as tabs connect and leave; without, nothing.
func TestConsolePresence(t *testing.T) {
	srv := startServer(t, serverOptions{configure: func(c *app.Config) { c.Subscriptions, c.HistoryMaxAge = true, time.Hour }})
	b := newBrowser(t)
	tabA, tabB := b.tab("A"), b.tab("B")
	for _, tb := range []*tab{tabA, tabB} {
		tb.openConsole(srv)
		tb.do("choose the topic", chromedp.SetValue(chromedp.ID("topic"), "presence-test"))
		tb.connect()
	}
	const count = `document.getElementById('presence').hidden ? 'hidden' : document.getElementById('onlineCount').textContent`
	for _, tb := range []*tab{tabA, tabB} {
		tb.waitFor("2 subscribers online", count+` === '2'`)
	}
	tabB.do("click Disconnect", chromedp.Click(chromedp.ID("disconnectBtn")))
	tabB.waitFor("the count hidden once disconnected", count+` === 'hidden'`)
	tabA.waitFor("1 subscriber online", count+` === '1'`)

	off := startServer(t, serverOptions{})
	tabC := b.tab("C")
	tabC.openConsole(off)
	tabC.connect()
	tabC.waitFor("the hub saying the subscriptions are off", `document.getElementById('presence').dataset.presence === 'off'`)
	if got := eval[string](tabC, count); got != "hidden" {
		t.Errorf("without -subscriptions the count shows %q", got)
	}
}
