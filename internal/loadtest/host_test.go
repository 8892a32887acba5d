package loadtest

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestParseSteal(t *testing.T) {
	t.Parallel()
	stat := []byte("cpu  3728989 73034 929610 5630215 24008 0 329957 28878 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n")
	if got, err := parseSteal(stat); err != nil || got != 288780*time.Millisecond {
		t.Errorf("parseSteal = %v, %v; want 288.78s", got, err)
	}
	for _, bad := range []string{"", "cpu0 1 2 3 4 5 6 7 8\n", "cpu  1 2 3 4 5 6 7\n", "cpu  1 2 3 4 5 6 7 x\n"} {
		if _, err := parseSteal([]byte(bad)); err == nil {
			t.Errorf("parseSteal(%q) did not fail", bad)
		}
	}
	if _, err := stolenCPU(); err != nil {
		t.Skipf("no /proc/stat here: %v", err)
	}
}

// TestTableTellsOfTheHost: a run whose connections the host's firewall
// tracked says so (a few tracked connections of others do not), and so
// does one the hypervisor took CPU from.
func TestTableTellsOfTheHost(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		tracked int64
		stolen  float64
		want    []string
	}{
		{0, 0, nil},
		{6, 0, nil},
		{1000, 0, []string{"connection tracking"}},
		{1500, 1.25, []string{"connection tracking", "1.25 s of CPU taken by the hypervisor"}},
		{0, 0.5, []string{"0.50 s of CPU taken"}},
	} {
		r := &Result{Connections: 1000, HostTracked: c.tracked, HostStolenSeconds: c.stolen}
		var buf bytes.Buffer
		if err := r.WriteTable(&buf); err != nil {
			t.Fatal(err)
		}
		if got := strings.Count(buf.String(), "\nhost "); got != len(c.want) {
			t.Errorf("%d tracked, %vs stolen: %d host rows, want %d\n%s", c.tracked, c.stolen, got, len(c.want), buf.String())
		}
		for _, w := range c.want {
			if !strings.Contains(buf.String(), w) {
				t.Errorf("%d tracked, %vs stolen: no %q in\n%s", c.tracked, c.stolen, w, buf.String())
			}
		}
	}
}
