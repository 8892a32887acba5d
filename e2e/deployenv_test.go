package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// deployEnv is the environment a node of deploy/compose/compose.yaml runs
// with: the ENV of deploy/Dockerfile, then the compose file's x-node
// environment, then set (for what only exists inside compose: Redis's
// address, the key, the data directory). It fails the test when set names
// a variable neither file has, so the files and the tests stay in step.
func deployEnv(t *testing.T, set map[string]string) []string {
	t.Helper()
	vars := dockerfileEnv(t)
	for k, v := range composeNodeEnv(t) {
		vars[k] = v
	}
	for k, v := range set {
		if _, ok := vars[k]; !ok {
			t.Fatalf("%s is in neither deploy/Dockerfile nor deploy/compose/compose.yaml", k)
		}
		vars[k] = v
	}
	env := make([]string, 0, len(vars))
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return hermeticEnv(env...)
}

// composeNodeEnv is the environment of the x-node anchor of compose.yaml.
func composeNodeEnv(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "compose", "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Node struct {
			Environment map[string]string `yaml:"environment"`
		} `yaml:"x-node"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	if len(f.Node.Environment) == 0 {
		t.Fatal("compose.yaml: no x-node environment")
	}
	return f.Node.Environment
}

// dockerfileEnv is the ENV instruction of deploy/Dockerfile's last stage.
func dockerfileEnv(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(b), "\\\n", " ")
	m := regexp.MustCompile(`(?m)^ENV\s+(.+)$`).FindAllStringSubmatch(text, -1)
	if len(m) == 0 {
		t.Fatal("deploy/Dockerfile: no ENV")
	}
	vars := map[string]string{}
	for _, kv := range strings.Fields(m[len(m)-1][1]) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			t.Fatalf("deploy/Dockerfile: ENV %q is not NAME=value", kv)
		}
		vars[k] = v
	}
	return vars
}
