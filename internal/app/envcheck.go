package app

import (
	"flag"
	"io"
	"slices"
	"strings"
)

// clientVariables are the SSEHUB_* variables of ssehub's client commands
// (pub, sub, health): not settings of the hub, yet not mistakes either.
var clientVariables = []string{"SSEHUB_URL", "SSEHUB_TOKEN"}

// UnknownEnv returns, sorted, the SSEHUB_* names in environ ("NAME=value")
// that no setting reads. Such a variable is most often a misspelt setting,
// which would otherwise be ignored without a word.
func UnknownEnv(environ []string) []string {
	cfg := DefaultConfig()
	known := map[string]bool{}
	flagSet(&cfg, io.Discard).VisitAll(func(f *flag.Flag) { known[EnvName(f.Name)] = true })
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "SSEHUB_") && !known[name] && !slices.Contains(clientVariables, name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
