package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// genPoll is how often a generations run samples the hub's memory and
// looks whether every stream has ended.
const genPoll = 100 * time.Millisecond

// RunGenerations performs a run of the generations mode on cfg's hub: it
// starts cfg.Gen.Count generations spread over the ramp, follows each
// one's stream until its done or error event, and reports how late the
// tokens came against the model's schedule, what became of each
// generation, and the hub's CPU time and peak memory. It returns within
// cfg.Timeout with what was measured by then. Progress lines go to log
// unless cfg.JSON.
func RunGenerations(ctx context.Context, cfg Config, log io.Writer) (*GenResult, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Mode != ModeGenerations {
		return nil, errors.New("not a generations run: -mode is " + cfg.Mode)
	}
	if log == nil || cfg.JSON {
		log = io.Discard
	}
	began := time.Now()
	run, cancel := context.WithTimeout(ctx, cfg.Timeout-grace(cfg.Timeout))
	defer cancel()
	t, err := resolveTarget(run, cfg.URLs[0])
	if err != nil {
		return nil, err
	}
	var server serverProbe
	if err := server.start(cfg.ServerPIDs); err != nil {
		return nil, err
	}
	var host hostProbe
	host.idle()
	server.idle()
	g := newGenRun(cfg, t)
	fmt.Fprintf(log, "starting %d generations on %s over %v\n", cfg.Gen.Count, t.url.Host, cfg.Gen.Ramp)
	peak := g.watch(run, &server, time.Now())
	timedOut := run.Err() != nil
	cancel() // the run is over
	g.close()
	server.done()
	host.done()
	res := g.result(began, timedOut)
	res.fillProbes(&server, &host, peak)
	fmt.Fprintf(log, "started %d, completed %d, failed %d\n", res.Started, res.Completed, res.Failed)
	return res, server.err
}

// watch starts the generations and waits until every started one's stream
// has ended, or ctx ends; meanwhile it samples the hub's memory. It
// returns the largest RSS seen (KiB, summed over the pids).
func (g *genRun) watch(ctx context.Context, server *serverProbe, began time.Time) int64 {
	startCtx, stopStarts := context.WithCancel(ctx)
	defer stopStarts()
	startsDone := make(chan struct{})
	go func() {
		defer close(startsDone)
		g.startAll(startCtx, began)
	}()
	tick := time.NewTicker(genPoll)
	defer tick.Stop()
	var peak int64
	for {
		peak = max(peak, server.rss())
		if n := g.opened.Load() - g.ends.Load(); n > g.peakRunning.Load() {
			g.peakRunning.Store(n)
		}
		select {
		case <-startsDone:
			if g.ends.Load() == g.opened.Load() {
				return max(peak, server.rss())
			}
		default:
		}
		select {
		case <-ctx.Done():
			stopStarts()
			<-startsDone // the starts end with ctx
			return peak
		case <-tick.C:
		}
	}
}

// rss returns the hub processes' resident memory now (KiB, summed), 0
// without pids or when it cannot be read.
func (p *serverProbe) rss() int64 {
	if len(p.pids) == 0 {
		return 0
	}
	s, err := readProcs(p.pids)
	if err != nil {
		return 0
	}
	return sum(s).RSSKiB
}
