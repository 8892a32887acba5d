package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"time"

	"github.com/ssehub/ssehub/internal/sse"
)

// temporary is a connection failure worth retrying, with the wait the hub
// asked for.
type temporary struct {
	err   error
	after time.Duration
}

func (t *temporary) Error() string { return t.err.Error() }
func (t *temporary) Unwrap() error { return t.err }

// conn is one open event stream.
type conn struct {
	resp   *http.Response
	cancel context.CancelFunc // ends the request; called once the stream is read
}

// run is the subscription's goroutine: it delivers the events of the open
// stream c and reconnects whenever the stream ends, until the context ends
// or a reconnection is refused for good.
func (s *Subscription) run(c *conn) {
	defer close(s.done)
	defer s.cancel(errClosed) // release the context when the hub refused us
	ctx := s.ctx
	for {
		opened := time.Now()
		delivered, err := s.read(ctx, c)
		if ctx.Err() != nil || errors.Is(err, sse.ErrTooLarge) {
			s.finish(err)
			return
		}
		if delivered || time.Since(opened) >= s.c.maxDelay {
			s.failures = 0 // a healthy stream: back off from the start
		} else {
			s.failures++
		}
		if err == nil {
			err = io.EOF
		}
		wait := s.delay(0)
		s.c.log.LogAttrs(ctx, slog.LevelInfo, "ssehub client: stream ended, reconnecting",
			slog.String("url", s.url), slog.String("reason", err.Error()),
			slog.String("last_event_id", s.LastEventID()), slog.Duration("delay", wait))
		if c, err = s.dial(ctx, wait); err != nil {
			s.finish(err)
			return
		}
	}
}

// dial opens the stream, trying again after failures that may pass, until
// it is open, refused for good, or ctx ends. wait is the delay before the
// first attempt.
func (s *Subscription) dial(ctx context.Context, wait time.Duration) (*conn, error) {
	for {
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
		c, err := s.open(ctx)
		if err == nil {
			return c, nil
		}
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		var t *temporary
		if !errors.As(err, &t) {
			s.c.log.LogAttrs(ctx, slog.LevelError, "ssehub client: subscription refused",
				slog.String("url", s.url), slog.String("error", err.Error()))
			return nil, err
		}
		s.failures++
		wait = s.delay(t.after)
		s.c.log.LogAttrs(ctx, slog.LevelWarn, "ssehub client: connection failed, retrying",
			slog.String("url", s.url), slog.String("error", err.Error()),
			slog.Int("failures", s.failures), slog.Duration("delay", wait))
	}
}

// open makes one connection attempt. Failures worth retrying are returned
// as *temporary.
func (s *Subscription) open(ctx context.Context) (*conn, error) {
	ctx, cancel := context.WithCancel(ctx)
	resp, sent, err := s.request(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	s.resumed(ctx, sent, resp.Header.Get("Last-Event-ID"))
	return &conn{resp: resp, cancel: cancel}, nil
}

// request sends the subscribe request and checks the answer is an event
// stream. It returns the last event id it sent.
func (s *Subscription) request(ctx context.Context) (*http.Response, string, error) {
	req, err := s.c.newRequest(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	sent := s.LastEventID()
	if sent != "" {
		req.Header.Set("Last-Event-ID", sent)
	}
	resp, err := s.c.http.Do(req)
	if err != nil {
		return nil, "", &temporary{err: err}
	}
	if resp.StatusCode != http.StatusOK {
		e := errorOf(resp)
		if e.retryable() {
			return nil, "", &temporary{err: e, after: e.RetryAfter}
		}
		return nil, "", e
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		resp.Body.Close()
		return nil, "", fmt.Errorf("client: the hub answered %q, not an event stream", mt)
	}
	return resp, sent, nil
}

// resumed notes where the hub says the stream resumes: the starting point
// of a subscription opened without an id, or a gap when it differs from
// the id sent.
func (s *Subscription) resumed(ctx context.Context, sent, header string) {
	switch {
	case header == "" || header == sent:
	case sent == "":
		s.setLastID(header)
	case sent != Earliest:
		s.gap = true
		s.c.log.LogAttrs(ctx, slog.LevelWarn, "ssehub client: the hub could not resume after the last event id; events may be lost",
			slog.String("url", s.url), slog.String("sent", sent), slog.String("resumed_after", header))
		if s.onGap != nil {
			s.onGap(sent)
		}
	}
}
