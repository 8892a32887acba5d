package stream_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/stream"
)

// h2specPath finds h2spec (scripts/deps.sh installs it): on PATH, or in
// Go's bin directory. Missing, the test fails under CI and is skipped
// elsewhere.
func h2specPath(t *testing.T) string {
	if p, err := exec.LookPath("h2spec"); err == nil {
		return p
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", "h2spec")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("h2spec is missing: run scripts/deps.sh")
	}
	t.Skip("h2spec is missing: run scripts/deps.sh")
	return ""
}

// TestH2Spec runs h2spec, the HTTP/2 conformance suite (RFC 7540 and
// 7541, and its generic server tests), against the hub's own HTTP/2: every
// one of its 145 tests must pass. It asks for the console's page, a
// response that ends, as the suite needs.
func TestH2Spec(t *testing.T) {
	if !stream.PooledStreams {
		t.Skip("net/http serves HTTP/2 in this build")
	}
	bin := h2specPath(t)
	s, _ := serveH2(t, nil)
	host, port, _ := strings.Cut(strings.TrimPrefix(s.URL, "https://"), ":")
	// One test (6.9.1/3) races the suite's WINDOW_UPDATEs against the end
	// of a response whose request is still open, which the hub then resets
	// with NO_ERROR (RFC 9113, 8.1), as net/http does: a run may fail it
	// alone; three runs in a row may not.
	var failures []string
	for range 3 {
		out, ok := runH2Spec(t, bin, host, port)
		if ok {
			t.Logf("h2spec: %s", out)
			return
		}
		failures = append(failures, out)
	}
	t.Fatalf("h2spec failed three runs in a row:\n%s", strings.Join(failures, "\n---\n"))
}

// runH2Spec runs the suite once and returns its summary (its whole output
// when it failed), and whether every test passed.
func runH2Spec(t *testing.T, bin, host, port string) (string, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-h", host, "-p", port, "-t", "-k", "-P", "/", "-o", "3").CombinedOutput()
	summary := regexp.MustCompile(`(\d+) tests, (\d+) passed, (\d+) skipped, (\d+) failed`).FindStringSubmatch(string(out))
	if summary == nil || summary[1] != summary[2] || summary[4] != "0" || err != nil {
		return fmt.Sprintf("%v\n%s", err, out), false
	}
	return summary[0], true
}
