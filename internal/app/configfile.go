package app

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// The configuration file is YAML: one "key: value" line per setting, the
// keys being the flag names without their dash (addr, heartbeat, jwt-key…).
// Its values are parsed exactly as the flag's would be, so "15s" is a
// duration and "true" a boolean; a list is accepted for cors-origins,
// trusted-proxies, webhook-events and auth-forward-headers.

// metaFlags are the flags that are not settings: they cannot be set in a
// configuration file or by their SSEHUB_* variable (SSEHUB_CONFIG is read
// on its own).
var metaFlags = map[string]bool{"config": true, "version": true}

// listKeys are the settings whose value may be written as a YAML list,
// joined with commas.
var listKeys = map[string]bool{"cors-origins": true, "trusted-proxies": true, "webhook-events": true, "auth-forward-headers": true, "jwt-issuer": true, "jwt-jwks-url": true}

// setting is one "key: value" of a configuration file.
type setting struct {
	key, value string
	line       int
}

// loadFile sets the flags of fs named by the keys of the YAML file at path.
// Every unknown key and bad value is reported, with the file and line.
func loadFile(fs *flag.FlagSet, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	settings, err := parseFile(path, b)
	if err != nil {
		return err
	}
	var errs []error
	for _, s := range settings {
		if err := applySetting(fs, s); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %w", path, s.line, err))
		}
	}
	return errors.Join(errs...)
}

// applySetting sets the flag of s.
func applySetting(fs *flag.FlagSet, s setting) error {
	f := fs.Lookup(s.key)
	switch {
	case metaFlags[s.key]:
		return fmt.Errorf("%q is not a setting and cannot be in a config file", s.key)
	case f == nil:
		if near := nearestFlag(fs, s.key); near != "" {
			return fmt.Errorf("unknown key %q (did you mean %q?)", s.key, near)
		}
		return fmt.Errorf("unknown key %q (the keys are the flags of ssehub serve -h, without the dash)", s.key)
	}
	if err := fs.Set(s.key, s.value); err != nil {
		return fmt.Errorf("%s: invalid value %q: want %s", s.key, s.value, kindOf(f))
	}
	return nil
}

// yamlLine matches the line number in yaml.v3's error messages.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// parseFile reads the top-level "key: value" pairs of a YAML document.
func parseFile(path string, b []byte) ([]setting, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		msg := err.Error()
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			return nil, fmt.Errorf("%s:%s: %s", path, m[1], msg[len(m[0]):])
		}
		return nil, fmt.Errorf("%s: %s", path, strings.TrimPrefix(msg, "yaml: "))
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil // empty, or only comments
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: want \"key: value\" lines at the top level, such as addr: \":8080\"", path, top.Line)
	}
	var (
		out  []setting
		errs []error
		seen = map[string]int{}
	)
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			errs = append(errs, fmt.Errorf("%s:%d: a key must be a plain name such as heartbeat", path, k.Line))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			errs = append(errs, fmt.Errorf("%s:%d: key %q is already set on line %d", path, k.Line, k.Value, first))
			continue
		}
		seen[k.Value] = k.Line
		value, err := scalar(k.Value, v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %w", path, v.Line, err))
			continue
		}
		out = append(out, setting{key: k.Value, value: value, line: k.Line})
	}
	return out, errors.Join(errs...)
}

// scalar returns the text of a value node: a scalar as written (null as
// the empty string), or a list of scalars joined with commas for listKeys.
func scalar(key string, v *yaml.Node) (string, error) {
	switch {
	case v.Kind == yaml.ScalarNode && v.Tag == "!!null":
		return "", nil
	case v.Kind == yaml.ScalarNode:
		return v.Value, nil
	case v.Kind == yaml.SequenceNode && listKeys[key]:
		items := make([]string, 0, len(v.Content))
		for _, it := range v.Content {
			if it.Kind != yaml.ScalarNode {
				return "", fmt.Errorf("%s: want a list of plain values", key)
			}
			items = append(items, it.Value)
		}
		return strings.Join(items, ","), nil
	case v.Kind == yaml.SequenceNode:
		return "", fmt.Errorf("%s: want one value, not a list", key)
	case v.Kind == yaml.MappingNode:
		return "", fmt.Errorf("%s: want one value, not nested keys (the file is flat: one key per flag)", key)
	default:
		return "", fmt.Errorf("%s: want one plain value (anchors and aliases are not supported)", key)
	}
}

// kindOf describes the values flag f accepts.
func kindOf(f *flag.Flag) string {
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return "a valid value"
	}
	switch g.Get().(type) {
	case time.Duration:
		return "a duration such as 15s, 2m or 1h30m"
	case bool:
		return "true or false"
	case int, int64, uint, uint64:
		return "a whole number"
	case float64:
		return "a number"
	default:
		return "a valid value"
	}
}

// nearestFlag returns the flag a mistyped key most likely meant, or "".
func nearestFlag(fs *flag.FlagSet, key string) string {
	norm := strings.ToLower(strings.ReplaceAll(strings.TrimLeft(key, "-"), "_", "-"))
	best, bestDist := "", 3 // suggest only within two edits
	fs.VisitAll(func(f *flag.Flag) {
		if metaFlags[f.Name] {
			return
		}
		if d := editDistance(norm, f.Name); d < bestDist {
			best, bestDist = f.Name, d
		}
	})
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// ExampleConfig returns a configuration file listing every setting,
// commented out, with its default value and its description: the file
// deploy/ssehub.example.yaml, which a test keeps equal to it.
func ExampleConfig() []byte {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("ssehub", flag.ContinueOnError)
	settingFlags(fs, &cfg)
	var b strings.Builder
	b.WriteString(exampleHeader)
	fs.VisitAll(func(f *flag.Flag) {
		b.WriteString("\n")
		for _, line := range wrap(f.Usage, 76) {
			fmt.Fprintf(&b, "# %s\n", line)
		}
		fmt.Fprintf(&b, "#%s: %s\n", f.Name, yamlValue(f))
	})
	return []byte(b.String())
}

const exampleHeader = `# ssehub configuration file (YAML).
#
#   ssehub -config /etc/ssehub/ssehub.yaml     (or SSEHUB_CONFIG=/etc/ssehub/ssehub.yaml)
#
# Every key is a flag of "ssehub serve" without its dash, and takes the same
# values: durations such as 15s or 1h, whole numbers, true/false, strings.
# Flags win over SSEHUB_* environment variables, which win over this file,
# which wins over the built-in defaults. An unknown key or a bad value stops
# startup with a message naming the key and its line. Relative paths are
# taken from the working directory, not from this file's.
#
# Below is every key, commented out, with its default value: uncomment and
# change the ones you need.
#
# Generated from the flags (go test ./internal/app -run TestExampleConfig -update).
`

// yamlValue writes f's default as a YAML value: strings quoted, the rest
// as the flag prints it.
func yamlValue(f *flag.Flag) string {
	if g, ok := f.Value.(flag.Getter); ok {
		if _, isString := g.Get().(string); isString {
			q, _ := json.Marshal(f.DefValue) // a JSON string is a YAML double-quoted string
			return string(q)
		}
	}
	return f.DefValue
}

// wrap splits text into lines of at most width bytes, at spaces.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	return append(lines, line)
}
