package jsclient

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// sizeBudget is the most dist/ssehub.js may weigh minified and gzipped.
const sizeBudget = 6 * 1024

// tool finds a program the tests need: missing, it skips the test, or
// fails it under CI (where make deps installs it).
func tool(t *testing.T, path string) string {
	t.Helper()
	p, err := exec.LookPath(path)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s missing under CI (run make deps): %v", path, err)
		}
		t.Skipf("%s missing (run make deps): %v", path, err)
	}
	return p
}

// TestBuildReproducible builds the client again with the pinned esbuild
// and TypeScript compiler (which type-checks src/ strictly) and fails
// when the committed dist/ssehub.js or a declaration of dist/types is not
// what src/ builds to.
func TestBuildReproducible(t *testing.T) {
	bin := filepath.Join("..", "..", "e2e", "node", "node_modules", ".bin")
	esbuild, tsc := tool(t, filepath.Join(bin, "esbuild")), tool(t, filepath.Join(bin, "tsc"))
	out := t.TempDir()
	cmd := exec.Command("./build.sh", out)
	cmd.Env = append(os.Environ(), "ESBUILD="+esbuild, "TSC="+tsc)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build.sh: %v\n%s", err, b)
	}
	built, err := os.ReadFile(filepath.Join(out, "ssehub.js"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(built, Source) {
		t.Fatalf("dist/ssehub.js (%d bytes) is not what src/ builds to (%d bytes): run clients/js/build.sh and commit dist/",
			len(Source), len(built))
	}
	sameDir(t, filepath.Join(out, "types"), filepath.Join("dist", "types"))
}

// sameDir fails unless the directories hold the same files, byte for byte.
func sameDir(t *testing.T, built, committed string) {
	t.Helper()
	want, _ := filepath.Glob(filepath.Join(built, "*"))
	got, _ := filepath.Glob(filepath.Join(committed, "*"))
	if len(got) != len(want) || len(want) == 0 {
		t.Fatalf("%s holds %d files, the build %d: run clients/js/build.sh and commit dist/", committed, len(got), len(want))
	}
	for _, w := range want {
		b, _ := os.ReadFile(w)
		c, err := os.ReadFile(filepath.Join(committed, filepath.Base(w)))
		if err != nil || !bytes.Equal(b, c) {
			t.Fatalf("%s is not what src/ builds to: run clients/js/build.sh and commit dist/ (%v)", filepath.Join(committed, filepath.Base(w)), err)
		}
	}
}

// TestTypes type-checks a program using the package through its
// declarations, as a TypeScript user of @ssehub/client would.
func TestTypes(t *testing.T) {
	tsc := tool(t, filepath.Join("..", "..", "e2e", "node", "node_modules", ".bin", "tsc"))
	cmd := exec.Command(tsc, "--ignoreConfig", "--noEmit", "--strict", "--target", "es2022", "--module", "nodenext",
		"--moduleResolution", "nodenext", "--lib", "es2022,dom", filepath.Join("test", "usage.ts"))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tsc on test/usage.ts: %v\n%s", err, b)
	}
}

// TestVersion checks that the file names the version of package.json.
func TestVersion(t *testing.T) {
	b, err := os.ReadFile("package.json")
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct{ Name, Version string }
	if err := json.Unmarshal(b, &pkg); err != nil {
		t.Fatal(err)
	}
	if pkg.Name != "@ssehub/client" || Version != pkg.Version {
		t.Fatalf("package %s %s, embedded version %q", pkg.Name, pkg.Version, Version)
	}
}

// TestSize keeps the client within its budget, minified and gzipped.
func TestSize(t *testing.T) {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(Source)
	zw.Close()
	t.Logf("dist/ssehub.js: %d bytes, %d gzipped (budget %d)", len(Source), buf.Len(), sizeBudget)
	if buf.Len() > sizeBudget {
		t.Fatalf("dist/ssehub.js is %d bytes gzipped: over the budget of %d", buf.Len(), sizeBudget)
	}
}

// TestNode runs the client's unit tests (test/*.test.mjs) with Node's test
// runner, against the built dist/ssehub.js.
func TestNode(t *testing.T) {
	node := tool(t, "node")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	files, _ := filepath.Glob(filepath.Join("test", "*.test.mjs"))
	cmd := exec.CommandContext(ctx, node, append([]string{"--test", "--test-reporter=dot"}, files...)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node --test: %v\n%s", err, b)
	}
}
