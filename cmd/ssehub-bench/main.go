// Command ssehub-bench load-tests a Mercure-protocol hub on this machine
// (ssehub or another): many subscriber streams, timed events, and the
// delivery, loss, latency, memory and CPU figures of the run, as one JSON
// line. It only connects to loopback addresses. Run it with -h for its
// flags; docs/loadtest.md explains them.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/ssehub/ssehub/internal/loadtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := loadtest.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
