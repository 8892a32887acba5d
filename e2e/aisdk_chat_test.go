package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ssehub/ssehub/internal/app"
)

// aisdkPage bundles e2e/aisdk/app.jsx (useChat from @ai-sdk/react and
// DefaultChatTransport from ai) with esbuild into a directory of its own,
// with index.html. Without the npm packages the test skips (fails in CI).
func aisdkPage(t *testing.T) string {
	t.Helper()
	root := repoRoot(t)
	modules := filepath.Join(root, "e2e", "node", "node_modules")
	esbuild := filepath.Join(modules, ".bin", "esbuild")
	if _, err := os.Stat(esbuild); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("esbuild missing under CI (run make deps): %v", err)
		}
		t.Skipf("esbuild missing (run make deps): %v", err)
	}
	dir := t.TempDir()
	cmd := exec.Command(esbuild, filepath.Join(root, "e2e", "aisdk", "app.jsx"), "--bundle", "--format=esm",
		"--jsx=automatic", "--define:process.env.NODE_ENV=\"production\"", "--log-level=warning",
		"--outfile="+filepath.Join(dir, "app.js"))
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules) // the page's packages are e2e/node's
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("esbuild: %v\n%s", err, out)
	}
	html, err := os.ReadFile(filepath.Join(root, "e2e", "aisdk", "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.html"), html, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// aisdkServer serves ssehub with the page under /aisdk/, same origin.
func aisdkServer(t *testing.T, tokensPerSec float64) *httptest.Server {
	t.Helper()
	page := http.StripPrefix("/aisdk/", http.FileServer(http.Dir(aisdkPage(t))))
	return startServer(t, serverOptions{
		configure: func(c *app.Config) { c.SimTTFT, c.SimTokensPerSec = 50*time.Millisecond, tokensPerSec },
		wrap: func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasPrefix(r.URL.Path, "/aisdk/") {
					page.ServeHTTP(w, r)
					return
				}
				h.ServeHTTP(w, r)
			})
		},
	})
}

// aisdkAnswerJS is the text of the page's last assistant message.
const aisdkAnswerJS = `(() => { const m = [...document.querySelectorAll('#log .msg[data-role="assistant"]')].at(-1);
	return m ? [...m.querySelectorAll('.text')].map((e) => e.textContent).join('') : ''; })()`

// aisdkStatus is useChat's status in the page.
const aisdkStatus = `document.getElementById('status').dataset.status`

// simAnswer is the simulated model's whole answer to one question, not
// streamed: what a generation of the same turn writes.
func simAnswer(t *testing.T, base, question string, maxTokens int) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"model": "ssehub-sim", "max_tokens": maxTokens,
		"messages": []chatMessage{{"user", question}}})
	res, err := http.Post(base+"/v1/chat/completions", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var out struct {
		Choices []struct{ Message chatMessage }
	}
	if err := json.Unmarshal(b, &out); err != nil || len(out.Choices) == 0 {
		t.Fatalf("completion %d %s: %v", res.StatusCode, b, err)
	}
	return out.Choices[0].Message.Content
}

// serverChat is GET /api/chat/{id}, as the page's ssehub keeps it.
func serverChat(t *testing.T, base, id string) (text, finish string, running bool) {
	t.Helper()
	res, err := http.Get(base + "/api/chat/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var v struct {
		Running      bool
		FinishReason string
		Messages     []struct {
			Parts []struct{ Type, Text string }
		}
	}
	if err := json.NewDecoder(res.Body).Decode(&v); err != nil || len(v.Messages) == 0 {
		t.Fatalf("GET /api/chat/%s: %d %v", id, res.StatusCode, err)
	}
	for _, p := range v.Messages[len(v.Messages)-1].Parts {
		text += p.Text
	}
	return text, v.FinishReason, v.Running
}

// openAISDK opens the page on chat id.
func (tb *tab) openAISDK(srv *httptest.Server, id string, maxTokens int, query string) {
	tb.t.Helper()
	u := srv.URL + "/aisdk/index.html?chat=" + id + "&maxTokens=" + jsonInt(maxTokens) + query
	tb.do("open the useChat page", chromedp.Navigate(u), chromedp.WaitVisible(chromedp.ID("prompt")))
}

