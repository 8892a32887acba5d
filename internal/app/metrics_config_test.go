package app_test

import (
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/app/apptest"
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

// TestMetricsAddr: -metrics-addr serves /metrics, and nothing else, on an
// address of its own, with the token when one is set; the listener ends
// with Serve.
func TestMetricsAddr(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // a free port for the metrics listener
	cfg := apptest.TestConfig(t)
	cfg.Metrics.Addr, cfg.Metrics.Token = addr, "scrape-secret"
	s := serve(t, cfg, "http", &http.Transport{})
	get := func(path, token string) int {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		var resp *http.Response
		for range 100 { // Serve starts the listener in its own time
			if resp, err = http.DefaultClient.Do(req); err == nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get("/metrics", "scrape-secret"); got != http.StatusOK {
		t.Errorf("/metrics with the token: %d", got)
	}
	if got := get("/metrics", ""); got != http.StatusUnauthorized {
		t.Errorf("/metrics without the token: %d, want 401", got)
	}
	if got := get("/healthz", "scrape-secret"); got != http.StatusNotFound {
		t.Errorf("/healthz on the metrics address: %d, want 404", got)
	}
	if err := s.Stop(t, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Error("the metrics listener outlives Serve")
	}
}
