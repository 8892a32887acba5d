package appauth

import (
	"github.com/ssehub/ssehub/internal/topic"

	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ssehub/ssehub/internal/auth"
)

// ask posts body to the application with the forwarded headers and reads
// its answer, within Timeout; it accounts for the call in the stats and the
// logs.
func (c *Client) ask(ctx context.Context, body []byte, fwd []field) (*auth.Claims, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	start := time.Now()
	claims, err := c.post(ctx, body, fwd)
	c.stats.observe(time.Since(start))
	var refusal *Refusal
	var failure *Failure
	switch {
	case err == nil:
		c.stats.granted.Add(1)
		c.fails.answered(c.cfg.Logger, c.shown)
	case errors.As(err, &refusal):
		c.stats.refused.Add(1)
		c.fails.answered(c.cfg.Logger, c.shown)
	case errors.As(err, &failure):
		c.stats.failed(failure.Kind)
		c.fails.failed(c.cfg.Logger, c.shown, failure)
	}
	return claims, err
}

// post makes the call and reads the answer: the rights, a *Refusal or a
// *Failure.
func (c *Client) post(ctx context.Context, body []byte, fwd []field) (*auth.Claims, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, &Failure{Kind: FailUnreachable, Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "ssehub")
	// The call only asks: marked idempotent (the key present but empty is
	// not sent), it is sent again on a new connection when the app closes
	// a kept-alive one as it arrives (its keepalive timeout, a restart).
	req.Header["Idempotency-Key"] = nil
	for _, f := range fwd {
		req.Header[f.name] = f.values
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.transportFailure(ctx, 0, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswerBytes+1))
	if err != nil {
		return nil, c.transportFailure(ctx, resp.StatusCode, fmt.Errorf("reading the answer: %w", err))
	}
	switch resp.StatusCode {
	case http.StatusOK:
		if len(b) > MaxAnswerBytes {
			return nil, &Failure{Kind: FailMalformed, Status: resp.StatusCode, Err: fmt.Errorf("an answer over %d bytes", MaxAnswerBytes)}
		}
		claims, err := decodeAnswer(b, time.Now())
		if err != nil {
			return nil, &Failure{Kind: FailMalformed, Status: resp.StatusCode, Err: err}
		}
		return claims, nil
	case http.StatusUnauthorized, http.StatusForbidden:
		return nil, &Refusal{Status: resp.StatusCode, Msg: refusalMessage(b)}
	}
	return nil, &Failure{Kind: FailStatus, Status: resp.StatusCode, Err: statusError(resp)}
}

// transportFailure is a call that got no complete answer: a timeout, or
// the application unreachable.
func (c *Client) transportFailure(ctx context.Context, status int, err error) *Failure {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil || (errors.As(err, &ne) && ne.Timeout()) {
		return &Failure{Kind: FailTimeout, Status: status, Err: fmt.Errorf("no complete answer within %v (-auth-timeout): %w", c.cfg.Timeout, err)}
	}
	return &Failure{Kind: FailUnreachable, Status: status, Err: err}
}

// statusError describes an answer of an unexpected status, with what
// usually causes it.
func statusError(resp *http.Response) error {
	s := resp.StatusCode
	hint := ""
	switch {
	case s >= 300 && s < 400:
		hint = fmt.Sprintf(": a redirect to %q; the authorization URL must answer itself (is it behind a login redirect?)", resp.Header.Get("Location"))
	case s == http.StatusNotFound:
		hint = ": is the authorization URL (-auth-url) right?"
	case s == http.StatusMethodNotAllowed:
		hint = ": the route must accept POST"
	case s == 419: // Laravel's expired CSRF token
		hint = ": exempt the route from CSRF protection (the hub calls it, not a form)"
	case s >= 500:
		hint = ": the app failed (see its own logs)"
	}
	return fmt.Errorf("answered %d, want 200 with the rights, or 401 or 403%s", s, hint)
}

