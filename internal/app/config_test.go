package app_test

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app"
)

// env returns a getenv backed by a map.
func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// TestParseFlagsPrecedence checks that flags win over SSEHUB_* variables,
// which win over the defaults.
func TestParseFlagsPrecedence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want func(*app.Config)
	}{
		{"defaults", nil, nil, func(*app.Config) {}},
		{"environment", nil, map[string]string{
			"SSEHUB_HEARTBEAT": "2s", "SSEHUB_MAX_BODY_BYTES": "100", "SSEHUB_CORS_ORIGINS": "https://a.example",
			"SSEHUB_QUEUE_SIZE": "7", "SSEHUB_HISTORY_EVENTS": "9", "SSEHUB_ADDR": "127.0.0.1:1",
			"SSEHUB_LOG_FORMAT": "json", "SSEHUB_SHUTDOWN_TIMEOUT": "1m", "SSEHUB_SYNC_BEFORE_DELIVER": "true",
		}, func(c *app.Config) {
			c.Heartbeat, c.MaxBodyBytes, c.CORSOrigins = 2*time.Second, 100, "https://a.example"
			c.QueueSize, c.HistoryEvents, c.Addr = 7, 9, "127.0.0.1:1"
			c.LogFormat, c.ShutdownTimeout, c.SyncBeforeDeliver = "json", time.Minute, true
		}},
		{"flags", []string{"-heartbeat", "3s", "-retry=500", "-history-bytes", "2048", "-cors-origins", ""}, nil, func(c *app.Config) {
			c.Heartbeat, c.Retry, c.HistoryBytes, c.CORSOrigins = 3*time.Second, 500, 2048, ""
		}},
		{"flags over environment", []string{"-heartbeat", "3s", "-write-timeout", "5s"}, map[string]string{
			"SSEHUB_HEARTBEAT": "2s", "SSEHUB_QUEUE_SIZE": "7", "SSEHUB_WRITE_TIMEOUT": "1s",
		}, func(c *app.Config) {
			c.Heartbeat, c.QueueSize, c.WriteTimeout = 3*time.Second, 7, 5*time.Second
		}},
		{"TLS pair", []string{"-tls-key", "k.pem"}, map[string]string{"SSEHUB_TLS_CERT": "c.pem"}, func(c *app.Config) {
			c.TLSCert, c.TLSKey = "c.pem", "k.pem"
		}},
		{"webhooks", []string{"-webhook-url", "https://app.example/ssehub", "-webhook-events", "*"}, map[string]string{
			"SSEHUB_WEBHOOK_SECRET": "0123456789abcdef", "SSEHUB_WEBHOOK_RETRY_FOR": "1m",
		}, func(c *app.Config) {
			c.Webhook.URL, c.Webhook.Secret, c.Webhook.Events, c.Webhook.RetryFor = "https://app.example/ssehub", "0123456789abcdef", "*", time.Minute
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := app.ParseFlags(tc.args, env(tc.env), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			want := app.DefaultConfig()
			tc.want(&want)
			if got != want {
				t.Errorf("config\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestParseFlagsErrors checks that bad values stop with an error naming
// the flag or variable at fault.
func TestParseFlagsErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		mention string
	}{
		{"bad env duration", nil, map[string]string{"SSEHUB_HEARTBEAT": "abc"}, "SSEHUB_HEARTBEAT"},
		{"bad env number", nil, map[string]string{"SSEHUB_MAX_BODY_BYTES": "lots"}, "SSEHUB_MAX_BODY_BYTES"},
		{"bad flag duration", []string{"-heartbeat", "abc"}, nil, "heartbeat"},
		{"bad flag number", []string{"-queue-size", "x"}, nil, "queue-size"},
		{"unknown flag", []string{"-colour", "red"}, nil, "colour"},
		{"cert without key", []string{"-tls-cert", "c.pem"}, nil, "tls-key"},
		{"key without cert", nil, map[string]string{"SSEHUB_TLS_KEY": "k.pem"}, "tls-cert"},
		{"zero queue", []string{"-queue-size", "0"}, nil, "queue-size"},
		{"negative heartbeat", nil, map[string]string{"SSEHUB_HEARTBEAT": "-1s"}, "heartbeat"},
		{"bad log level", []string{"-log-level", "loud"}, nil, "log-level"},
		{"bad log format", []string{"-log-format", "xml"}, nil, "log-format"},
		{"stray argument", []string{"serve"}, nil, "serve"},
		{"negative redis replicas", []string{"-redis", "redis://127.0.0.1:6379", "-redis-replicas", "-1"}, nil, "redis-replicas"},
		{"redis replica timeout too long", []string{"-redis", "redis://127.0.0.1:6379", "-redis-replica-timeout", "3s"}, nil, "redis-replica-timeout"},
		{"previous key without a key", []string{"-jwt-key-previous", "an old secret of 32 bytes or more"}, nil, "jwt-key-previous"},
		{"previous key that does not parse", []string{"-jwt-key", "a secret of 32 bytes or more, yes", "-jwt-key-previous", "short"}, nil, "jwt-key-previous"},
		{"zero redis replica timeout", []string{"-redis", "redis://127.0.0.1:6379"}, map[string]string{"SSEHUB_REDIS_REPLICA_TIMEOUT": "0s"}, "redis-replica-timeout"},
		{"redis node timeout too short", []string{"-redis", "redis://127.0.0.1:6379", "-redis-node-timeout", "500ms"}, nil, "redis-node-timeout"},
		{"webhook without a secret", []string{"-webhook-url", "https://app.example/hook"}, nil, "webhook-secret"},
		{"webhook secret too short", []string{"-webhook-url", "https://app.example/hook"}, map[string]string{"SSEHUB_WEBHOOK_SECRET": "short"}, "at least 16"},
		{"previous webhook secret too short", []string{"-webhook-url", "https://app.example/hook", "-webhook-secret", "0123456789abcdef"}, map[string]string{"SSEHUB_WEBHOOK_SECRET_PREVIOUS": "short"}, "webhook-secret-previous"},
		{"webhook URL not http", []string{"-webhook-url", "ftp://app.example/hook", "-webhook-secret", "0123456789abcdef"}, nil, "webhook-url"},
		{"webhook URL without host", []string{"-webhook-url", "https:///hook", "-webhook-secret", "0123456789abcdef"}, nil, "webhook-url"},
		{"unknown webhook event", []string{"-webhook-url", "http://127.0.0.1/hook", "-webhook-secret", "0123456789abcdef", "-webhook-events", "subscription.started,topic.joined"}, nil, "topic.joined"},
		{"no webhook event", []string{"-webhook-url", "http://127.0.0.1/hook", "-webhook-secret", "0123456789abcdef", "-webhook-events", " , "}, nil, "webhook-events"},
		{"zero webhook retry", []string{"-webhook-url", "http://127.0.0.1/hook", "-webhook-secret", "0123456789abcdef", "-webhook-retry-for", "0s"}, nil, "webhook-retry-for"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := app.ParseFlags(tc.args, env(tc.env), io.Discard)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("error %q does not mention %q", err, tc.mention)
			}
		})
	}
	if _, err := app.ParseFlags([]string{"-h"}, env(nil), io.Discard); !errors.Is(err, app.ErrHelp) {
		t.Errorf("-h: %v, want ErrHelp", err)
	}
}

func TestEnvName(t *testing.T) {
	t.Parallel()
	for flag, want := range map[string]string{
		"max-body-bytes":   "SSEHUB_MAX_BODY_BYTES",
		"addr":             "SSEHUB_ADDR",
		"tls-cert":         "SSEHUB_TLS_CERT",
		"shutdown-timeout": "SSEHUB_SHUTDOWN_TIMEOUT",
	} {
		if got := app.EnvName(flag); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", flag, got, want)
		}
	}
}

// TestNewRejectsBadConfig checks that New validates its Config.
func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	cfg := app.DefaultConfig()
	cfg.TLSCert = "c.pem"
	if _, err := app.New(cfg, discard()); err == nil {
		t.Error("New accepted -tls-cert without -tls-key")
	}
	cfg = app.DefaultConfig()
	cfg.Heartbeat = 0
	if _, err := app.New(cfg, discard()); err == nil {
		t.Error("New accepted a zero heartbeat")
	}
}

// TestUnknownEnv checks that a misspelt SSEHUB_* variable is reported and
// that settings, aliases and the client commands' variables are not.
func TestUnknownEnv(t *testing.T) {
	environ := []string{"SSEHUB_MAX_CONNECTION_PER_IP=0", "SSEHUB_MAX_CONNECTIONS_PER_IP=0", "SSEHUB_REDIS_URL=redis://x",
		"SSEHUB_URL=http://h", "SSEHUB_TOKEN=t", "SSEHUB_CONFIG=f.yaml", "SSEHUB_ADRR=:1", "HOME=/root", "SSEHUB_ADRR=:2"}
	got := app.UnknownEnv(environ)
	if want := []string{"SSEHUB_ADRR", "SSEHUB_MAX_CONNECTION_PER_IP"}; !slices.Equal(got, want) {
		t.Fatalf("UnknownEnv = %q, want %q", got, want)
	}
}
