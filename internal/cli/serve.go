package cli

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/ssehub/ssehub/internal/app"
)

// serve runs the hub until ctx ends: ssehub's behaviour when no command is
// named. Its flags, variables and configuration file are app.ParseFlags's.
func serve(ctx context.Context, args []string, env Env) error {
	_, err := app.ParseFlags(args, env.Getenv, env.Stderr)
	switch {
	case errors.Is(err, app.ErrHelp):
		return nil
	case errors.Is(err, app.ErrVersion):
		return version(ctx, nil, env)
	case err != nil:
		return err
	}
	var environ []string
	if env.Environ != nil {
		environ = env.Environ()
	}
	return app.Main(ctx, args, env.Getenv, environ)
}

// version prints the version of the binary.
func version(_ context.Context, args []string, env Env) error {
	fs := newFlagSet("version", "Usage: ssehub version\n\nPrints the version of ssehub.\n", env)
	if err := parse(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "ssehub %s %s %s/%s\n", Version(env.Version), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}

// Version returns v, the version set at link time, or else the module's
// version from the build information ("devel" when it has none).
func Version(v string) string {
	if v != "" {
		return v
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}
