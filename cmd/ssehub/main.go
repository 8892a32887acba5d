// Command ssehub serves a Server-Sent Events hub (Mercure protocol) and its
// web console, and talks to one: ssehub pub, sub, token, health. Run
// "ssehub help" for the commands and "ssehub -h" for the hub's settings.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/ssehub/ssehub/internal/cli"
)

// version is set at link time: go build -ldflags "-X main.version=v1.2.3".
// Empty, the version comes from the module's build information.
var version string

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], cli.Env{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Environ: os.Environ, Version: version,
	})
	stop()
	os.Exit(code)
}
