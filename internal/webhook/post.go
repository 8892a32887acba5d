package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	hook "github.com/ssehub/ssehub/client/webhook"
)

// Bounds of one request.
const (
	MaxBatchEvents = 100               // events in one request
	MaxBatchBytes  = hook.MaxBodyBytes // bytes of a request's body, unless one event alone is larger
)

// UserAgent is the User-Agent of the hub's requests.
const UserAgent = "ssehub-webhook/1"

// poster POSTs signed batches to the application.
type poster struct {
	url    string   // where to
	shown  string   // the URL with any password hidden, for logs
	secret []byte   // signs first
	signs  [][]byte // then the previous secret, if any
	client *http.Client
	now    func() time.Time
}

func newPoster(cfg Config) *poster {
	shown := cfg.URL
	if u, err := url.Parse(cfg.URL); err == nil {
		shown = u.Redacted()
	}
	client := cfg.Client
	if client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 2
		client = &http.Client{Transport: tr}
	}
	// A copy: the timeout and the redirect policy are the hub's.
	c := *client
	c.Timeout = cfg.Timeout
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	p := &poster{url: cfg.URL, shown: shown, secret: cfg.Secret, client: &c, now: cfg.Now}
	if len(cfg.Previous) > 0 {
		p.signs = [][]byte{cfg.Previous}
	}
	return p
}

// StatusError is an answer of the application other than 2xx.
type StatusError struct {
	Status int
	Body   string // its start, for the logs
}

// Error names the status, says why a redirect was not followed, and
// quotes the start of the answer.
func (e *StatusError) Error() string {
	msg := fmt.Sprintf("the application answered %d", e.Status)
	if e.Status >= 300 && e.Status < 400 {
		msg += " (a redirect, which is not followed: set -webhook-url to the final URL)"
	}
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// post sends body, signed now, as the attempt-th try. Only a 2xx answer
// delivers it.
func (p *poster) post(ctx context.Context, body []byte, attempt int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook request: %w", err)
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", UserAgent)
	h.Set(hook.SignatureHeader, hook.Sign(p.secret, body, p.now(), p.signs...))
	h.Set("Ssehub-Attempt", strconv.Itoa(attempt))
	resp, err := p.client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // the URL is in the logs' fields already
		}
		return fmt.Errorf("POST %s: %w", p.shown, err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // keep the connection when the rest is short
	if resp.StatusCode/100 == 2 {
		return nil
	}
	return &StatusError{Status: resp.StatusCode, Body: strings.TrimSpace(strings.ToValidUTF8(string(snippet), "?"))}
}

// encode returns the body of a request carrying the first events, as many
// as MaxBatchBytes allows but at least one, and how many it carries.
func encode(events []Event) ([]byte, int) {
	var buf bytes.Buffer
	buf.WriteString(`{"events":[`)
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	n := 0
	for _, ev := range events {
		mark := buf.Len()
		if n > 0 {
			buf.WriteByte(',')
		}
		if err := enc.Encode(ev); err != nil {
			// A payload that is not JSON cannot come from a verified token;
			// the event goes without it rather than not at all.
			buf.Truncate(mark)
			if n > 0 {
				buf.WriteByte(',')
			}
			ev.Payload = nil
			_ = enc.Encode(ev)
		}
		buf.Truncate(buf.Len() - 1) // the encoder's newline
		if n > 0 && buf.Len()+2 > MaxBatchBytes {
			buf.Truncate(mark)
			break
		}
		n++
	}
	buf.WriteString("]}")
	return buf.Bytes(), n
}
