package app_test

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app"
)

var update = flag.Bool("update", false, "rewrite deploy/ssehub.example.yaml from the flags")

// writeConfig writes a configuration file in a temporary directory.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ssehub.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestConfigFilePrecedence checks that the file sets what neither a flag
// nor a variable sets: flags > environment > file > defaults.
func TestConfigFilePrecedence(t *testing.T) {
	t.Parallel()
	file := writeConfig(t, `# a comment
addr: "127.0.0.1:9999"
heartbeat: 5s
queue-size: 11
history-events: 12
anonymous-subscribe: false
jwt-key: 0123456789abcdef0123456789abcdef
cors-origins: [https://a.example, https://b.example]
sim-tokens-per-second: 12.5
tls-cert: ~
`)
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want func(*app.Config)
	}{
		{"file", []string{"-config", file}, nil, func(c *app.Config) {}},
		{"SSEHUB_CONFIG", nil, map[string]string{"SSEHUB_CONFIG": file}, func(c *app.Config) {}},
		{"environment over file", []string{"-config", file}, map[string]string{"SSEHUB_QUEUE_SIZE": "21"}, func(c *app.Config) {
			c.QueueSize = 21
		}},
		{"flag over environment over file", []string{"-config", file, "-queue-size", "31", "-heartbeat=7s"},
			map[string]string{"SSEHUB_QUEUE_SIZE": "21", "SSEHUB_HISTORY_EVENTS": "22"}, func(c *app.Config) {
				c.QueueSize, c.Heartbeat, c.HistoryEvents = 31, 7*time.Second, 22
			}},
		{"flag -config over SSEHUB_CONFIG", []string{"-config", file}, map[string]string{"SSEHUB_CONFIG": "/nonexistent.yaml"}, func(c *app.Config) {}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := app.ParseFlags(tc.args, env(tc.env), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			want := app.DefaultConfig()
			want.Addr, want.Heartbeat, want.QueueSize, want.HistoryEvents = "127.0.0.1:9999", 5*time.Second, 11, 12
			want.AnonymousSubscribe, want.JWTKey = false, "0123456789abcdef0123456789abcdef"
			want.CORSOrigins, want.SimTokensPerSec = "https://a.example,https://b.example", 12.5
			tc.want(&want)
			if got != want {
				t.Errorf("config\n got %+v\nwant %+v", got, want)
			}
		})
	}
	// -config "" ignores SSEHUB_CONFIG.
	got, err := app.ParseFlags([]string{"-config", ""}, env(map[string]string{"SSEHUB_CONFIG": file}), io.Discard)
	if err != nil || got != app.DefaultConfig() {
		t.Errorf("-config \"\": %v, %+v", err, got)
	}
}

