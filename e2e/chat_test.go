package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/ssehub/ssehub/internal/app"
)

// chatMessage is one message of a conversation, as the API and the console's
// stored conversation spell it.
type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// answer is what the chat panel shows of its last answer.
type answer struct {
	State string `json:"state"` // streaming, done, stopped or error
	Raw   string `json:"raw"`   // the Markdown received so far
	Text  string `json:"text"`  // the rendered text
	Note  string `json:"note"`  // the finish reason and usage, or the error
	Caret bool   `json:"caret"`
}

// lastAnswerJS evaluates to the panel's last answer as an answer, or null.
const lastAnswerJS = `(() => {
	const a = [...document.querySelectorAll('#chatLog .chat-msg[data-role="assistant"]')].at(-1);
	if (!a) return null;
	const body = a.querySelector('.chat-body');
	const note = a.querySelector('.chat-note');
	return { state: a.dataset.state || '', raw: body.dataset.raw || '', text: body.textContent,
		note: note ? note.textContent : '', caret: a.querySelector('.caret') !== null };
})()`

// storedChatJS evaluates to the conversation the console keeps in sessionStorage.
const storedChatJS = `JSON.parse(sessionStorage.getItem('ssehub.console.chat') || '{}').messages || []`

// chatServer serves ssehub with a simulated model answering at tokensPerSec.
func chatServer(t *testing.T, tokensPerSec float64, configure func(*app.Config)) *httptest.Server {
	t.Helper()
	return startServer(t, serverOptions{configure: func(c *app.Config) {
		c.SimTTFT = 50 * time.Millisecond
		c.SimTokensPerSec = tokensPerSec
		if configure != nil {
			configure(c)
		}
	}})
}

