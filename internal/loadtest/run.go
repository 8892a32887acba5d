package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"
)

// grace is the part of a run's timeout kept for closing the streams,
// collecting the reports and printing them after the phases stop.
func grace(timeout time.Duration) time.Duration { return min(3*time.Second, timeout/10) }

// Run performs one load test on cfg's hub: it opens the subscribers,
// waits until all are connected, idles for the warmup, publishes, waits
// for the deliveries and reports. It returns within cfg.Timeout with what
// was measured by then; an error with a non-nil Result means the run was
// incomplete (a child process failed, say). Progress lines go to log
// unless cfg.JSON; child processes' errors go there always.
func Run(ctx context.Context, cfg Config, log io.Writer) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = io.Discard
	}
	r := &runner{cfg: cfg, began: time.Now(), progress: log}
	if cfg.JSON {
		r.progress = io.Discard
	}
	// hard ends at the timeout, when children are killed; run a grace
	// period earlier, when the phases stop.
	hard, cancelHard := context.WithTimeout(ctx, cfg.Timeout)
	defer cancelHard()
	run, cancelRun := context.WithTimeout(hard, cfg.Timeout-grace(cfg.Timeout))
	defer cancelRun()
	var err error
	if r.targets, err = resolveTargets(run, cfg); err != nil {
		return nil, err
	}
	if err := r.server.start(cfg.ServerPIDs); err != nil {
		return nil, err
	}
	if r.groups, r.children, err = startGroups(hard, cfg, r.targets, log); err != nil {
		return nil, err
	}
	rep, pub, errs := r.phases(run, hard)
	res, err := r.result(rep, pub, errs)
	res.TimedOut = run.Err() != nil
	return res, err
}

// runner is one run under way.
type runner struct {
	cfg      Config
	targets  []target
	began    time.Time
	progress io.Writer
	server   serverProbe
	host     hostProbe
	groups   []group
	children []*childGroup
	cpuIdle  time.Duration // this process's CPU time when publishing began
	cpuEnd   time.Duration // and once the streams were closed
}

// phases connects, idles, publishes and waits for the deliveries until run
// ends, then collects the reports until hard ends.
func (r *runner) phases(run, hard context.Context) (Report, publishStats, []error) {
	cfg := r.cfg
	fmt.Fprintf(r.progress, "connecting %d subscribers to %s (%d process(es), %d source address(es))\n",
		cfg.Subscribers, strings.Join(cfg.URLs, ", "), len(r.groups), newDialer(cfg, r.targets).sources)
	conn, errs := collect(r.groups, func(g group) (Report, error) { return g.connected(run) })
	fmt.Fprintf(r.progress, "connected %d, failed %d, in %.2fs; idle for %v\n", conn.Connected, conn.Failed, conn.ConnectSeconds, cfg.Warmup)
	sleepUntil(run, time.Now().Add(cfg.Warmup))
	r.server.idle()
	r.host.idle()
	r.cpuIdle = selfCPU()

	pub := newPublishStats(cfg.Topics)
	if cfg.Events > 0 && run.Err() == nil {
		fmt.Fprintf(r.progress, "publishing %d events\n", cfg.Events)
		pub = newPublisher(cfg, r.targets).run(run)
	}
	until, _ := run.Deadline()
	fmt.Fprintf(r.progress, "published %d (%d errors); waiting for deliveries\n", pub.Published, pub.Errors)
	rep, finishErrs := collect(r.groups, func(g group) (Report, error) { return g.finish(hard, until, pub.PerTopic, cfg.Drain) })
	r.server.done()
	r.host.done()
	r.cpuEnd = selfCPU()
	return rep, pub, append(errs, finishErrs...)
}

// result sums up the run.
func (r *runner) result(rep Report, pub publishStats, errs []error) (*Result, error) {
	res := newResult(r.cfg, r.targets, rep, pub)
	r.server.fill(res)
	r.host.fill(res)
	cpu := selfCPU()
	for _, c := range r.children {
		cpu += c.childCPU()
	}
	res.BenchCPUSeconds = round(cpu.Seconds(), 3)
	if len(r.children) == 0 && res.Published > 0 {
		res.BenchPublishCPUSeconds = round((r.cpuEnd - r.cpuIdle).Seconds(), 3)
	}
	res.Seconds = round(time.Since(r.began).Seconds(), 3)
	errs = append(errs, r.server.err)
	for _, err := range errs {
		if err != nil {
			addError(res.Errors, errClass(err))
		}
	}
	return res, errors.Join(errs...)
}

