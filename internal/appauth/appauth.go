// Package appauth asks the application behind the hub who may subscribe
// and publish. Instead of verifying a token the application minted, the
// hub posts what a request asks for (its action, topics, client address,
// origin and query) to the application's authorization URL, forwarding the
// request's own credentials (its Cookie and Authorization headers, and any
// other headers configured), and reads the rights the application answers:
// the same rights a Mercure token carries, as auth.Claims.
//
// The application is asked as little as possible and never trusted to be
// up: answers are cached for a short time per credentials and request
// (keyed by a hash: no cookie is ever kept as a key), identical calls in
// flight are merged into one, each call is bounded in time and in size,
// and anything but a well-formed answer (the application unreachable,
// slow, failing, or answering nonsense) is a Failure, never a grant.
//
// It knows nothing of the hub's endpoints: package httpapi declares the
// interface it implements and maps its errors to HTTP answers.
package appauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"sync"
	"time"

	"github.com/ssehub/ssehub/internal/auth"
)

// The actions a request asks the application about.
const (
	ActionSubscribe = "subscribe"
	ActionPublish   = "publish"
)

// Defaults of Config.
const (
	DefaultTimeout    = 2 * time.Second
	DefaultCache      = 10 * time.Second
	DefaultMaxEntries = 16384 // answers cached at most
	DefaultMaxCalls   = 128   // connections to the application at once
)

// Bounds of what the application may answer.
const (
	MaxAnswerBytes = 64 << 10           // a longer answer is malformed
	MaxExpiresIn   = 365 * 24 * 60 * 60 // seconds
	maxSelector    = 2048               // bytes of a selector, the hub's longest topic
	refusalCache   = time.Second        // a refusal is kept at most this long
)

// Config configures a Client. Zero values take the defaults.
type Config struct {
	URL     string        // the application's authorization URL: http or https
	Timeout time.Duration // longest a call may take, answer included
	// Cache is how long an answer is reused for the same credentials and
	// request: a grant never longer than its expires_in, a refusal at most
	// a second. 0 means DefaultCache; negative caches nothing (identical
	// calls in flight are still merged).
	Cache      time.Duration
	MaxEntries int // answers cached at most; past it the expired ones, then others, are dropped
	// MaxCalls bounds the connections to the application at once: over
	// HTTP/1.1, where a connection carries one call at a time, a call past
	// it waits for one to be free (within Timeout); over HTTP/2 many calls
	// share one connection, so it bounds connections, not calls.
	MaxCalls int
	Forward  []string // request headers sent on besides Cookie and Authorization
	Logger   *slog.Logger
}

func (c *Config) defaults() {
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Cache == 0 {
		c.Cache = DefaultCache
	}
	if c.MaxEntries <= 0 {
		c.MaxEntries = DefaultMaxEntries
	}
	if c.MaxCalls <= 0 {
		c.MaxCalls = DefaultMaxCalls
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Request is what the application is asked about: one subscription or
// publish.
type Request struct {
	Action   string     // ActionSubscribe or ActionPublish
	Topics   []string   // the selectors subscribed to, or the topics published to
	ClientIP string     // the client's address
	Origin   string     // the request's Origin header
	Query    url.Values // the request's query parameters that say what it asks for
	// Header are the request's headers, of which Cookie, Authorization
	// and Config.Forward are sent on; the others are not read.
	Header http.Header
}

// Refusal is the application's answer 401 or 403: the user may not.
type Refusal struct {
	Status int    // 401 or 403
	Msg    string // the error the application gave, if any ("" when none)
}

// Error describes the refusal.
func (r *Refusal) Error() string {
	if r.Msg == "" {
		return fmt.Sprintf("the app refused (%d)", r.Status)
	}
	return fmt.Sprintf("the app refused (%d): %s", r.Status, r.Msg)
}

// ErrUnavailable is the error of every Failure: the application decided
// nothing, and nothing is granted.
var ErrUnavailable = errors.New("the app could not decide")

// Kinds of Failure.
const (
	FailUnreachable = "unreachable" // no connection, or it broke
	FailTimeout     = "timeout"     // no complete answer within Timeout
	FailStatus      = "status"      // a status other than 200, 401 and 403
	FailMalformed   = "malformed"   // a 200 whose body is not rights
)

// Failure is a call to the application that decided nothing.
type Failure struct {
	Kind   string // FailUnreachable, FailTimeout, FailStatus or FailMalformed
	Status int    // the application's status; 0 when it did not answer
	Err    error  // what went wrong, for the logs
}

// Error describes the failure.
func (f *Failure) Error() string { return fmt.Sprintf("%v (%s): %v", ErrUnavailable, f.Kind, f.Err) }

// Unwrap returns ErrUnavailable and the cause.
func (f *Failure) Unwrap() []error { return []error{ErrUnavailable, f.Err} }

// Client asks the application. It is safe for concurrent use.
type Client struct {
	cfg     Config
	url     string // where calls go
	shown   string // url without its password, for the logs
	http    *http.Client
	forward []string // canonical names of Config.Forward

	mu      sync.Mutex
	entries map[key]entry // answers, by request and credentials
	calls   map[key]*call // calls in flight, by the same key

	stats counters
	fails failLog
}

// New returns a client of the application at cfg.URL.
func New(cfg Config) (*Client, error) {
	cfg.defaults()
	if err := CheckURL(cfg.URL); err != nil {
		return nil, fmt.Errorf("authorization URL %q: %w", cfg.URL, err)
	}
	u, _ := url.Parse(cfg.URL) // checked
	c := &Client{cfg: cfg, url: u.String(), shown: u.Redacted(), entries: map[key]entry{}, calls: map[key]*call{}}
	for _, name := range cfg.Forward {
		c.forward = append(c.forward, textproto.CanonicalMIMEHeaderKey(name))
	}
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        cfg.MaxCalls,
		MaxIdleConnsPerHost: cfg.MaxCalls,
		MaxConnsPerHost:     cfg.MaxCalls,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	c.http = &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse // a redirect is an answer, and a wrong one
	}}
	c.stats.init()
	return c, nil
}

