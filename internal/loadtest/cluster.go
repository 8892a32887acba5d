package loadtest

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// A run may drive a cluster: several hubs (the nodes), each with its own
// URL. Subscribers and publishes are spread over them round-robin, so that
// events published through one node must reach subscribers of the others.

// urlList is the value of -url: one URL, or several separated by commas.
type urlList []string

func (l *urlList) String() string { return strings.Join(*l, ",") }

func (l *urlList) Set(s string) error {
	*l = strings.Split(s, ",")
	for i, u := range *l {
		(*l)[i] = strings.TrimSpace(u)
	}
	return nil
}

// pidList is the value of -server-pid: pids separated by commas; "0" is none.
type pidList []int

func (l *pidList) String() string {
	var b []byte
	for i, pid := range *l {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(pid), 10)
	}
	return string(b)
}

func (l *pidList) Set(s string) error {
	*l = nil
	if strings.TrimSpace(s) == "0" {
		return nil
	}
	for f := range strings.SplitSeq(s, ",") {
		pid, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || pid < 1 {
			return fmt.Errorf("want process ids above 0, separated by commas; got %q", f)
		}
		*l = append(*l, pid)
	}
	return nil
}

// validateHubs checks -url and -server-pid: loopback URLs, none twice, as
// many pids at most as a machine may sensibly run nodes.
func (c Config) validateHubs() []error {
	var errs []error
	if len(c.URLs) == 0 || len(c.URLs) > maxHubs {
		errs = append(errs, fmt.Errorf("-url wants 1 to %d URLs, got %d", maxHubs, len(c.URLs)))
	}
	for i, u := range c.URLs {
		if err := checkLoopbackURL(u); err != nil {
			errs = append(errs, err)
		} else if slices.Contains(c.URLs[:i], u) {
			errs = append(errs, fmt.Errorf("-url %q is listed twice", u))
		}
	}
	if len(c.ServerPIDs) > maxHubs {
		errs = append(errs, fmt.Errorf("-server-pid wants at most %d pids, got %d", maxHubs, len(c.ServerPIDs)))
	}
	for i, pid := range c.ServerPIDs {
		switch {
		case pid < 1:
			errs = append(errs, fmt.Errorf("-server-pid %d: process ids are above 0", pid))
		case slices.Contains(c.ServerPIDs[:i], pid):
			errs = append(errs, fmt.Errorf("-server-pid %d is listed twice", pid))
		}
	}
	return errs
}

// hubOf returns which of hubs hubs serves subscriber i, or publishes event
// i: round-robin in rounds of one per topic (i/topics mod hubs), so that
// every topic has subscribers and publishes on every hub even when the
// numbers of topics and hubs share a divisor. With one topic it is i mod hubs.
func hubOf(i, topics, hubs int) int { return i / topics % hubs }

// resolveTargets resolves every URL of cfg's run to its loopback address.
func resolveTargets(ctx context.Context, cfg Config) ([]target, error) {
	ts := make([]target, len(cfg.URLs))
	for i, u := range cfg.URLs {
		var err error
		if ts[i], err = resolveTarget(ctx, u); err != nil {
			return nil, err
		}
		ts[i].h2 = cfg.H2
	}
	return ts, nil
}

// allIPv4 reports whether every hub is on an IPv4 address, so that
// subscribers may dial from the source addresses 127.0.0.2….
func allIPv4(ts []target) bool {
	for _, t := range ts {
		if !t.addr.Addr().Is4() {
			return false
		}
	}
	return len(ts) > 0
}

// hubKind names an error kind for the report: with several hubs it starts
// with the hub's host:port, so that a failing node shows.
func hubKind(ts []target, hub int, kind string) string {
	if len(ts) < 2 {
		return kind
	}
	return ts[hub].url.Host + ": " + kind
}
