package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// smallFS mounts a tmpfs of size (such as "256k") on a new directory and
// returns it; the test unmounts it at its end. Mounting needs root: without
// it the test skips, or fails under CI=true.
func smallFS(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("mounting a small file system needs root under CI")
		}
		t.Skip("mounting a small file system needs root")
	}
	dir := filepath.Join(t.TempDir(), "fs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0700"); err != nil {
		t.Fatalf("mount a tmpfs of %s: %v", size, err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

// diskFullPublish posts one update of 100 KB and returns the status, the
// body and the Retry-After header. Its value takes 25 contiguous pages of
// the file, more than the single pages bbolt frees as it commits: once the
// file system is full, every such publish fails.
func diskFullPublish(t *testing.T, base string, i int) (int, string, string) {
	t.Helper()
	form := url.Values{"topic": {"full"}, "data": {fmt.Sprintf("update %d %s", i, strings.Repeat("x", 100_000))}}
	resp, err := http.PostForm(base+"/.well-known/mercure", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("Retry-After")
}

// getBody returns the status and body of a GET.
func getBody(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// outageLines returns the store's outage log lines in order: "failing"
// and "back".
func outageLines(log string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		switch {
		case strings.Contains(l, "history writes failing"):
			out = append(out, "failing")
		case strings.Contains(l, "history writes succeed again"):
			out = append(out, "back")
		}
	}
	return out
}

// TestDiskFull runs the real binary on a data directory whose file system
// fills up. Publishes get 503 naming the full disk with Retry-After,
// /readyz and /metrics say so, the log says it once per outage; once space
// is freed /readyz recovers by itself (nobody publishing), publishes work
// again, and after a restart every acknowledged update is in history.
func TestDiskFull(t *testing.T) {
	dir := smallFS(t, "2m")
	p := startBinary(t, "-data-dir", dir, "-log-level", "info")
	var acked []string
	status, body, retry := 0, "", ""
	for i := 0; ; i++ {
		if status, body, retry = diskFullPublish(t, p.base, i); status != http.StatusOK {
			break
		}
		acked = append(acked, body)
		if i > 200 {
			t.Fatal("200 updates of 100 KB fit in a file system of 2 MiB")
		}
	}
	var msg struct{ Error string }
	_ = json.Unmarshal([]byte(body), &msg)
	if status != http.StatusServiceUnavailable || !strings.Contains(msg.Error, "no space left on device") || retry == "" {
		t.Fatalf("publish on a full disk: %d %q (Retry-After %q), want 503 naming the full disk, with Retry-After", status, body, retry)
	}
	for i := range 10 { // more failures: still one line in the log
		if status, body, _ := diskFullPublish(t, p.base, 10000+i); status != http.StatusServiceUnavailable {
			t.Fatalf("publish %d more on a full disk: %d %s", i, status, body)
		}
	}
	if code, body := getBody(t, p.base+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "no space left on device") {
		t.Fatalf("/readyz on a full disk: %d %s", code, body)
	}
	if _, m := getBody(t, p.base+"/metrics"); !strings.Contains(m, "ssehub_history_writable 0") || strings.Contains(m, "ssehub_history_write_errors_total 0\n") {
		t.Errorf("metrics on a full disk:\n%s", m)
	}
	for end := time.Now().Add(5 * time.Second); len(outageLines(p.stderr.String())) < 1 && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond) // the log reaches p.stderr through a pipe
	}
	if lines := outageLines(p.stderr.String()); len(lines) != 1 || lines[0] != "failing" {
		t.Fatalf("outage log lines %v, want the outage logged once\n%s", lines, p.stderr)
	}

	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT, "size=4m,mode=0700"); err != nil {
		t.Fatalf("grow the tmpfs: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second) // probes start 2 s after the last failure
	for {
		code, body := getBody(t, p.base+"/readyz")
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz 10 s after space was freed: %d %s", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The log line was written before /readyz answered, but it reaches
	// p.stderr through a pipe.
	for end := time.Now().Add(5 * time.Second); len(outageLines(p.stderr.String())) < 2 && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
	}
	if lines := outageLines(p.stderr.String()); len(lines) != 2 || lines[1] != "back" {
		t.Errorf("outage log lines %v, want its end logged once", lines)
	}
	if _, m := getBody(t, p.base+"/metrics"); !strings.Contains(m, "ssehub_history_writable 1") {
		t.Errorf("metrics once space is free:\n%s", m)
	}
	status, body, _ = diskFullPublish(t, p.base, 20000)
	if status != http.StatusOK {
		t.Fatalf("publish once space is free: %d %s", status, body)
	}
	acked = append(acked, body)

	stopBinary(t, p)
	p = startBinary(t, "-data-dir", dir)
	got := map[string]bool{}
	for _, ev := range readHistory(t, p.base, "full", "earliest", acked[len(acked)-1]) {
		got[ev.ID] = true
	}
	for _, id := range acked {
		if !got[id] {
			t.Fatalf("acknowledged update %s missing from history after the restart (%d acknowledged, %d in history)", id, len(acked), len(got))
		}
	}
}

// stopBinary ends the process with SIGTERM and waits for it.
func stopBinary(t *testing.T, p *process) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ssehub after SIGTERM: %v\n%s", err, p.stderr)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("ssehub did not stop within 15 s of SIGTERM\n%s", p.stderr)
	}
}
