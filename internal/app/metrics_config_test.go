package app_test

import (
	"io"
	"testing"

	"github.com/ssehub/ssehub/internal/app"
)

// TestMetricsFlags: /metrics is on by default, and -metrics and
// -metrics-token (or SSEHUB_METRICS, SSEHUB_METRICS_TOKEN) change it.
func TestMetricsFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want app.MetricsConfig
	}{
		{"default", nil, nil, app.MetricsConfig{Enabled: true}},
		{"flags", []string{"-metrics=false", "-metrics-token", "t1"}, nil, app.MetricsConfig{Token: "t1"}},
		{"environment", nil, map[string]string{"SSEHUB_METRICS": "false", "SSEHUB_METRICS_TOKEN": "t2"}, app.MetricsConfig{Token: "t2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := app.ParseFlags(tc.args, env(tc.env), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Metrics != tc.want {
				t.Errorf("metrics config %+v, want %+v", cfg.Metrics, tc.want)
			}
		})
	}
}