// TestConfigFileErrors checks that a bad file stops with the file, the
// line and the key at fault.
func TestConfigFileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		text     string
		mentions []string
	}{
		{"unknown key", "addr: \":1\"\ncolour: red\n", []string{"ssehub.yaml:2:", `unknown key "colour"`}},
		{"misspelt key", "heartbeet: 5s\n", []string{"ssehub.yaml:1:", `did you mean "heartbeat"`}},
		{"underscores", "jwt_key: x\n", []string{`did you mean "jwt-key"`}},
		{"bad duration", "addr: \":1\"\n\nheartbeat: soon\n", []string{"ssehub.yaml:3:", "heartbeat", `"soon"`, "duration"}},
		{"duration without unit", "write-timeout: 30\n", []string{":1:", "write-timeout", "duration"}},
		{"bad number", "queue-size: lots\n", []string{":1:", "queue-size", "whole number"}},
		{"bad bool", "anonymous-subscribe: maybe\n", []string{":1:", "anonymous-subscribe", "true or false"}},
		{"list", "addr: [a, b]\n", []string{":1:", "addr", "not a list"}},
		{"nested", "llm:\n  model: x\n", []string{":2:", "llm", "nested"}},
		{"duplicate", "retry: 1\nretry: 2\n", []string{":2:", `"retry"`, "line 1"}},
		{"meta key", "config: other.yaml\n", []string{":1:", `"config"`}},
		{"not a mapping", "- addr\n", []string{":1:", "key: value"}},
		{"syntax", "addr: \":1\"\n  heartbeat: 5s\n", []string{"ssehub.yaml:"}},
		{"invalid after parse", "queue-size: 0\n", []string{"queue-size must be positive"}},
		{"every error at once", "colour: red\nheartbeat: x\n", []string{":1:", "colour", ":2:", "heartbeat"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := writeConfig(t, tc.text)
			_, err := app.ParseFlags([]string{"-config", file}, env(nil), io.Discard)
			if err == nil {
				t.Fatal("no error")
			}
			for _, m := range tc.mentions {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
		})
	}
	_, err := app.ParseFlags(nil, env(map[string]string{"SSEHUB_CONFIG": "/nonexistent/ssehub.yaml"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/ssehub.yaml") {
		t.Errorf("missing file: %v", err)
	}
	// A file that only has comments sets nothing.
	got, err := app.ParseFlags([]string{"-config", writeConfig(t, "# nothing\n")}, env(nil), io.Discard)
	if err != nil || got != app.DefaultConfig() {
		t.Errorf("comments only: %v %+v", err, got)
	}
}

// TestParseFlagsVersion checks -version, which wins over a broken file.
func TestParseFlagsVersion(t *testing.T) {
	t.Parallel()
	_, err := app.ParseFlags([]string{"-version"}, env(map[string]string{"SSEHUB_CONFIG": "/nonexistent.yaml"}), io.Discard)
	if !errors.Is(err, app.ErrVersion) {
		t.Errorf("-version: %v, want ErrVersion", err)
	}
	if _, err := app.ParseFlags(nil, env(map[string]string{"SSEHUB_VERSION": "true"}), io.Discard); err != nil {
		t.Errorf("SSEHUB_VERSION is not a setting: %v", err)
	}
	var usage bytes.Buffer
	if _, err := app.ParseFlags([]string{"-h"}, env(nil), &usage); !errors.Is(err, app.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	for _, want := range []string{"Usage: ssehub [serve]", "-config", "-version", "-heartbeat", "SSEHUB_"} {
		if !strings.Contains(usage.String(), want) {
			t.Errorf("usage does not mention %q:\n%s", want, usage.String())
		}
	}
}

// keyLine is a commented-out setting of the example file.
var keyLine = regexp.MustCompile(`(?m)^#([a-z0-9-]+): (.*)$`)

// TestExampleConfig keeps deploy/ssehub.example.yaml equal to what the
// flags generate (run with -update to rewrite it), checks that it lists
// every flag, and that uncommenting every key gives the defaults.
func TestExampleConfig(t *testing.T) {
	t.Parallel()
	path := filepath.Join("..", "..", "deploy", "ssehub.example.yaml")
	gen := app.ExampleConfig()
	if *update {
		if err := os.WriteFile(path, gen, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(file, gen) {
		t.Errorf("%s is not what the flags generate: run go test ./internal/app -run TestExampleConfig -update", path)
	}

	listed := map[string]bool{}
	for _, m := range keyLine.FindAllStringSubmatch(string(file), -1) {
		listed[m[1]] = true
	}
	var usage bytes.Buffer
	app.ParseFlags([]string{"-h"}, env(nil), &usage)
	flags := regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`).FindAllStringSubmatch(usage.String(), -1)
	if len(flags) < 40 {
		t.Fatalf("found %d flags in the usage text", len(flags))
	}
	for _, f := range flags {
		if name := f[1]; !listed[name] && name != "config" && name != "version" {
			t.Errorf("flag -%s is missing from %s", name, path)
		}
	}

	all := keyLine.ReplaceAllString(string(file), "$1: $2")
	got, err := app.ParseFlags([]string{"-config", writeConfig(t, all)}, env(nil), io.Discard)
	if err != nil {
		t.Fatalf("the example with every key uncommented: %v", err)
	}
	if got != app.DefaultConfig() {
		t.Errorf("the example's values are not the defaults:\n got %+v\nwant %+v", got, app.DefaultConfig())
	}
}

// TestREADMEListsEveryFlag checks that the README's configuration table has
// a row for every flag, with its environment variable.
func TestREADMEListsEveryFlag(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var usage bytes.Buffer
	app.ParseFlags([]string{"-h"}, env(nil), &usage)
	for _, f := range regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`).FindAllStringSubmatch(usage.String(), -1) {
		if name := f[1]; name != "version" {
			if row := "| `-" + name + "` | `" + app.EnvName(name) + "` |"; !bytes.Contains(readme, []byte(row)) {
				t.Errorf("README.md has no row %s", row)
			}
		}
	}
}