// URL returns the application's authorization URL, its password (if
// any) masked.
func (c *Client) URL() string { return c.shown }

// Close closes the idle connections to the application.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// Authorize returns the rights the application grants q: its answer
// cached for the same request and credentials, else the answer of a call
// in flight for them, else of a call of its own. The claims returned are
// shared: the caller must not change them. The error is a *Refusal (the
// application said no), a *Failure (it decided nothing), or ctx's error
// when ctx ends while another caller's call is in flight.
func (c *Client) Authorize(ctx context.Context, q Request) (*auth.Claims, error) {
	body, err := encodeRequest(q)
	if err != nil {
		return nil, err
	}
	fwd := c.forwarded(q.Header)
	k := keyOf(body, fwd)
	now := time.Now()
	c.mu.Lock()
	if e, ok := c.entries[k]; ok && now.Before(e.until) {
		c.mu.Unlock()
		c.stats.cacheHits.Add(1)
		return e.claims, e.err
	}
	cl, merged := c.calls[k]
	if !merged {
		cl = &call{done: make(chan struct{})}
		c.calls[k] = cl
	}
	c.mu.Unlock()
	if merged {
		c.stats.merged.Add(1)
		select {
		case <-cl.done:
			return cl.claims, cl.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	// The call goes on if ctx ends: other callers may be waiting for it.
	// Timeout bounds it.
	cl.claims, cl.err = c.ask(context.WithoutCancel(ctx), body, fwd)
	c.mu.Lock()
	delete(c.calls, k)
	if ttl := c.keep(cl.claims, cl.err); ttl > 0 {
		c.put(k, entry{claims: cl.claims, err: cl.err, until: time.Now().Add(ttl)})
	}
	c.mu.Unlock()
	close(cl.done)
	return cl.claims, cl.err
}

// keep returns how long an answer is cached: a grant for Cache, never past
// its expiry; a refusal for at most refusalCache; a failure not at all.
func (c *Client) keep(claims *auth.Claims, err error) time.Duration {
	var refusal *Refusal
	switch {
	case c.cfg.Cache <= 0:
		return 0
	case errors.As(err, &refusal):
		return min(c.cfg.Cache, refusalCache)
	case err != nil:
		return 0
	case !claims.Expiry.IsZero():
		return min(c.cfg.Cache, time.Until(claims.Expiry))
	}
	return c.cfg.Cache
}

// CheckURL reports whether rawURL is an authorization URL a Client can
// call: an http or https URL with a host.
func CheckURL(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("want an http(s) URL such as http://127.0.0.1:8000/sse/auth")
	}
	return nil
}
