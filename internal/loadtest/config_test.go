package loadtest

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

func noenv(string) string { return "" }

func TestParseFlagsDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := ParseFlags(nil, noenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, DefaultConfig()) {
		t.Errorf("no flags gave %+v, want DefaultConfig %+v", cfg, DefaultConfig())
	}
	if cfg.procs() != 1 || cfg.sourceIPs(true) != 1 || cfg.sourceIPs(false) != 0 {
		t.Errorf("procs, source IPs (v4, v6) = %d, %d, %d; want 1, 1, 0", cfg.procs(), cfg.sourceIPs(true), cfg.sourceIPs(false))
	}
	if _, err := ParseFlags([]string{"-h"}, noenv, io.Discard); !errors.Is(err, ErrHelp) {
		t.Errorf("-h: err = %v, want ErrHelp", err)
	}
}

func TestParseFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    []string
		wantErr string // empty for valid
	}{
		{[]string{"-subscribers", "19000", "-topics", "10", "-events", "50", "-publishers", "8"}, ""},
		{[]string{"-rate", "50", "-events", "1000"}, ""},
		{[]string{"-events", "0", "-subscribers", "5000"}, ""},
		{[]string{"-url", "http://[::1]:8080/.well-known/mercure", "-payload", "0"}, ""},
		{[]string{"-url", "http://10.1.1.1:8080/"}, "loopback"},
		{[]string{"-url", "http://hub.example/"}, "loopback"},
		{[]string{"-subscribers", "0"}, "-subscribers"},
		{[]string{"-topics", "0"}, "-topics"},
		{[]string{"-events", "-1"}, "-events"},
		{[]string{"-publishers", "0"}, "-publishers"},
		{[]string{"-publishers", "5000"}, "-publishers"},
		{[]string{"-rate", "-1"}, "-rate"},
		{[]string{"-reconnect", "-publish-via", "1", "-url", "http://127.0.0.1:1/,http://127.0.0.1:2/"}, ""},
		{[]string{"-reconnect", "-protocol", "centrifugo"}, "-reconnect"},
		{[]string{"-publish-via", "2"}, "-publish-via"},
		{[]string{"-publish-via", "-1"}, "-publish-via"},
		{[]string{"-payload", "-1"}, "-payload"},
		{[]string{"-payload", "10000000"}, "-payload"},
		{[]string{"-procs", "-1"}, "-procs"},
		{[]string{"-source-ips", "255"}, "-source-ips"},
		{[]string{"-server-pid", "-3"}, "-server-pid"},
		{[]string{"-timeout", "0s"}, "-timeout"},
		{[]string{"-warmup", "-1s"}, "-warmup"},
		{[]string{"-drain", "0s"}, "-drain"},
		{[]string{"-connect-timeout", "0s"}, "-connect-timeout"},
		{[]string{"-dialers", "0"}, "-dialers"},
		{[]string{"-subscribers", "30000", "-procs", "1"}, "raise -procs"},
		{[]string{"-mode", "generations", "-generations", "10000", "-ramp", "10s", "-tokens-per-second", "20"}, ""},
		{[]string{"-mode", "chat"}, "-mode"},
		{[]string{"-mode", "generations", "-generations", "0"}, "-generations"},
		{[]string{"-mode", "generations", "-generations", "30000"}, "-generations"},
		{[]string{"-mode", "generations", "-ramp", "-1s"}, "-ramp"},
		{[]string{"-mode", "generations", "-tokens-per-second", "0"}, "-tokens-per-second"},
		{[]string{"-mode", "generations", "-max-tokens", "-1"}, "-max-tokens"},
		{[]string{"-mode", "generations", "-prompt", ""}, "-prompt"},
		{[]string{"-mode", "generations", "-gen-path", "chat"}, "-gen-path"},
		{[]string{"-mode", "generations", "-resume-after", "5"}, "-resume-after"},
		{[]string{"-mode", "generations", "-gen-path", "responses", "-resume-after", "-1"}, "-resume-after"},
		{[]string{"-mode", "generations", "-starters", "0"}, "-starters"},
		{[]string{"-mode", "generations", "-url", "http://127.0.0.1:1/,http://127.0.0.1:2/"}, "one -url"},
		{[]string{"-mode", "generations", "-protocol", "centrifugo"}, "-protocol"},
		{[]string{"-subscribers", "19000", "-events", "1000000000", "-topics", "1"}, "duplicates"},
		{[]string{"-child", "0:10", "-subscribers", "5"}, "outside"},
		{[]string{"-child", "nonsense"}, "FIRST:COUNT"},
		{[]string{"-subscribers", "many"}, "invalid value"},
		{[]string{"extra"}, "unexpected argument"},
	}
	for _, tt := range tests {
		_, err := ParseFlags(tt.args, noenv, io.Discard)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%q: %v", tt.args, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%q: err = %v, want one mentioning %q", tt.args, err, tt.wantErr)
		}
	}
}

// TestAutomatic checks the processes and source addresses picked for big runs.
func TestAutomatic(t *testing.T) {
	t.Parallel()
	tests := []struct{ subs, procsFlag, ipsFlag, procs, ips int }{
		{1000, 0, 0, 1, 1},
		{15000, 0, 0, 1, 1},
		{15001, 0, 0, 2, 1},
		{19000, 0, 0, 2, 1},
		{40001, 0, 0, 3, 3},
		{19000, 4, 7, 4, 7},
		{3, 8, 0, 3, 1}, // never more processes than subscribers
	}
	for _, tt := range tests {
		cfg := DefaultConfig()
		cfg.Subscribers, cfg.Procs, cfg.SourceIPs = tt.subs, tt.procsFlag, tt.ipsFlag
		if p, i := cfg.procs(), cfg.sourceIPs(true); p != tt.procs || i != tt.ips {
			t.Errorf("%d subscribers, -procs %d, -source-ips %d: %d procs, %d source IPs; want %d, %d",
				tt.subs, tt.procsFlag, tt.ipsFlag, p, i, tt.procs, tt.ips)
		}
	}
}

// TestChildArgs checks that a child parses back the parent's settings, with
// its token from the environment rather than its command line.
func TestChildArgs(t *testing.T) {
	t.Parallel()
	parent := DefaultConfig()
	parent.Subscribers, parent.Topics, parent.Events, parent.Publishers = 19000, 7, 70, 3
	parent.Payload, parent.SourceIPs, parent.JWT, parent.Dialers = 300, 2, "secret.token", 64
	args := childArgs(parent, childRange{9500, 9500}, 90*time.Second)
	for _, a := range args {
		if strings.Contains(a, parent.JWT) {
			t.Fatalf("the token is on the child's command line: %q", args)
		}
	}
	child, err := ParseFlags(args, func(k string) string { return map[string]string{jwtEnv: parent.JWT}[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if child.child == nil || *child.child != (childRange{9500, 9500}) {
		t.Fatalf("child range = %v", child.child)
	}
	want := parent
	want.Procs, want.Timeout = 2, 90*time.Second
	child.child = nil
	if !reflect.DeepEqual(child, want) {
		t.Errorf("child config\n%+v\nwant\n%+v", child, want)
	}
}
