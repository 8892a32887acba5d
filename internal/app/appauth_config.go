package app

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/ssehub/ssehub/internal/appauth"
	"github.com/ssehub/ssehub/internal/httpapi"
)

// Modes of AppAuthConfig.
const (
	AuthModeAuto     = "auto"     // a token decides alone; the callback decides requests without one
	AuthModeCallback = "callback" // the callback decides every request; tokens are not read
)

// AppAuthConfig makes the application the authority: ssehub asks its
// authorization callback, with the user's own session, who may subscribe
// (and publish).
type AppAuthConfig struct {
	URL            string        // the callback; empty: tokens only
	Mode           string        // AuthModeAuto or AuthModeCallback
	Publish        bool          // the callback decides publishes too
	ForwardHeaders string        // comma-separated request headers sent on besides Cookie and Authorization
	Cache          time.Duration // how long an answer is reused for the same credentials; 0: not at all
	Timeout        time.Duration // longest a call may take
}

// DefaultAppAuth asks no application; the other values apply once URL is
// set.
func DefaultAppAuth() AppAuthConfig {
	return AppAuthConfig{Mode: AuthModeAuto, Cache: appauth.DefaultCache, Timeout: appauth.DefaultTimeout}
}

func appAuthFlags(fs *flag.FlagSet, c *AppAuthConfig) {
	fs.StringVar(&c.URL, "auth-url", c.URL, "your application's authorization callback, e.g. http://127.0.0.1:8000/sse/auth: before a stream opens, ssehub POSTs what it asks for there, with the browser's Cookie and Authorization headers, and grants the rights the app answers (401/403 are passed on, anything else is 503); empty: JWTs only")
	fs.StringVar(&c.Mode, "auth-mode", c.Mode, "with -auth-url: auto (a JWT decides alone, the callback decides requests without one) or callback (the callback decides every request; JWTs are not read)")
	fs.BoolVar(&c.Publish, "auth-publish", c.Publish, "with -auth-url: the callback decides publishes too (a publish carrying cookies must come from the hub's origin or one of -cors-origins)")
	fs.StringVar(&c.ForwardHeaders, "auth-forward-headers", c.ForwardHeaders, "comma-separated request headers sent to the callback besides Cookie and Authorization, e.g. X-Tenant")
	fs.DurationVar(&c.Cache, "auth-cache", c.Cache, "how long the callback's answer is reused for the same credentials and request (never past its expires_in; a refusal at most 1s); 0 asks every time")
	fs.DurationVar(&c.Timeout, "auth-timeout", c.Timeout, "longest the callback may take to answer; past it the request gets 503")
}

// notForwarded are headers the hub sets on the call itself: forwarding
// the client's would corrupt it.
var notForwarded = map[string]bool{
	"host": true, "content-length": true, "content-type": true, "transfer-encoding": true,
	"connection": true, "keep-alive": true, "te": true, "trailer": true, "upgrade": true,
	"expect": true, "proxy-connection": true,
}

// validate checks the callback's settings.
func (c AppAuthConfig) validate() error {
	var errs []error
	if c.URL == "" {
		switch {
		case c.Mode != AuthModeAuto:
			errs = append(errs, fmt.Errorf("-auth-mode %s needs -auth-url", c.Mode))
		case c.Publish:
			errs = append(errs, errors.New("-auth-publish needs -auth-url"))
		}
	} else if err := appauth.CheckURL(c.URL); err != nil {
		errs = append(errs, fmt.Errorf("-auth-url %q: %w", c.URL, err))
	}
	if c.Mode != AuthModeAuto && c.Mode != AuthModeCallback {
		errs = append(errs, fmt.Errorf("-auth-mode must be %s or %s, not %q", AuthModeAuto, AuthModeCallback, c.Mode))
	}
	if c.Timeout <= 0 {
		errs = append(errs, errors.New("-auth-timeout must be positive"))
	}
	if c.Cache < 0 {
		errs = append(errs, errors.New("-auth-cache must not be negative (0 asks every time)"))
	}
	for _, h := range c.forward() {
		switch {
		case !isToken(h):
			errs = append(errs, fmt.Errorf("-auth-forward-headers: %q is not a header name", h))
		case notForwarded[strings.ToLower(h)]:
			errs = append(errs, fmt.Errorf("-auth-forward-headers: %s is the call's own header and cannot be forwarded", h))
		}
	}
	return errors.Join(errs...)
}

// forward returns the header names of ForwardHeaders.
func (c AppAuthConfig) forward() []string {
	var out []string
	for _, h := range strings.Split(c.ForwardHeaders, ",") {
		if h = strings.TrimSpace(h); h != "" {
			out = append(out, h)
		}
	}
	return out
}

// isToken reports whether s is a header name: an RFC 9110 token.
func isToken(s string) bool {
	for _, r := range s {
		if r > 0x7e || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return s != ""
}

// publishing says who decides publishes in open development mode with a
// callback.
func (c AppAuthConfig) publishing() string {
	if c.Publish {
		return "the authorization callback (-auth-publish)"
	}
	return "anonymous, from loopback clients only; -auth-publish hands them to the callback"
}

// appAuthorizer returns c as the API's Authorizer: a nil interface when c
// is nil.
func appAuthorizer(c *appauth.Client) httpapi.Authorizer {
	if c == nil {
		return nil
	}
	return c
}

// newAppAuth returns the client of the callback, nil when there is none,
// and says at startup who decides what.
func newAppAuth(cfg Config, openDev bool, log *slog.Logger) (*appauth.Client, error) {
	c := cfg.AppAuth
	if c.URL == "" {
		return nil, nil
	}
	cache := c.Cache
	if cache == 0 {
		cache = -1 // appauth's zero is its default
	}
	client, err := appauth.New(appauth.Config{URL: c.URL, Timeout: c.Timeout, Cache: cache, Forward: c.forward(), Logger: log})
	if err != nil {
		return nil, fmt.Errorf("-auth-url: %w", err)
	}
	decides := "subscriptions without a JWT (a JWT decides alone; a bad one is refused)"
	switch {
	case c.Mode == AuthModeCallback:
		decides = "every subscription (JWTs are not read)"
	case openDev:
		decides = "every subscription without a JWT (with no JWT key, a JWT is refused)"
	}
	publishes := "JWTs (-auth-publish hands them to the callback)"
	if c.Publish || openDev {
		publishes = c.publishing()
	}
	log.Info("authorization callback: your app decides", "url", client.URL(), "subscriptions", decides,
		"publishes", publishes, "cache", c.Cache, "timeout", c.Timeout)
	if slices.Contains(cfg.origins(), "*") {
		log.Warn("-cors-origins * lets no browser page of another origin send its cookies to the hub (CORS allows credentials to listed origins only), so the callback would see none",
			"fix", "list your site's origins in -cors-origins, e.g. https://app.example.com (pages served by the hub's own origin need none)")
	}
	return client, nil
}
