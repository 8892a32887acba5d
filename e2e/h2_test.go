package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ssehub/ssehub/internal/tlstest"
)

// TestConsoleOverHTTP2: Chromium reaches the hub over TLS with HTTP/2,
// served by the hub's own HTTP/2: two tabs of the console share one
// connection; what one sends (a publish on that connection) reaches both;
// once one tab leaves (its stream reset), the other goes on.
func TestConsoleOverHTTP2(t *testing.T) {
	cert, key, _ := tlstest.SelfSigned(t)
	p := startBinary(t, "-data-dir", "", "-tls-cert", cert, "-tls-key", key)
	base := "https://" + strings.TrimPrefix(p.base, "http://")
	b := newBrowser(t, chromedp.Flag("ignore-certificate-errors", true))
	tabA, tabB := b.tab("A"), b.tab("B")
	for _, tb := range []*tab{tabA, tabB} {
		tb.do("open the console", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("status")))
		tb.waitFor("the console's scripts", `document.getElementById('eventLog').childElementCount > 0`)
		if proto := eval[string](tb, `performance.getEntriesByType("navigation")[0].nextHopProtocol`); proto != "h2" {
			t.Fatalf("tab %s: the page came over %q, want h2", tb.name, proto)
		}
		tb.connect()
	}
	first := unique("over HTTP/2")
	tabA.send("notification", first)
	tabA.waitEvent("notification", first)
	tabB.waitEvent("notification", first)
	tabB.do("leave", chromedp.Navigate("about:blank"))
	second := unique("after B left")
	tabA.send("alert", second)
	tabA.waitEvent("alert", second)
	if strings.Contains(p.stderr.String(), "panic") {
		t.Errorf("the hub panicked:\n%s", p.stderr.String())
	}
}

// TestNodeHTTP2Client: Node's own HTTP/2 client (node:http2) opens three
// event streams on one session and publishes on it; each stream gets the
// updates in order, and one that it closes (RST_STREAM) ends alone.
func TestNodeHTTP2Client(t *testing.T) {
	node := needProgram(t, "node")
	cert, key, _ := tlstest.SelfSigned(t)
	p := startBinary(t, "-data-dir", "", "-tls-cert", cert, "-tls-key", key)
	base := "https://" + strings.TrimPrefix(p.base, "http://")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(repoRoot(t), "e2e", "node", "h2_subscribe.mjs"))
	cmd.Env = hermeticEnv("SSEHUB_URL="+base, "SSEHUB_TABS=3", "SSEHUB_COUNT=3", "NODE_EXTRA_CA_CERTS="+cert)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	errs := bufio.NewScanner(stderr)
	var log strings.Builder
	for errs.Scan() && errs.Text() != "ready" {
		log.WriteString(errs.Text() + "\n")
	}
	if _, err := stdin.Write([]byte("one\ntwo\nthree\n")); err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	out := bufio.NewScanner(stdout)
	for out.Scan() {
		var ev struct {
			Tab  int
			ID   string
			Data string
		}
		if err := json.Unmarshal(out.Bytes(), &ev); err != nil {
			t.Fatalf("node printed %q: %v", out.Text(), err)
		}
		tab := string(rune('0' + ev.Tab))
		got[tab] = append(got[tab], ev.Data)
	}
	for errs.Scan() {
		log.WriteString(errs.Text() + "\n")
	}
	_ = stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("node: %v\n%s", err, log.String())
	}
	want := map[string][]string{"0": {"one"}, "1": {"one", "two", "three"}, "2": {"one", "two", "three"}}
	for tab, w := range want {
		if strings.Join(got[tab], ",") != strings.Join(w, ",") {
			t.Errorf("tab %s got %q, want %q\n%s", tab, got[tab], w, log.String())
		}
	}
}
