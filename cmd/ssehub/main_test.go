package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBinary builds the command with a version set at link time, as
// deploy/Dockerfile does, and checks the version it prints and its exit statuses.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "ssehub")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=v1.2.3-test", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0") // as deploy/Dockerfile builds it
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	tests := []struct {
		args    []string
		code    int
		mention string
	}{
		{[]string{"-version"}, 0, "ssehub v1.2.3-test go"},
		{[]string{"version"}, 0, "ssehub v1.2.3-test go"},
		{[]string{"help"}, 0, "ssehub pub -topic T"},
		{[]string{"pub"}, 2, "-topic is required"},
		{[]string{"nope"}, 2, `unknown command "nope"`},
		{[]string{"-heartbeat", "soon"}, 1, "heartbeat"},
		{[]string{"health", "-url", "http://127.0.0.1:1"}, 1, "unhealthy"},
	}
	for _, tc := range tests {
		out, err := exec.Command(bin, tc.args...).CombinedOutput()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.code || !strings.Contains(string(out), tc.mention) {
			t.Errorf("ssehub %s: exit %d, want %d; output does not mention %q?\n%s", strings.Join(tc.args, " "), code, tc.code, tc.mention, out)
		}
	}
}
