package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ssehub/ssehub/client"
)

const pubUsage = `Usage: ssehub pub -topic T [-topic U]... -data D [flags]

Publishes an update to a hub and prints its id.

  ssehub pub -topic chat -data hello
  ssehub pub -url https://hub.example.com -token "$JWT" -topic chat -type alert -data '{"level":"high"}'
  date | ssehub pub -topic clock -data -

Flags:
`

// maxStdinData bounds the data read from standard input by -data -.
const maxStdinData = 16 << 20

// pub publishes one update and prints its id.
func pub(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet("pub", pubUsage, env)
	var topics list
	hubURL := fs.String("url", defaultURL(env), "the hub: its root URL or its endpoint (.well-known/mercure, /publish)")
	fs.Var(&topics, "topic", "`topic` of the update; repeat for alternate topics (the first is canonical)")
	data := fs.String("data", "", `the event's data; "-" reads it from standard input`)
	typ := fs.String("type", "", `the event type (default "message")`)
	id := fs.String("id", "", "the event id (default: one the hub generates)")
	retry := fs.Duration("retry", 0, "reconnection time sent to subscribers with the event, e.g. 5s")
	private := fs.Bool("private", false, "deliver only to subscribers whose token allows one of the topics")
	tok := fs.String("token", "", "JWT with a mercure.publish claim (default $SSEHUB_TOKEN; see ssehub token)")
	timeout := fs.Duration("timeout", 10*time.Second, "give up after this long")
	if err := parse(fs, args); err != nil {
		return err
	}
	if len(topics) == 0 {
		return usagef("-topic is required")
	}
	if *tok == "" {
		*tok = env.Getenv("SSEHUB_TOKEN")
	}
	u, err := endpoint(*hubURL, "/.well-known/mercure")
	if err != nil {
		return err
	}
	if *data == "-" {
		b, err := io.ReadAll(io.LimitReader(env.Stdin, maxStdinData))
		if err != nil {
			return fmt.Errorf("read standard input: %w", err)
		}
		*data = strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r") // as $(…) would
	}
	c, err := client.New(u, tokenOption(*tok)...)
	if err != nil {
		return usagef("%v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	got, err := c.Publish(ctx, client.Update{
		Topics: topics, Data: *data, ID: *id, Type: *typ, Retry: *retry, Private: *private,
	})
	if err != nil {
		return withHint(err, *tok)
	}
	fmt.Fprintln(env.Stdout, got)
	return nil
}

// tokenOption sends tok when it is set.
func tokenOption(tok string) []client.Option {
	if tok == "" {
		return nil
	}
	return []client.Option{client.WithToken(tok)}
}

// withHint adds what to do to an authorization refusal.
func withHint(err error, tok string) error {
	var ce *client.Error
	if !errors.As(err, &ce) {
		return err
	}
	switch {
	case ce.Status == http.StatusUnauthorized && tok == "":
		return fmt.Errorf("%w\nhint: the hub wants a JWT: give -token (or SSEHUB_TOKEN); ssehub token -key SECRET -publish '*' mints one", err)
	case ce.Status == http.StatusForbidden && tok == "":
		return fmt.Errorf("%w\nhint: without a JWT a hub in development mode accepts publishes from its own machine only: give -token", err)
	case ce.Status == http.StatusUnauthorized || ce.Status == http.StatusForbidden:
		return fmt.Errorf("%w\nhint: check that the token is signed with the hub's -jwt-key and allows these topics", err)
	}
	return err
}
