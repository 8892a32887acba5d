package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/ssehub/ssehub/client"
	"github.com/ssehub/ssehub/internal/sse"
)

const subUsage = `Usage: ssehub sub -topic T [-topic U]... [flags]

Prints the events of topics (exact topics, "*" or URI templates) as they
arrive. When the stream breaks it reconnects by itself and resumes after the
last event printed, so nothing is missed or repeated while the hub's history
holds them. Stops after -n events, or on Ctrl-C.

  ssehub sub -topic chat
  ssehub sub -topic chat -from earliest -n 10 -format json

Flags:
`

// subOptions are the flags of sub.
type subOptions struct {
	url, from, token string
	topics           list
	write            func(io.Writer, client.Event) error
	n                int
	verbose          bool
}

// parseSub reads the flags of sub.
func parseSub(args []string, env Env) (*subOptions, error) {
	fs := newFlagSet("sub", subUsage, env)
	o := &subOptions{}
	fs.StringVar(&o.url, "url", defaultURL(env), "the hub: its root URL or its subscribe endpoint (.well-known/mercure, /events)")
	fs.Var(&o.topics, "topic", "`topic` selector to subscribe to; repeat for several")
	fs.StringVar(&o.from, "from", "", `start after this event id, or "earliest" for all the hub still holds (default: the next event published)`)
	format := fs.String("format", "raw", `output: "raw" (the SSE fields, as on the wire), "json" (one object a line) or "data" (the data alone)`)
	fs.IntVar(&o.n, "n", 0, "stop after this many events (0: never)")
	fs.StringVar(&o.token, "token", "", "JWT with a mercure.subscribe claim, for private updates or a hub that wants one (default $SSEHUB_TOKEN)")
	fs.BoolVar(&o.verbose, "v", false, "log reconnections to standard error")
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	o.write = writers[*format]
	switch {
	case len(o.topics) == 0:
		return nil, usagef("-topic is required")
	case o.write == nil:
		return nil, usagef("-format %q: want raw, json or data", *format)
	case o.n < 0:
		return nil, usagef("-n must not be negative")
	}
	if o.token == "" {
		o.token = env.Getenv("SSEHUB_TOKEN")
	}
	var err error
	o.url, err = endpoint(o.url, "/.well-known/mercure")
	return o, err
}

// sub prints the events of topics until -n events, ctx's end or a refusal.
func sub(ctx context.Context, args []string, env Env) error {
	o, err := parseSub(args, env)
	if err != nil {
		return err
	}
	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelInfo
	}
	opts := append(tokenOption(o.token), client.WithLogger(slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: level}))))
	c, err := client.New(o.url, opts...)
	if err != nil {
		return usagef("%v", err)
	}
	s, err := c.Subscribe(ctx, o.topics, client.FromID(o.from))
	if err != nil {
		return subscribeError(ctx, err, o.token)
	}
	defer s.Close()
	count := 0
	for ev := range s.Events() {
		if err := o.write(env.Stdout, ev); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		if count++; o.n > 0 && count >= o.n {
			return nil
		}
	}
	if o.verbose {
		fmt.Fprintf(env.Stderr, "ssehub sub: stopped after %d events; resume with -from %q\n", count, s.LastEventID())
	}
	return subscribeError(ctx, s.Err(), o.token)
}

// subscribeError is nil when the subscription ended because ctx did (Ctrl-C).
func subscribeError(ctx context.Context, err error, tok string) error {
	if err == nil || (ctx.Err() != nil && errors.Is(err, ctx.Err())) {
		return nil
	}
	return withHint(err, tok)
}

// writers print an event in each -format.
var writers = map[string]func(io.Writer, client.Event) error{
	"raw": func(w io.Writer, ev client.Event) error {
		return sse.Encode(w, sse.Event{ID: ev.ID, Type: ev.Type, Data: ev.Data, Retry: int(ev.Retry.Milliseconds())})
	},
	"json": func(w io.Writer, ev client.Event) error {
		typ := ev.Type
		if typ == "" {
			typ = "message"
		}
		b, err := json.Marshal(jsonEvent{ID: ev.ID, Type: typ, Data: ev.Data, Retry: ev.Retry.Milliseconds(), Gap: ev.Gap})
		if err != nil {
			return err
		}
		_, err = w.Write(append(b, '\n'))
		return err
	},
	"data": func(w io.Writer, ev client.Event) error {
		_, err := fmt.Fprintln(w, ev.Data)
		return err
	},
}

// jsonEvent is an event as -format json prints it.
type jsonEvent struct {
	ID    string `json:"id"`
	Type  string `json:"type"`
	Data  string `json:"data"`
	Retry int64  `json:"retry,omitempty"` // milliseconds
	Gap   bool   `json:"gap,omitempty"`   // events may be missing before this one
}
