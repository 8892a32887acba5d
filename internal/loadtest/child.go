package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// The child protocol. The parent starts a child with the run's flags and
// -child FIRST:COUNT; the child opens its subscribers and writes a
// "connected" message on its stdout; the parent writes one finishCommand on
// the child's stdin when publishing is over (or closes it to finish now);
// the child writes a "done" message and exits.
const (
	childFlag = "child"
	childEnv  = "SSEHUB_BENCH_CHILD" // set to 1 in children's environment
	jwtEnv    = "SSEHUB_BENCH_JWT"
)

// childRange is the subscribers a child serves.
type childRange struct{ First, Count int }

func parseChildRange(s string) (childRange, error) {
	a, b, ok := strings.Cut(s, ":")
	first, err1 := strconv.Atoi(a)
	count, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil {
		return childRange{}, fmt.Errorf("want FIRST:COUNT, got %q", s)
	}
	return childRange{first, count}, nil
}

// childMessage is a child's message to its parent.
type childMessage struct {
	Phase  string `json:"phase"` // "connected" or "done"
	Report Report `json:"report"`
}

// finishCommand tells a child that publishing is over.
type finishCommand struct {
	Expected []int64       `json:"expected"` // acknowledged events by topic
	Drain    time.Duration `json:"drain"`
	Until    int64         `json:"until"` // Unix nanoseconds: finish by then whatever arrived
}

// runChild serves a child's subscribers: connect, report, wait for the
// parent's finish command, report again. ctx ends at the parent's hard
// deadline; connecting stops a grace period earlier, as in the parent.
func runChild(ctx context.Context, cfg Config, stdin io.Reader, stdout io.Writer) error {
	cctx, cancel := context.WithTimeout(ctx, cfg.Timeout-grace(cfg.Timeout))
	defer cancel()
	ts, err := resolveTargets(cctx, cfg)
	if err != nil {
		return err
	}
	f := newFleet(cfg, ts, cfg.child.First, cfg.child.Count, max(1, cfg.Dialers/cfg.procs()))
	enc := json.NewEncoder(stdout)
	rep, _ := f.connected(cctx)
	if err := enc.Encode(childMessage{Phase: "connected", Report: rep}); err != nil {
		return err
	}
	var cmd finishCommand
	if err := json.NewDecoder(stdin).Decode(&cmd); err != nil {
		cmd = finishCommand{} // the parent is gone or finishing now
	}
	if cmd.Expected != nil && len(cmd.Expected) != cfg.Topics {
		return fmt.Errorf("finish command with %d topics, want %d", len(cmd.Expected), cfg.Topics)
	}
	until := time.Now()
	if cmd.Until != 0 {
		until = time.Unix(0, cmd.Until)
	}
	rep, _ = f.finish(ctx, until, cmd.Expected, cmd.Drain)
	return enc.Encode(childMessage{Phase: "done", Report: rep})
}

// childGroup is the parent's side of a child process.
type childGroup struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	msgs  chan childMessage // closed when the child's stdout ends
	sub   childRange
	conn  Report // the child's connection report, once received
}

// startChild starts a child serving sub. The child's -timeout is what is
// left of ctx, and it is killed when ctx ends.
func startChild(ctx context.Context, cfg Config, sub childRange, stderr io.Writer) (*childGroup, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own executable: %w", err)
	}
	timeout := cfg.Timeout
	if d, ok := ctx.Deadline(); ok {
		timeout = max(time.Millisecond, time.Until(d))
	}
	cmd := exec.CommandContext(ctx, exe, childArgs(cfg, sub, timeout)...)
	cmd.Env = append(os.Environ(), childEnv+"=1", jwtEnv+"="+cfg.JWT)
	cmd.Stderr = stderr
	cmd.WaitDelay = time.Second
	g := &childGroup{cmd: cmd, msgs: make(chan childMessage, 2), sub: sub}
	if g.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start child: %w", err)
	}
	go func() {
		defer close(g.msgs)
		dec := json.NewDecoder(stdout)
		for {
			var m childMessage
			if dec.Decode(&m) != nil {
				return
			}
			g.msgs <- m
		}
	}()
	return g, nil
}

// childArgs is the command line of a child serving sub within timeout.
func childArgs(cfg Config, sub childRange, timeout time.Duration) []string {
	return []string{
		"-url", strings.Join(cfg.URLs, ","),
		"-subscribers", strconv.Itoa(cfg.Subscribers),
		"-topics", strconv.Itoa(cfg.Topics),
		"-events", strconv.Itoa(cfg.Events),
		"-publishers", strconv.Itoa(cfg.Publishers),
		"-payload", strconv.Itoa(cfg.Payload),
		"-procs", strconv.Itoa(cfg.procs()),
		"-source-ips", strconv.Itoa(cfg.SourceIPs),
		"-timeout", timeout.String(),
		"-connect-timeout", cfg.ConnectTimeout.String(),
		"-dialers", strconv.Itoa(cfg.Dialers),
		"-goroutine-readers=" + strconv.FormatBool(cfg.NoPoll),
		"-protocol", cfg.Protocol,
		"-h2=" + strconv.FormatBool(cfg.H2),
		"-" + childFlag, fmt.Sprintf("%d:%d", sub.First, sub.Count),
	}
}

// errChildGone reports a child that ended without its report.
var errChildGone = errors.New("child process ended without a report")

// await waits for the child's message of phase, skipping the earlier
// phase's message the parent stopped waiting for.
func (g *childGroup) await(ctx context.Context, phase string) (Report, error) {
	for {
		select {
		case m, ok := <-g.msgs:
			if !ok {
				return Report{}, fmt.Errorf("child %d:%d: %w", g.sub.First, g.sub.Count, errChildGone)
			}
			if m.Phase == phase {
				return m.Report, nil
			}
		case <-ctx.Done():
			return Report{}, fmt.Errorf("child %d:%d: %w", g.sub.First, g.sub.Count, ctx.Err())
		}
	}
}

// connected waits for the child's connection report; a child that fails
// counts all its subscribers as failed.
func (g *childGroup) connected(ctx context.Context) (Report, error) {
	rep, err := g.await(ctx, "connected")
	if err != nil {
		rep = Report{Subscribers: g.sub.Count, Failed: g.sub.Count, Errors: map[string]int{"child process failed": 1}}
	}
	g.conn = rep
	return rep, err
}

// finish sends the finish command and waits for the child's report and exit.
func (g *childGroup) finish(ctx context.Context, until time.Time, expected []int64, drain time.Duration) (Report, error) {
	if expected != nil {
		_ = json.NewEncoder(g.stdin).Encode(finishCommand{Expected: expected, Drain: drain, Until: until.UnixNano()})
	}
	_ = g.stdin.Close()
	rep, err := g.await(ctx, "done")
	if err != nil {
		// What became of the streams is unknown: count them as broken.
		rep = g.conn
		rep.StreamErrors = rep.Connected
		rep.Errors = map[string]int{"child process failed": 1}
	}
	if werr := g.cmd.Wait(); err == nil && werr != nil {
		err = fmt.Errorf("child %d:%d: %w", g.sub.First, g.sub.Count, werr)
	}
	return rep, err
}

// childCPU returns the CPU time the child used; call it after finish.
func (g *childGroup) childCPU() time.Duration {
	if g.cmd.ProcessState == nil {
		return 0
	}
	return g.cmd.ProcessState.UserTime() + g.cmd.ProcessState.SystemTime()
}