// completion asks the simulated model for its answer to msgs without
// streaming: the text a generation of the same conversation streams.
func completion(t *testing.T, base string, msgs []chatMessage) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"model": "ssehub-sim", "messages": msgs, "stream": false})
	res, err := http.Post(base+"/v1/chat/completions", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("POST /v1/chat/completions = %d: %s", res.StatusCode, b)
	}
	var out struct {
		Choices []struct {
			Message chatMessage `json:"message"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(b, &out); err != nil || len(out.Choices) != 1 {
		t.Fatalf("completion %s: %v", b, err)
	}
	return out.Choices[0].Message.Content
}

// ask sends a question from the chat panel with its Send button.
func (tb *tab) ask(question string) {
	tb.t.Helper()
	tb.do("ask "+question,
		chromedp.WaitEnabled(chromedp.ID("chatSend")),
		chromedp.SetValue(chromedp.ID("chatPrompt"), question),
		chromedp.Click(chromedp.ID("chatSend")))
}

// waitAnswer waits until the last answer satisfies the JavaScript condition
// cond on a (an answer).
func (tb *tab) waitAnswer(what, cond string) answer {
	tb.t.Helper()
	tb.waitFor(what, `((a) => a !== null && (`+cond+`))(`+lastAnswerJS+`)`)
	return tb.lastAnswer()
}

func (tb *tab) lastAnswer() answer {
	tb.t.Helper()
	a := eval[*answer](tb, lastAnswerJS)
	if a == nil {
		tb.t.Fatalf("tab %s: no answer in the chat%s", tb.name, tb.dump())
	}
	return *a
}

func (tb *tab) storedChat() []chatMessage {
	tb.t.Helper()
	return eval[[]chatMessage](tb, storedChatJS)
}

var (
	fenceLine  = regexp.MustCompile("(?m)^```.*$")
	blockMarks = regexp.MustCompile(`(?m)^(?:#{1,6} |- |\d+\. )`)
	whiteSpace = regexp.MustCompile(`\s+`)
)

// plainText strips the Markdown the simulated model writes, and all white
// space, leaving the text a rendering must show.
func plainText(md string) string {
	s := fenceLine.ReplaceAllString(md, "")
	s = blockMarks.ReplaceAllString(s, "")
	s = strings.NewReplacer("**", "", "`", "").Replace(s)
	return whiteSpace.ReplaceAllString(s, "")
}

func TestChatStreamsAnswer(t *testing.T) {
	srv := chatServer(t, 40, nil)
	b := newBrowser(t)
	tb := b.tab("chat")
	tb.openConsole(srv)
	tb.waitFor("the model list", `document.getElementById('chatModel').value === 'ssehub-sim'`)
	// Sample the answer while it streams, every 40ms.
	tb.do("watch the answer", chromedp.Evaluate[chromedp.Void](`window.chatSamples = [];
		setInterval(() => { const a = `+lastAnswerJS+`; if (a) chatSamples.push(a); }, 40)`))
	question := "请介绍一下 Server-Sent Events 的工作原理"
	tb.ask(question)
	got := tb.waitAnswer("the answer done", `a.state === 'done'`)

	samples := eval[[]answer](tb, `chatSamples`)
	lengths := map[int]bool{}
	last, caret := 0, false
	for _, s := range samples {
		if s.State != "streaming" {
			continue
		}
		if n := len([]rune(s.Text)); n > 0 {
			if n < last {
				t.Errorf("the answer shrank from %d to %d characters while streaming", last, n)
			}
			lengths[n], last = true, n
		}
		caret = caret || s.Caret
	}
	if len(lengths) < 3 {
		t.Errorf("the answer showed %d lengths while streaming, want it to grow over at least 3 polls", len(lengths))
	}
	if !caret {
		t.Error("no caret while the answer streamed")
	}
	if got.Caret {
		t.Error("the caret stayed after the answer was done")
	}

	want := completion(t, srv.URL, []chatMessage{{"user", question}})
	if got.Raw != want {
		t.Errorf("streamed answer\n%q\nwant the non-streamed one\n%q", got.Raw, want)
	}
	if p, w := whiteSpace.ReplaceAllString(got.Text, ""), plainText(want); p != w {
		t.Errorf("rendered text\n%q\nwant\n%q", p, w)
	}
	rendered := eval[map[string]int](tb, `(() => {
		const a = [...document.querySelectorAll('#chatLog .chat-msg[data-role="assistant"] .chat-body')].at(-1);
		const n = (sel) => a.querySelectorAll(sel).length;
		return { li: n('li'), strong: n('strong'), h2: n('h2'), p: n('p') };
	})()`)
	headings := len(regexp.MustCompile(`(?m)^## `).FindAllString(want, -1))
	items := len(regexp.MustCompile(`(?m)^(?:- |\d+\. )`).FindAllString(want, -1))
	if rendered["li"] != items || rendered["h2"] != headings || items == 0 || rendered["p"] < 2 || rendered["strong"]+rendered["h2"] == 0 {
		t.Errorf("rendered elements %v, want %d list items, %d headings, paragraphs and bold text", rendered, items, headings)
	}
	if !strings.HasPrefix(got.Note, "已完成 · ") || !strings.Contains(got.Note, "token") {
		t.Errorf("note %q, want the finish reason and usage", got.Note)
	}
	if msgs := tb.storedChat(); len(msgs) != 2 || msgs[0] != (chatMessage{"user", question}) || msgs[1] != (chatMessage{"assistant", want}) {
		t.Errorf("stored conversation %q, want the question and the answer", msgs)
	}
}

func TestChatReloadContinues(t *testing.T) {
	srv := chatServer(t, 20, nil)
	b := newBrowser(t)
	tb := b.tab("chat")
	tb.openConsole(srv)
	question := "How do I resume an SSE stream after a reload?"
	tb.ask(question)
	before := tb.waitAnswer("some tokens", `a.state === 'streaming' && a.raw.length >= 30`)

	tb.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("chatLog")))
	tb.waitAnswer("the answer to continue", `a.state === 'streaming' && a.raw.startsWith(`+jsString(before.Raw)+`)`)
	got := tb.waitAnswer("the answer done", `a.state === 'done'`)

	want := completion(t, srv.URL, []chatMessage{{"user", question}})
	if got.Raw != want {
		t.Errorf("answer after a reload\n%q\nwant the uninterrupted one\n%q", got.Raw, want)
	}
	if n := eval[int](tb, `document.querySelectorAll('#chatLog .chat-msg').length`); n != 2 {
		t.Errorf("%d bubbles after the reload, want the question and its answer", n)
	}
	if msgs := tb.storedChat(); len(msgs) != 2 || msgs[1].Content != want {
		t.Errorf("stored conversation %q, want the question and the whole answer", msgs)
	}
}