// refusalMessage is the error a refusal's JSON body gives ({"error": …}
// or {"message": …}), shortened and made valid UTF-8; "" for any other
// body.
func refusalMessage(b []byte) string {
	var body map[string]json.RawMessage
	if json.Unmarshal(b, &body) != nil {
		return ""
	}
	for _, name := range []string{"error", "message"} {
		var msg string
		if json.Unmarshal(body[name], &msg) == nil && msg != "" {
			msg = strings.ToValidUTF8(msg, "\uFFFD")
			if len(msg) > 200 {
				msg = msg[:200]
				for !utf8.ValidString(msg) {
					msg = msg[:len(msg)-1]
				}
				msg += "…"
			}
			return msg
		}
	}
	return ""
}

// decodeAnswer reads the rights of a 200 answer received at now: a JSON
// object whose members (their names exact) are subscribe and publish
// (arrays of topic selectors), payload (any JSON), expires_in (seconds,
// above 0) and user or sub (a string or a whole number: the subscriber's
// identity). Other members are ignored; null is an absent member.
func decodeAnswer(b []byte, now time.Time) (*auth.Claims, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(b, &members); err != nil || members == nil {
		return nil, fmt.Errorf("the answer must be a JSON object such as {\"subscribe\": [\"orders/alice\"]}, not %.100q", b)
	}
	var c auth.Claims
	var err error
	if c.Subscribe, err = selectors(members, "subscribe"); err != nil {
		return nil, err
	}
	if c.Publish, err = selectors(members, "publish"); err != nil {
		return nil, err
	}
	if p := members["payload"]; len(p) > 0 && string(p) != "null" {
		c.Payload = json.RawMessage(bytes.Clone(p))
	}
	if c.Expiry, err = expiry(members["expires_in"], now); err != nil {
		return nil, err
	}
	if c.Subject, err = subject(members); err != nil {
		return nil, err
	}
	return &c, nil
}

// selectors reads the member name: an array of classic topic selectors,
// each not empty, at most 2048 bytes and without NUL.
func selectors(members map[string]json.RawMessage, name string) ([]topic.Spec, error) {
	raw := members[name]
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var sels []string
	if err := json.Unmarshal(raw, &sels); err != nil {
		return nil, fmt.Errorf("%s must be an array of topic selectors, not %.100s (in PHP, pass a filtered array through array_values)", name, raw)
	}
	for i, s := range sels {
		switch {
		case s == "":
			return nil, fmt.Errorf("%s[%d] is an empty topic selector", name, i)
		case len(s) > maxSelector:
			return nil, fmt.Errorf("%s[%d] is a selector of %d bytes: at most %d", name, i, len(s), maxSelector)
		case strings.IndexByte(s, 0) >= 0:
			return nil, fmt.Errorf("%s[%d] holds NUL", name, i)
		}
	}
	return topic.Specs(sels), nil
}

// expiry reads expires_in: none when absent or null, else a number of
// seconds, at least a millisecond and at most MaxExpiresIn.
func expiry(raw json.RawMessage, now time.Time) (time.Time, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, nil
	}
	var secs float64
	if err := json.Unmarshal(raw, &secs); err != nil || !(secs >= 0.001 && secs <= MaxExpiresIn) {
		return time.Time{}, fmt.Errorf("expires_in must be a number of seconds, from 0.001 to %d, not %.40s", MaxExpiresIn, raw)
	}
	return now.Add(time.Duration(secs * float64(time.Second))), nil
}

// subject reads the user's identity from user or sub, a string or a whole
// number; if both are given they must agree.
func subject(members map[string]json.RawMessage) (string, error) {
	var out string
	for _, name := range []string{"user", "sub"} {
		raw := members[name]
		if len(raw) == 0 || string(raw) == "null" {
			continue
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			n, nerr := strconv.ParseInt(string(raw), 10, 64)
			if nerr != nil {
				return "", fmt.Errorf("%s must be a string or a whole number, not %.40s", name, raw)
			}
			s = strconv.FormatInt(n, 10)
		}
		if out != "" && s != out {
			return "", fmt.Errorf("user %q and sub %q differ: give one", out, s)
		}
		out = s
	}
	return out, nil
}
