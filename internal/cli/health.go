package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

const healthUsage = `Usage: ssehub health [-ready] [-url URL] [-timeout 3s]

Asks a hub's /healthz whether it is up (with -ready, its /readyz whether it
can serve: not shutting down, its history readable and taking writes):
exits with status 0 and prints its answer when it answers 200, else exits
with status 1. Made for container health checks, where there is no curl:

  HEALTHCHECK CMD ["/ssehub", "health", "-url", "http://127.0.0.1:8080"]

Flags:
`

// health checks a hub's /healthz, or its /readyz.
func health(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet("health", healthUsage, env)
	hubURL := fs.String("url", defaultURL(env), "the hub's root URL, or its health URL")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	ready := fs.Bool("ready", false, "ask /readyz (ready to serve) instead of /healthz (alive)")
	if err := parse(fs, args); err != nil {
		return err
	}
	path := "/healthz"
	if *ready {
		path = "/readyz"
	}
	u, err := endpoint(*hubURL, path)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("unhealthy: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return fmt.Errorf("unhealthy: read the answer: %w", err)
	}
	body = bytes.TrimSpace(body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("unhealthy: %s answered %s: %s", u, resp.Status, body)
	}
	fmt.Fprintf(env.Stdout, "%s\n", body)
	return nil
}
