package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// Defaults of the options: the shortest wait before reconnecting when the
// hub has not sent a retry field, the longest backoff, and how long a
// stream may stay silent before it is replaced (4 times ssehub's default
// heartbeat interval).
const (
	DefaultMinBackoff  = 100 * time.Millisecond
	DefaultMaxBackoff  = 30 * time.Second
	DefaultIdleTimeout = time.Minute
)

// Client publishes to and subscribes from one hub. It is safe for
// concurrent use by several goroutines; create it with [New].
type Client struct {
	hub      *url.URL
	http     *http.Client
	token    func(context.Context) (string, error)
	minDelay time.Duration
	maxDelay time.Duration
	idle     time.Duration
	log      *slog.Logger
}

// An Option configures a [Client].
type Option func(*Client)

// WithHTTPClient makes the client send its requests with hc instead of
// [http.DefaultClient]. hc must not have a Timeout, which would cut event
// streams; use contexts to bound requests.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.http = hc
		}
	}
}

// WithToken sends jwt as "Authorization: Bearer <jwt>" with every request.
func WithToken(jwt string) Option {
	return WithTokenFunc(func(context.Context) (string, error) { return jwt, nil })
}

// WithTokenFunc calls f before every request (each publish and each
// connection of a subscription) for the token to send as
// "Authorization: Bearer <token>", so that a subscription reconnects with a
// fresh token when the hub ends a stream whose token expired. An empty
// token sends no Authorization header. An error from f fails the publish,
// or ends the subscription with that error.
func WithTokenFunc(f func(ctx context.Context) (string, error)) Option {
	return func(c *Client) { c.token = f }
}

// WithBackoff sets the bounds of the wait before reconnecting: minDelay is
// the base delay when the hub has not sent a retry field (default
// [DefaultMinBackoff]), maxDelay caps the exponential backoff (default
// [DefaultMaxBackoff]). A retry field or Retry-After header from the hub
// longer than maxDelay is still honoured.
func WithBackoff(minDelay, maxDelay time.Duration) Option {
	return func(c *Client) { c.minDelay, c.maxDelay = minDelay, maxDelay }
}

// WithIdleTimeout sets how long a subscription's connection may stay
// silent, not even sending a heartbeat comment, before it is dropped and
// replaced (resuming after the last event): a connection silently lost, as
// when a NAT or proxy forgets it, is noticed that way. d must exceed the
// hub's heartbeat interval (15 s by default for ssehub). The default is
// [DefaultIdleTimeout]; zero or less waits for ever. Time spent waiting
// for the application to take an event does not count.
func WithIdleTimeout(d time.Duration) Option {
	return func(c *Client) { c.idle = d }
}

// WithLogger makes the client log reconnections and refusals to l. By
// default nothing is logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) {
		if l != nil {
			c.log = l
		}
	}
}

// New returns a client of the hub at hubURL, the hub's endpoint such as
// "http://localhost:8080/.well-known/mercure".
func New(hubURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(hubURL)
	if err != nil {
		return nil, fmt.Errorf("client: hub URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("client: hub URL %q is not an absolute http or https URL", hubURL)
	}
	c := &Client{
		hub:      u,
		http:     http.DefaultClient,
		minDelay: DefaultMinBackoff,
		maxDelay: DefaultMaxBackoff,
		idle:     DefaultIdleTimeout,
		log:      slog.New(slog.DiscardHandler),
	}
	for _, opt := range opts {
		opt(c)
	}
	if c.minDelay <= 0 || c.maxDelay < c.minDelay {
		return nil, fmt.Errorf("client: backoff bounds %v..%v: min must be positive and max at least min", c.minDelay, c.maxDelay)
	}
	return c, nil
}

// errToken wraps an error of the token function.
var errToken = errors.New("client: token")

// newRequest builds a request to u carrying the client's token.
func (c *Client) newRequest(ctx context.Context, method, u string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	if c.token == nil {
		return req, nil
	}
	tok, err := c.token(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errToken, err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return req, nil
}
