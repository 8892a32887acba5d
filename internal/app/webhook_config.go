package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	hook "github.com/ssehub/ssehub/client/webhook"
	"github.com/ssehub/ssehub/internal/bolt"
	"github.com/ssehub/ssehub/internal/webhook"
)

// WebhookConfig configures the webhooks to the application: what happens
// on the hub, POSTed to URL in signed batches.
type WebhookConfig struct {
	URL       string        // the application's endpoint; empty: no webhooks
	Secret    string        // signs every request (Ssehub-Signature); at least 16 bytes
	Previous  string        // while rotating: the old secret, which signs every request too
	Events    string        // comma-separated event types
	RetryFor  time.Duration // how long a batch is retried
	Timeout   time.Duration // bounds each request
	QueueSize int           // events waiting on a node; past it the oldest are dropped
	// QueueBytes bounds the same events by their size.
	QueueBytes int
}

// DefaultWebhook sends nothing until URL is set; then every event type but
// update.published.
func DefaultWebhook() WebhookConfig {
	return WebhookConfig{Events: strings.Join(webhook.DefaultTypes, ","), RetryFor: webhook.DefaultRetryFor,
		Timeout: webhook.DefaultTimeout, QueueSize: webhook.DefaultQueueSize, QueueBytes: webhook.DefaultQueueBytes}
}

func webhookFlags(fs *flag.FlagSet, c *WebhookConfig) {
	fs.StringVar(&c.URL, "webhook-url", c.URL, "the application's URL (http or https) to which the hub POSTs signed batches of events: subscribers starting and ending, topics occupied and vacated, updates published (see -webhook-events); empty: none")
	fs.StringVar(&c.Secret, "webhook-secret", c.Secret, "secret (at least 16 bytes) signing the webhooks: Ssehub-Signature: t=<unix>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">; required with -webhook-url. Prefer SSEHUB_WEBHOOK_SECRET or the config file to a flag, which other users can see")
	fs.StringVar(&c.Previous, "webhook-secret-previous", c.Previous, "while rotating -webhook-secret: the secret being replaced; every request then carries a second v1 signature made with it, so the application can switch to the new secret when it likes; remove it once it has")
	fs.StringVar(&c.Events, "webhook-events", c.Events, "comma-separated event types sent: subscription.started, subscription.ended, topic.occupied, topic.vacated, update.published, or * for all")
	fs.DurationVar(&c.RetryFor, "webhook-retry-for", c.RetryFor, "how long a batch the application does not acknowledge (2xx) is retried, with exponential backoff, before its events are given up")
	fs.DurationVar(&c.Timeout, "webhook-timeout", c.Timeout, "longest one webhook request may take, answer included; past it the request counts as failed and is retried")
	fs.IntVar(&c.QueueSize, "webhook-queue-size", c.QueueSize, "events waiting on a node for the application; past it the oldest are dropped and counted (cluster mode: Redis keeps up to 10 times this many)")
	fs.IntVar(&c.QueueBytes, "webhook-queue-bytes", c.QueueBytes, "bytes those waiting events may hold (their topics, payloads, addresses); past it the oldest are dropped and counted, as past -webhook-queue-size (cluster mode: Redis keeps up to 10 times this much)")
}

func (c WebhookConfig) validate() error {
	if c.URL == "" {
		return nil
	}
	var errs []error
	if err := webhook.CheckURL(c.URL); err != nil {
		errs = append(errs, fmt.Errorf("-webhook-url %q: %w", c.URL, err))
	}
	if len(c.Secret) < hook.MinSecretBytes {
		errs = append(errs, fmt.Errorf("-webhook-secret: %d bytes, at least %d are required with -webhook-url to sign the requests (e.g. openssl rand -hex 32)", len(c.Secret), hook.MinSecretBytes))
	}
	if c.Previous != "" && len(c.Previous) < hook.MinSecretBytes {
		errs = append(errs, fmt.Errorf("-webhook-secret-previous: %d bytes, at least %d are required", len(c.Previous), hook.MinSecretBytes))
	}
	if _, err := webhook.ParseTypes(c.Events); err != nil {
		errs = append(errs, fmt.Errorf("-webhook-events: %w", err))
	}
	if c.RetryFor <= 0 || c.Timeout <= 0 || c.QueueSize <= 0 || c.QueueBytes <= 0 {
		errs = append(errs, errors.New("-webhook-retry-for, -webhook-timeout, -webhook-queue-size and -webhook-queue-bytes must be positive"))
	}
	return errors.Join(errs...)
}

// newWebhooks starts the dispatcher of cfg's webhooks, nil without a URL;
// on a cluster the nodes share its state through the Redis store.
func newWebhooks(cfg Config, b backend, log *slog.Logger) (*webhook.Dispatcher, io.Closer) {
	w := cfg.Webhook
	if w.URL == "" {
		if w.Secret != "" {
			log.Warn("-webhook-secret is set but -webhook-url is not: no webhooks are sent")
		}
		return nil, nil
	}
	types, _ := webhook.ParseTypes(w.Events) // validated
	wc := webhook.Config{URL: w.URL, Secret: []byte(w.Secret), Previous: []byte(w.Previous), Types: types, RetryFor: w.RetryFor,
		Timeout: w.Timeout, QueueSize: w.QueueSize, QueueBytes: w.QueueBytes, Logger: log}
	var reg io.Closer
	switch {
	case b.cluster != nil:
		wc.Cluster, wc.NodeTimeout = b.cluster, cfg.Redis.NodeTimeout
	case cfg.DataDir != "":
		r, err := bolt.OpenRegister(cfg.DataDir)
		if err != nil {
			log.Error("webhooks: no register of the queue and the open subscribers: a restart loses the events not sent, and a crash's subscription.ended will not be sent", "err", err)
			break
		}
		wc.Register, reg = r, r
	}
	shown := w.URL
	if u, err := url.Parse(w.URL); err == nil {
		shown = u.Redacted()
		if u.Scheme == "http" && !loopbackHost(u.Hostname()) {
			log.Warn("webhooks go over plain http: the events (subscribers' payloads and addresses) cross the network unencrypted; the signature only proves they come from the hub",
				"fix", "use an https:// -webhook-url, unless the application is on a private network")
		}
	}
	log.Info("webhooks", "url", shown, "events", strings.Join(types, ","), "cluster", b.cluster != nil)
	if b.cluster != nil {
		log.Info("webhooks on a cluster: every node must have the same -webhook-* settings; each event is sent by the one node holding the lease, and a node silent for -redis-node-timeout has its subscribers ended by the others",
			"node_timeout", cfg.Redis.NodeTimeout)
		if cfg.Redis.NodeTimeout < 2*w.Timeout {
			log.Warn("-redis-node-timeout is short next to -webhook-timeout: the node sending the webhooks may lose its lease during one slow request, and another then sends the same events again",
				"redis-node-timeout", cfg.Redis.NodeTimeout, "webhook-timeout", w.Timeout)
		}
	}
	return webhook.New(wc), reg
}

func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// closeWebhooks delivers, until ctx is done, the webhooks still queued,
// then closes the register of open subscribers.
func (a *App) closeWebhooks(ctx context.Context) error {
	if a.hooks == nil {
		return nil
	}
	err := a.hooks.Close(ctx)
	if a.presence != nil {
		err = errors.Join(err, a.presence.Close())
	}
	return err
}