func jsonInt(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestAISDKUseChat drives a page using useChat({resume: true}) with
// DefaultChatTransport against ssehub in Chromium: a reload mid-answer
// resumes it to its end with no text twice; a stop after a reload ends
// the answer on the server, and a reload then shows the partial answer
// with nothing to resume; a tool the model calls shows in the page, and
// its output continues the answer.
func TestAISDKUseChat(t *testing.T) {
	srv := aisdkServer(t, 25)
	b := newBrowser(t)

	// Each subtest's tabs report to it, and close when it ends.
	sub := func(f func(*testing.T, *browser, *httptest.Server)) func(*testing.T) {
		return func(t *testing.T) { f(t, &browser{t: t, ctx: b.ctx}, srv) }
	}
	t.Run("reload resumes", sub(aisdkReloadResumes))
	// Stopping after a reload needs the answer still running once the page
	// has reloaded and resumed: under a loaded CI host that took longer
	// than 200 tokens at 25 a second, so this one gets a slower model.
	t.Run("stop after a reload", func(t *testing.T) {
		aisdkStopAfterReload(t, &browser{t: t, ctx: b.ctx}, aisdkServer(t, 5))
	})
	t.Run("tool call", sub(aisdkToolCall))
}

// aisdkReloadResumes: a reload mid-answer resumes it to the model's whole
// answer, with no text twice.
func aisdkReloadResumes(t *testing.T, b *browser, srv *httptest.Server) {
	tb := b.tab("resume")
	tb.openAISDK(srv, "resume1", 100, "")
	const q = "How does a browser resume an event stream?"
	eval[any](tb, `window.chat.send(`+jsString(q)+`)`)
	tb.waitFor("some text", aisdkAnswerJS+`.length >= 40`)
	before := eval[string](tb, aisdkAnswerJS)
	tb.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("prompt")))
	tb.waitFor("the answer to resume", aisdkStatus+` === 'streaming' && `+aisdkAnswerJS+`.startsWith(`+jsString(before)+`)`)
	tb.waitFor("the answer done", aisdkStatus+` === 'ready'`)
	got, want := eval[string](tb, aisdkAnswerJS), simAnswer(t, srv.URL, q, 100)
	if got != want {
		t.Errorf("answer after a reload\n%q\nwant the model's, once\n%q", got, want)
	}
	if n := eval[int](tb, `document.querySelectorAll('#log .msg').length`); n != 2 {
		t.Errorf("%d messages after the reload, want the question and its answer", n)
	}
}

// aisdkStopAfterReload: Stop after a reload ends the answer on the server
// (stopped); the text stops growing, and a reload shows the partial answer
// with nothing to resume (204).
func aisdkStopAfterReload(t *testing.T, b *browser, srv *httptest.Server) {
	tb := b.tab("stop")
	tb.openAISDK(srv, "stop1", 200, "")
	const q = "Tell me a long story about backpressure"
	eval[any](tb, `window.chat.send(`+jsString(q)+`)`)
	tb.waitFor("some text", aisdkAnswerJS+`.length >= 20`)
	tb.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("prompt")))
	tb.waitFor("the answer to resume", aisdkStatus+` === 'streaming'`)
	tb.do("click Stop", chromedp.Click(chromedp.ID("stop")))
	tb.waitFor("the stream to end", aisdkStatus+` === 'ready'`)
	stopped := eval[string](tb, aisdkAnswerJS)
	text, finish, running := serverChat(t, srv.URL, "stop1")
	if running || finish != "stopped" || text != stopped {
		t.Errorf("server: %q finish %q running %v; want the page's %q, stopped", text, finish, running, stopped)
	}
	full := simAnswer(t, srv.URL, q, 200)
	if stopped == "" || len(stopped) >= len(full) || !strings.HasPrefix(full, stopped) {
		t.Errorf("stopped answer %q, want a beginning of %q", stopped, full)
	}
	// The answer would have gone on at 5 tokens a second: two seconds
	// more show whether anything still writes it.
	time.Sleep(2 * time.Second)
	if now := eval[string](tb, aisdkAnswerJS); now != stopped {
		t.Errorf("the text grew after the stop: %q", now)
	}
	tb.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("prompt")))
	tb.waitFor("the resume to be refused", `window.reconnects.length > 0`)
	if got := eval[[]int](tb, `window.reconnects`); len(got) != 1 || got[0] != http.StatusNoContent {
		t.Errorf("reconnects after the stop: %v, want one 204", got)
	}
	if got := eval[string](tb, aisdkAnswerJS); got != stopped || eval[string](tb, aisdkStatus) != "ready" {
		t.Errorf("after a reload: %q (%s), want the partial answer %q, ready", got, eval[string](tb, aisdkStatus), stopped)
	}
}

// aisdkToolCall: a tool the model calls shows in the page, which runs it;
// its output continues the same assistant message.
func aisdkToolCall(t *testing.T, b *browser, srv *httptest.Server) {
	tb := b.tab("tool")
	tb.openAISDK(srv, "tool1", 0, "&tools")
	eval[any](tb, `window.chat.send("What does get weather say for Paris?")`)
	tb.waitFor("the tool part", `document.querySelector('#log .tool[data-tool="get_weather"][data-state="output-available"]') !== null`)
	tb.waitFor("the answer to the output", aisdkAnswerJS+` === 'get_weather returned: sunny' && `+aisdkStatus+` === 'ready'`)
	if n := eval[int](tb, `document.querySelectorAll('#log .msg').length`); n != 2 {
		t.Errorf("%d messages, want the question and one answer holding the call and the text", n)
	}
}
