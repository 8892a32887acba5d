package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// BenchmarkJSClientTabs opens 20 tabs of one origin in one Chromium, each
// subscribing with the client to a topic they all share and one of its
// own, shared (led by the SharedWorker, or by a tab) and not, over HTTP/1.1 and HTTP/2
// (TLS), then publishes 1,000 updates to the shared topic at 200 a second.
// It reports the hub's streams, the tabs whose subscription opened within
// 15 s, the browser's memory (PSS of all its processes, idle and after the
// burst) and its CPU time from the first publish until every open tab has
// every update. Run it with -benchtime 1x (each iteration is the whole
// scenario; docs/benchmarks.md has the figures).
func BenchmarkJSClientTabs(b *testing.B) {
	modes := []struct {
		name, query string
		shared      bool
	}{{"shared-worker", "", true}, {"leading-tab", "?worker=0", true}, {"unshared", "", false}}
	for _, proto := range []string{"h1", "h2"} {
		for _, m := range modes {
			b.Run(proto+"/"+m.name, func(b *testing.B) {
				for range b.N {
					runTabs(b, proto == "h2", m.query, m.shared)
				}
			})
		}
	}
}

const (
	benchTabs   = 20
	benchEvents = 1000
)

func runTabs(b *testing.B, h2 bool, query string, shared bool) {
	srv := startServer(b, serverOptions{wrap: withSharedPage, h2: h2})
	br := newBrowser(b, chromedp.Flag("ignore-certificate-errors", true))
	pid := chromedp.FromContext(br.ctx).Browser.Process().Pid
	tabs := openTabs(b, br, srv.URL, query, shared)
	open := 0
	for _, tb := range tabs {
		if tb != nil {
			open++
		}
	}
	streams := hubStreamsVia(b, srv.Client(), srv.URL)
	time.Sleep(2 * time.Second) // the tabs settle
	idle := browserUsage(b, pid)

	publishPaced(b, srv.Client(), srv.URL, benchEvents, 200)
	for _, tb := range tabs {
		if tb != nil {
			tb.waitFor("the burst", fmt.Sprintf(`got.filter((id) => id.startsWith("b-")).length >= %d`, benchEvents))
		}
	}
	after := browserUsage(b, pid)
	b.ReportMetric(float64(open), "tabs-open")
	b.ReportMetric(float64(streams), "hub-streams")
	b.ReportMetric(float64(idle.pssKiB)/1024, "browser-MiB-idle")
	b.ReportMetric(float64(after.pssKiB)/1024, "browser-MiB-after")
	b.ReportMetric((after.cpu-idle.cpu).Seconds()-2, "browser-CPU-s/1k-events") // less the settling
}

// openTabs opens the tabs at once, each subscribing to "bench" and its own
// topic; a tab whose subscription did not open within 15 s is nil.
func openTabs(b *testing.B, br *browser, base, query string, shared bool) []*tab {
	tabs := make([]*tab, benchTabs)
	var wg sync.WaitGroup
	for i := range tabs {
		tb := br.tab(fmt.Sprint("tab", i))
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(tb.ctx, 15*time.Second)
			defer cancel()
			script := fmt.Sprintf(`void start(["bench", "tab/%d"], {shared: %v})`, i, shared)
			for _, a := range []chromedp.Action[chromedp.Void]{chromedp.Navigate(base + "/shared/" + query),
				chromedp.Poll[chromedp.Void](`window.ready`),
				chromedp.Evaluate[chromedp.Void](script),
				chromedp.Poll[chromedp.Void](`statuses.includes("open")`)} {
				if _, err := chromedp.Run(ctx, a); err != nil {
					return
				}
			}
			tabs[i] = tb
		})
	}
	wg.Wait()
	return tabs
}

// usage is what a process tree holds and has spent.
type usage struct {
	pssKiB int64
	cpu    time.Duration
}

// browserUsage sums the PSS and CPU time of the browser's processes.
func browserUsage(b *testing.B, root int) usage {
	var u usage
	for _, pid := range processTree(root) {
		if roll, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid)); err == nil {
			u.pssKiB += kibField(roll, "Pss:")
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue // ended meanwhile
		}
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+2:]))
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		u.cpu += time.Duration(ut+st) * (time.Second / 100) // USER_HZ
	}
	if u.pssKiB == 0 {
		b.Fatal("no memory read for the browser's processes")
	}
	return u
}

// processTree returns root and its descendants.
func processTree(root int) []int {
	parent := map[int]int{}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		stat, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+2:]))
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		parent[pid], _ = strconv.Atoi(f[1])
	}
	var out []int
	for pid := range parent {
		for p := pid; p > 1; p = parent[p] {
			if p == root {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

// kibField reads a "Name:   123 kB" line.
func kibField(b []byte, name string) int64 {
	i := bytes.Index(b, []byte(name))
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+len(name):]))
	n, _ := strconv.ParseInt(f[0], 10, 64)
	return n
}

// publishPaced publishes n updates to "bench" with the ids b-0 to b-<n-1>,
// rate a second.
func publishPaced(b *testing.B, c *http.Client, base string, n, rate int) {
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for i := range n {
		<-tick.C
		res, err := c.PostForm(base+"/.well-known/mercure", url.Values{"topic": {"bench"}, "id": {fmt.Sprint("b-", i)}, "data": {fmt.Sprint(i)}})
		if err != nil {
			b.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			b.Fatalf("publish: %d", res.StatusCode)
		}
	}
}