func TestChatStop(t *testing.T) {
	srv := chatServer(t, 20, nil)
	b := newBrowser(t)
	tb := b.tab("chat")
	tb.openConsole(srv)
	stopDisabled := `document.getElementById('chatStop').disabled`
	if !eval[bool](tb, stopDisabled) {
		t.Error("Stop is enabled with no answer streaming")
	}
	question := "解释一下背压（backpressure）"
	tb.ask(question)
	tb.waitAnswer("some tokens", `a.state === 'streaming' && a.raw.length >= 20`)
	if eval[bool](tb, stopDisabled) {
		t.Error("Stop is disabled while the answer streams")
	}
	tb.do("click Stop", chromedp.Click(chromedp.ID("chatStop")))
	got := tb.waitAnswer("the answer stopped", `a.state === 'stopped'`)
	if !eval[bool](tb, stopDisabled) || eval[bool](tb, `document.getElementById('chatSend').disabled`) {
		t.Error("after stopping, want Stop disabled and Send enabled")
	}
	full := completion(t, srv.URL, []chatMessage{{"user", question}})
	if got.Raw == "" || len(got.Raw) >= len(full) || !strings.HasPrefix(full, got.Raw) {
		t.Errorf("stopped answer %q, want a proper prefix of %q", got.Raw, full)
	}
	if !strings.HasPrefix(got.Note, "已停止") {
		t.Errorf("note %q, want 已停止", got.Note)
	}
	if msgs := tb.storedChat(); len(msgs) != 2 || msgs[1] != (chatMessage{"assistant", got.Raw}) {
		t.Errorf("stored conversation %q, want the partial answer in it", msgs)
	}
	tb.do("switch language", chromedp.Click(chromedp.ID("langSwitch")))
	tb.waitAnswer("the note in English", `a.note.startsWith('Stopped · ')`)
}

func TestChatMultiTurn(t *testing.T) {
	srv := chatServer(t, 1e6, nil)
	b := newBrowser(t)
	tb := b.tab("chat")
	tb.openConsole(srv)
	q1, q2 := "什么是 SSE？", "它和 WebSocket 有什么不同？"
	tb.do("type a line and Shift+Enter",
		chromedp.SetValue(chromedp.ID("chatPrompt"), "第一行"),
		chromedp.Focus(chromedp.ID("chatPrompt")),
		chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierShift)))
	if v := eval[string](tb, `document.getElementById('chatPrompt').value`); v != "第一行\n" {
		t.Errorf("after Shift+Enter the prompt is %q, want a new line in it", v)
	}
	tb.do("ask with Enter",
		chromedp.SetValue(chromedp.ID("chatPrompt"), q1),
		chromedp.Focus(chromedp.ID("chatPrompt")),
		chromedp.KeyEvent(kb.Enter))
	a1 := tb.waitAnswer("the first answer", `a.state === 'done'`)
	tb.ask(q2)
	tb.waitFor("the second answer", `[...document.querySelectorAll('#chatLog .chat-msg[data-role="assistant"]')]
		.filter((a) => a.dataset.state === 'done').length === 2`)
	a2 := tb.lastAnswer()

	roles := eval[[]string](tb, `[...document.querySelectorAll('#chatLog .chat-msg')].map((m) => m.dataset.role)`)
	if strings.Join(roles, ",") != "user,assistant,user,assistant" {
		t.Errorf("bubbles %q, want two questions and two answers", roles)
	}
	turn1 := []chatMessage{{"user", q1}, {"assistant", a1.Raw}}
	if want := completion(t, srv.URL, turn1[:1]); a1.Raw != want {
		t.Errorf("first answer %q, want %q", a1.Raw, want)
	}
	// The simulated answer depends on the whole conversation.
	if want := completion(t, srv.URL, append(turn1, chatMessage{"user", q2})); a2.Raw != want {
		t.Errorf("second answer %q, want the answer to the whole conversation %q", a2.Raw, want)
	}
	if alone := completion(t, srv.URL, []chatMessage{{"user", q2}}); a2.Raw == alone {
		t.Error("the second answer is the one to the second question alone: the first turn was not sent")
	}
	if msgs := tb.storedChat(); len(msgs) != 4 {
		t.Errorf("stored conversation has %d messages, want 4: %q", len(msgs), msgs)
	}

	tb.do("start a new conversation", chromedp.Click(chromedp.ID("chatNew")))
	tb.waitFor("an empty chat", `document.querySelectorAll('#chatLog .chat-msg').length === 0`)
	if msgs := tb.storedChat(); len(msgs) != 0 {
		t.Errorf("stored conversation after New: %q, want none", msgs)
	}
}

