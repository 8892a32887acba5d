// Package cli is the command line of the ssehub binary: serve (the hub,
// the default command), pub, sub, token, health and version. cmd/ssehub
// calls Run; tests call it too, with their own output and environment.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
)

// Env is what a command runs with.
type Env struct {
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
	Getenv  func(string) string
	Environ func() []string // the whole environment, to warn of unknown SSEHUB_* names; may be nil
	Version string          // set at link time; empty reads the module's build information
}

// Exit statuses of Run.
const (
	ExitOK      = 0 // done
	ExitFailure = 1 // the command failed: the hub refused, could not be reached…
	ExitUsage   = 2 // the command was called wrongly
)

// command is one subcommand.
type command struct {
	run      func(ctx context.Context, args []string, env Env) error
	synopsis string // how it is called, for the top-level usage
	summary  string // what it does
}

var commands = map[string]command{
	"serve":   {serve, "[serve] [flags]", "run the hub (the default command; ssehub -h lists its settings)"},
	"pub":     {pub, "pub -topic T -data D", "publish an update and print its id"},
	"sub":     {sub, "sub -topic T", "print events as they arrive, reconnecting and resuming by itself"},
	"token":   {token, "token -key SECRET", "mint an HS256 JWT for development"},
	"health":  {health, "health [-url URL]", "check that a hub is up (for container health checks)"},
	"version": {version, "version", "print the version"},
}

// aliases are the other names of commands.
var aliases = map[string]string{"publish": "pub", "subscribe": "sub"}

const topUsage = `ssehub: a Server-Sent Events hub speaking the Mercure protocol.

Usage:
`

const topUsageEnd = `
Run "ssehub COMMAND -h" for a command's flags. pub, sub and health talk to
the hub at -url (default: $SSEHUB_URL, else http://localhost:8080); pub and
sub send the JWT of -token (default: $SSEHUB_TOKEN).
`

// order is the order of the commands in the usage text.
var order = []string{"serve", "pub", "sub", "token", "health", "version"}

func printUsage(w io.Writer) {
	fmt.Fprint(w, topUsage)
	for _, name := range order {
		fmt.Fprintf(w, "  ssehub %-22s %s\n", commands[name].synopsis, commands[name].summary)
	}
	fmt.Fprint(w, topUsageEnd)
}

// Run runs the command named by args[0], or serve when args is empty or
// starts with a flag, and returns the exit status. Errors are written to
// env.Stderr.
func Run(ctx context.Context, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	name, rest := "serve", args
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, rest = args[0], args[1:]
	}
	if a, ok := aliases[name]; ok {
		name = a
	}
	if name == "help" {
		return help(ctx, rest, env)
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(env.Stderr, "ssehub: unknown command %q\n\n", name)
		printUsage(env.Stderr)
		return ExitUsage
	}
	return report(env.Stderr, name, cmd.run(ctx, rest, env))
}

// help prints the usage of everything, or of one command.
func help(ctx context.Context, args []string, env Env) int {
	if len(args) == 0 {
		printUsage(env.Stdout)
		return ExitOK
	}
	return Run(ctx, []string{args[0], "-h"}, env)
}

// errFlags is returned for flags the flag package already reported.
var errFlags = errors.New("bad flags")

// usageError is a command called wrongly.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// report writes err and returns the exit status it means.
func report(stderr io.Writer, name string, err error) int {
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.Is(err, errFlags):
		return ExitUsage
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "ssehub %s: %v\nRun \"ssehub %s -h\" for usage.\n", name, err, name)
		return ExitUsage
	}
	if name == "serve" {
		fmt.Fprintf(stderr, "ssehub: %v\n", err)
	} else {
		fmt.Fprintf(stderr, "ssehub %s: %v\n", name, err)
	}
	return ExitFailure
}

// newFlagSet returns a command's flag set, whose usage is usage followed by
// the flags.
func newFlagSet(name, usage string, env Env) *flag.FlagSet {
	fs := flag.NewFlagSet("ssehub "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args, refusing arguments left over.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errFlags
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q (give values with flags, e.g. -data %q)", fs.Arg(0), fs.Arg(0))
	}
	return nil
}

// list is a flag that may be given several times.
type list []string

func (l *list) String() string     { return strings.Join(*l, ", ") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

// defaultURL is the hub of pub, sub and health: $SSEHUB_URL or localhost.
func defaultURL(env Env) string {
	if u := env.Getenv("SSEHUB_URL"); u != "" {
		return u
	}
	return "http://localhost:8080"
}

// endpoint resolves a hub URL given as its root (http://host:8080) or as a
// full endpoint URL: a root gets path, a URL with a path is kept.
func endpoint(raw, path string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", usagef("-url %q: want an http(s) URL such as http://localhost:8080", raw)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = path
	}
	return u.String(), nil
}
