package e2e

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app"
)

// serverOptions adjust the server of one test.
type serverOptions struct {
	configure func(*app.Config)               // changes the defaults
	wrap      func(http.Handler) http.Handler // goes in front of ssehub's handler
	h2        bool                            // serve HTTP/2 over TLS (a self-signed certificate)
}

// startServer serves the whole of ssehub on 127.0.0.1. The hub and the
// server are closed when the test ends. Start the server before the browser,
// so that the browser closes first.
func startServer(t testing.TB, opts serverOptions) *httptest.Server {
	t.Helper()
	cfg := app.DefaultConfig()
	cfg.DataDir = t.TempDir() // the default, durable history
	// Models hundreds of times faster than the real one, under -race on
	// shared cores, publish tokens late by the hub's measure; these tests
	// are about the answers: admission has tests of its own (llmapi).
	cfg.LLMMaxLateness = 0
	if opts.configure != nil {
		opts.configure(&cfg)
	}
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.New(cfg, logger)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	h := a.Handler()
	if opts.wrap != nil {
		h = opts.wrap(h)
	}
	srv := httptest.NewUnstartedServer(h)
	if opts.h2 {
		srv.EnableHTTP2 = true
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.Close(ctx); err != nil {
			t.Errorf("close app: %v", err)
		}
		srv.Close()
	})
	return srv
}

// repoRoot is the directory of go.mod, found from the working directory up.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// seedPage returns the seed demo's original HTML page, from <!DOCTYPE html>
// to </html>, read from shared/ beside the repository. Without the file the
// test skips, or fails under CI=true.
func seedPage(t *testing.T) string {
	t.Helper()
	path := filepath.Join(repoRoot(t), "..", "shared", "seed", "thinkphp-sse-demo.txt")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("seed page missing under CI: %v", err)
		}
		t.Skipf("seed page missing: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "<!DOCTYPE html>")
	end := strings.Index(text, "</html>")
	if start < 0 || end < start {
		t.Fatalf("%s: no <!DOCTYPE html> … </html> page in it", path)
	}
	return text[start : end+len("</html>")]
}