// TestChatErrors has the hub refuse a question (429), then fail generations
// with an "error" event on their topic (an unknown model, a timeout).
func TestChatErrors(t *testing.T) {
	var refuse atomic.Bool
	srv := startServer(t, serverOptions{
		configure: func(c *app.Config) {
			c.SimTTFT, c.SimTokensPerSec = 50*time.Millisecond, 20
			c.LLMTimeout = 600 * time.Millisecond
		},
		wrap: func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if refuse.Load() && r.Method == http.MethodPost && r.URL.Path == "/llm/generations" {
					w.Header().Set("Content-Type", "application/json")
					w.Header().Set("Retry-After", "3")
					w.WriteHeader(http.StatusTooManyRequests)
					_, _ = io.WriteString(w, `{"error":"too many generations running"}`)
					return
				}
				h.ServeHTTP(w, r)
			})
		},
	})
	b := newBrowser(t)
	tb := b.tab("chat")
	tb.openConsole(srv)
	tb.waitFor("the model list", `document.getElementById('chatModel').value === 'ssehub-sim'`)
	chooseModel := func(name string) {
		tb.do("choose the model "+name, chromedp.Evaluate[chromedp.Void](`((name) => {
			const s = document.getElementById('chatModel');
			if (![...s.options].some((o) => o.value === name)) s.append(new Option(name, name));
			s.value = name;
			s.dispatchEvent(new Event('change'));
		})(`+jsString(name)+`)`))
	}

	refuse.Store(true)
	tb.ask("你好")
	if got := tb.waitAnswer("a refusal", `a.state === 'error'`); got.Note != "模型正忙，请 3 秒后再试" {
		t.Errorf("note %q, want the busy message", got.Note)
	}
	refuse.Store(false)

	chooseModel("no-such-model")
	tb.ask("你好")
	got := tb.waitAnswer("a refused model", `a.state === 'error' && a.note.includes('no-such-model')`)
	if !strings.HasPrefix(got.Note, "无法开始回答：") || got.Raw != "" {
		t.Errorf("answer %+v, want no text and the 404 naming the model", got)
	}

	chooseModel("ssehub-sim")
	tb.ask("请写一个很长的回答")
	got = tb.waitAnswer("a timeout", `a.state === 'error' && a.note.includes('600ms')`)
	if got.Raw == "" || got.Caret {
		t.Errorf("answer %+v, want the tokens received before the error, without a caret", got)
	}
	if c := eval[string](tb, `getComputedStyle([...document.querySelectorAll('.chat-note')].at(-1)).color`); c != "rgb(220, 53, 69)" {
		t.Errorf("error note colour %s, want red", c)
	}
	if !eval[bool](tb, `!document.getElementById('chatSend').disabled && document.getElementById('chatStop').disabled`) {
		t.Error("after an error, want Send enabled and Stop disabled")
	}
	// Failed answers are not part of the conversation, but stay on the page.
	if msgs := tb.storedChat(); len(msgs) != 3 {
		t.Errorf("stored conversation %q, want the three questions only", msgs)
	}
	tb.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("chatLog")))
	tb.waitFor("the failures after a reload", `[...document.querySelectorAll('#chatLog .chat-msg[data-state="error"]')].length === 3`)
}
