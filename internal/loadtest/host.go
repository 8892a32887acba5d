package loadtest

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// hostProbe samples what the machine does around a run that is not the
// hub's or the tool's doing but moves their figures: connections its
// firewall tracks, CPU time its hypervisor takes away.
type hostProbe struct {
	tracked          int64         // connections tracked once the streams were open
	stolen, stolenTo time.Duration // the host's stolen CPU time then, and once the streams were closed
	measured         bool          // both stolen samples were read
}

func (h *hostProbe) idle() {
	h.tracked = trackedConnections()
	var err error
	h.stolen, err = stolenCPU()
	h.measured = err == nil
}

func (h *hostProbe) done() {
	var err error
	h.stolenTo, err = stolenCPU()
	h.measured = h.measured && err == nil
}

// fill writes the host's figures into res.
func (h *hostProbe) fill(res *Result) {
	res.HostTracked = h.tracked
	if h.measured && res.Published > 0 {
		res.HostStolenSeconds = round((h.stolenTo - h.stolen).Seconds(), 2)
	}
}

// conntrackCount is where Linux tells how many connections netfilter's
// connection tracking holds; it is missing while nothing loaded it.
const conntrackCount = "/proc/sys/net/netfilter/nf_conntrack_count"

// trackedConnections returns how many connections the host's firewall
// tracks, 0 when it tracks none or cannot tell. NAT rules (Docker's,
// podman's bridge) make it track every connection, loopback included, and
// every packet then pays for a lookup (docs/loadtest.md, "Reading the
// figures").
func trackedConnections() int64 {
	b, err := os.ReadFile(conntrackCount)
	if err != nil {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// stolenCPU returns the CPU time the hypervisor has taken from this
// machine's CPUs since boot, summed over them ("steal" in /proc/stat): time
// the hub and the tool were ready to run and could not.
func stolenCPU() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	return parseSteal(b)
}

// parseSteal reads the steal field (the 8th number) of /proc/stat's "cpu "
// line, in USER_HZ ticks.
func parseSteal(stat []byte) (time.Duration, error) {
	line, _, _ := bytes.Cut(stat, []byte("\n"))
	rest, ok := bytes.CutPrefix(line, []byte("cpu "))
	if !ok {
		return 0, fmt.Errorf("/proc/stat: no cpu line first")
	}
	f := strings.Fields(string(rest))
	if len(f) < 8 {
		return 0, fmt.Errorf("/proc/stat: %d CPU times, no steal", len(f))
	}
	ticks, err := strconv.ParseInt(f[7], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("/proc/stat: steal %q: %w", f[7], err)
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}
