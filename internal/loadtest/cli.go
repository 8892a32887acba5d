package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Main runs ssehub-bench with args and returns the exit code: 0 for a
// complete run, 1 for a failed or incomplete one or one that opened no
// stream (whatever was measured is still printed), 2 for bad flags. With -child it serves a parent's
// subscribers over stdin and stdout instead.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	cfg, err := ParseFlags(args, getenv, stderr)
	if errors.Is(err, ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "ssehub-bench:", err)
		return 2
	}
	if _, err := raiseFileLimit(); err != nil {
		fmt.Fprintln(stderr, "ssehub-bench: raise the open-files limit:", err)
	}
	if cfg.child != nil {
		ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
		defer cancel()
		if err := runChild(ctx, cfg, stdin, stdout); err != nil {
			fmt.Fprintf(stderr, "ssehub-bench child %d:%d: %v\n", cfg.child.First, cfg.child.Count, err)
			return 1
		}
		return 0
	}
	if cfg.Mode == ModeGenerations {
		return mainGenerations(ctx, cfg, stdout, stderr)
	}
	res, err := Run(ctx, cfg, stderr)
	if res != nil {
		if !cfg.JSON {
			_ = res.WriteTable(stdout)
		}
		_ = res.WriteJSON(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "ssehub-bench:", err)
		return 1
	}
	switch {
	case res.TimedOut:
		fmt.Fprintln(stderr, "ssehub-bench: the run reached -timeout; the results are partial")
		return 1
	case res.Connections == 0:
		fmt.Fprintln(stderr, "ssehub-bench: no stream could be opened")
		return 1
	}
	return 0
}

// mainGenerations runs the generations mode and returns the exit code.
func mainGenerations(ctx context.Context, cfg Config, stdout, stderr io.Writer) int {
	res, err := RunGenerations(ctx, cfg, stderr)
	if res != nil {
		if !cfg.JSON {
			_ = res.WriteTable(stdout)
		}
		_ = res.WriteJSON(stdout)
	}
	switch {
	case err != nil:
		fmt.Fprintln(stderr, "ssehub-bench:", err)
		return 1
	case res.TimedOut:
		fmt.Fprintln(stderr, "ssehub-bench: the run reached -timeout; the results are partial")
		return 1
	case res.Started == 0:
		fmt.Fprintln(stderr, "ssehub-bench: no generation could be started")
		return 1
	}
	return 0
}