// startGroups starts the run's subscriber groups: this process's own, or
// child processes, which are killed when ctx ends.
func startGroups(ctx context.Context, cfg Config, ts []target, stderr io.Writer) ([]group, []*childGroup, error) {
	procs := cfg.procs()
	if procs == 1 {
		return []group{newFleet(cfg, ts, 0, cfg.Subscribers, cfg.Dialers)}, nil, nil
	}
	cfg.Procs = procs
	var (
		groups   []group
		children []*childGroup
	)
	for i, first := 0, 0; i < procs; i++ {
		count := cfg.Subscribers / procs
		if i < cfg.Subscribers%procs {
			count++
		}
		c, err := startChild(ctx, cfg, childRange{first, count}, stderr)
		if err != nil {
			for _, c := range children {
				_, _ = c.finish(ctx, time.Now(), nil, 0)
			}
			return nil, nil, err
		}
		groups, children = append(groups, c), append(children, c)
		first += count
	}
	return groups, children, nil
}

// collect runs phase on every group at once and merges the reports.
func collect(groups []group, phase func(group) (Report, error)) (Report, []error) {
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		sum  = Report{Latency: &Histogram{}, Errors: map[string]int{}}
		errs []error
	)
	for _, g := range groups {
		wg.Go(func() {
			r, err := phase(g)
			mu.Lock()
			defer mu.Unlock()
			sum.Merge(r)
			if err != nil {
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	return sum, errs
}

// newResult sums up a run.
func newResult(cfg Config, ts []target, rep Report, pub publishStats) *Result {
	res := &Result{
		URL: strings.Join(cfg.URLs, ","), Subscribers: cfg.Subscribers, Topics: cfg.Topics, Events: cfg.Events,
		Publishers: cfg.Publishers, Rate: cfg.Rate, Payload: cfg.Payload,
		Procs: cfg.procs(), SourceIPs: newDialer(cfg, ts).sources, Hubs: len(ts),

		Connections: rep.Connected, Failed: rep.Failed, StreamErrors: rep.StreamErrors, Reconnects: rep.Reconnects, ConnectSeconds: round(rep.ConnectSeconds, 3),
		Published: pub.Published, PublishErrors: pub.Errors,
		Delivered: rep.Delivered, Expected: rep.Expected, Lost: rep.Lost,
		Duplicates: rep.Duplicates, OutOfOrder: rep.OutOfOrder, Foreign: rep.Foreign,
		Errors: map[string]int{},
	}
	if len(ts) > 1 {
		res.ConnByHub, res.LostByHub = addEach(make([]int, len(ts)), rep.ConnectedByHub), addEach(make([]int64, len(ts)), rep.LostByHub)
	}
	if d := pub.Last.Sub(pub.First).Seconds(); pub.Published > 0 && d > 0 {
		res.PublishPerSec = round(float64(pub.Published)/d, 1)
	}
	if rep.LastDelivery != 0 && !pub.First.IsZero() {
		phase := time.Unix(0, rep.LastDelivery).Sub(pub.First).Seconds()
		res.PhaseSeconds = round(phase, 3)
		if phase > 0 {
			res.DeliveriesPerS = round(float64(rep.Delivered)/phase, 0)
		}
	}
	res.LatencyP50ms, res.LatencyP90ms, res.LatencyP99ms, res.LatencyMaxms = quantilesMs(rep.Latency)
	if h := rep.Arrival; h != nil && h.Count() > 0 {
		res.ArrivalCount = int64(h.Count())
		res.ArrivalP50ms, res.ArrivalP90ms, res.ArrivalP99ms, res.ArrivalMaxms = quantilesMs(h)
	}
	if h := pub.RoundTrip; h != nil {
		res.PublishP50ms, res.PublishP99ms, res.PublishMaxms = usToMs(h.Quantile(0.50)), usToMs(h.Quantile(0.99)), usToMs(h.Max())
	}
	for k, n := range rep.Errors {
		addErrors(res.Errors, k, n)
	}
	for k, n := range pub.Kinds {
		addErrors(res.Errors, k, n)
	}
	return res
}

// quantilesMs returns the p50, p90, p99 and maximum of h (microseconds)
// in milliseconds; zeros for nil.
func quantilesMs(h *Histogram) (p50, p90, p99, maxMs float64) {
	if h == nil {
		return 0, 0, 0, 0
	}
	return usToMs(h.Quantile(0.50)), usToMs(h.Quantile(0.90)), usToMs(h.Quantile(0.99)), usToMs(h.Max())
}

// usToMs converts microseconds to milliseconds.
func usToMs(us uint64) float64 { return float64(us) / 1000 }

// round rounds x to digits decimals, for a readable JSON line.
func round(x float64, digits int) float64 {
	p := math.Pow10(digits)
	return math.Round(x*p) / p
}
