package app

import "flag"

// MetricsConfig configures the /metrics endpoint.
type MetricsConfig struct {
	Enabled bool   // serve Prometheus metrics at /metrics
	Token   string // when set, /metrics needs "Authorization: Bearer <token>"
}

// DefaultMetrics serves /metrics without a token: keep it off the public
// internet (a proxy rule, or -metrics-token).
func DefaultMetrics() MetricsConfig { return MetricsConfig{Enabled: true} }

func metricsFlags(fs *flag.FlagSet, m *MetricsConfig) {
	fs.BoolVar(&m.Enabled, "metrics", m.Enabled, "serve Prometheus metrics at /metrics; it tells topic names and load, so do not expose it publicly (block it at the proxy or set -metrics-token)")
	fs.StringVar(&m.Token, "metrics-token", m.Token, "bearer token /metrics asks for (Authorization: Bearer <token>); empty serves it to anyone who reaches it")
}
