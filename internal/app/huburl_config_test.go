package app_test

import (
	"io"
	"testing"

	"github.com/ssehub/ssehub/internal/app"
)

// TestHubURLSetting checks -hub-url from the flag, the environment and the
// file, and that it must be an absolute http(s) URL.
func TestHubURLSetting(t *testing.T) {
	t.Parallel()
	const u = "https://hub.example.com/.well-known/mercure"
	for name, args := range map[string][]string{
		"flag": {"-hub-url", u},
		"file": {"-config", writeConfig(t, "hub-url: "+u+"\n")},
	} {
		cfg, err := app.ParseFlags(args, env(nil), io.Discard)
		if err != nil || cfg.HubURL != u {
			t.Errorf("%s: HubURL %q, err %v", name, cfg.HubURL, err)
		}
	}
	if cfg, err := app.ParseFlags(nil, env(map[string]string{"SSEHUB_HUB_URL": u}), io.Discard); err != nil || cfg.HubURL != u {
		t.Errorf("SSEHUB_HUB_URL: HubURL %q, err %v", cfg.HubURL, err)
	}
	for _, bad := range []string{"hub.example.com", "ftp://hub.example.com/", "https:///x", "https://h/.well-known/mercure?a=b", "https://h/#x", "%"} {
		if _, err := app.ParseFlags([]string{"-hub-url", bad}, env(nil), io.Discard); err == nil {
			t.Errorf("-hub-url %q accepted", bad)
		}
	}
}
