package loadtest

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"text/tabwriter"
	"time"
)

// GenResult is the outcome of a generations run: its one JSON line.
// Server fields are present only with -server-pid.
type GenResult struct {
	Mode            string  `json:"mode"` // "generations"
	URL             string  `json:"url"`
	Path            string  `json:"gen_path"`
	Generations     int     `json:"generations"` // requested (-generations)
	RampSeconds     float64 `json:"ramp_s"`
	TokensPerSecond float64 `json:"tokens_per_second"`
	MaxTokens       int     `json:"max_tokens"`

	Requested  int            `json:"requested"`           // start requests sent (fewer than requested when the run timed out)
	Started    int            `json:"started"`             // answered 201
	Refused    int            `json:"refused"`             // answered another status
	RefusedBy  map[string]int `json:"refused_by_status"`   // by status
	RetryAfter int            `json:"refused_retry_after"` // answered 429 with Retry-After
	StartErrs  int            `json:"start_errors"`        // no answer at all (connection failed, timeout)
	StartP50ms float64        `json:"start_p50_ms"`        // start request → 201
	StartP99ms float64        `json:"start_p99_ms"`
	StartMaxms float64        `json:"start_max_ms"`
	Completed  int            `json:"completed"`           // followed to their done event
	Failed     int            `json:"failed"`              // an error event, or a stream that broke or could not be opened
	FailedBy   map[string]int `json:"failed_by,omitempty"` // by kind
	Unfinished int            `json:"unfinished"`          // still running when the run ended

	Tokens     int64 `json:"tokens"`     // distinct tokens received
	Duplicates int64 `json:"duplicates"` // tokens received again (an event id not after the previous token's)
	Missing    int64 `json:"missing"`    // tokens a done event counts that never arrived
	Excess     int64 `json:"excess"`     // distinct tokens beyond a done event's count

	LatenessP50ms float64 `json:"lateness_p50_ms"` // token read → its due time, token 0's read + i / tokens_per_second
	LatenessP90ms float64 `json:"lateness_p90_ms"`
	LatenessP99ms float64 `json:"lateness_p99_ms"`
	LatenessMaxms float64 `json:"lateness_max_ms"`
	TTFTP50ms     float64 `json:"ttft_p50_ms"` // start request sent → token 0 read
	TTFTP99ms     float64 `json:"ttft_p99_ms"`
	TTFTMaxms     float64 `json:"ttft_max_ms"`

	// The responses path's: numbered events, checked text, resumes.
	Gaps         int64   `json:"gaps,omitempty"`          // events whose sequence_number skipped one
	Mismatched   int     `json:"mismatched,omitempty"`    // completed responses whose deltas did not add up to output_text.done
	Resumes      int     `json:"resumes,omitempty"`       // streams dropped and resumed (-resume-after)
	ResumesTimed int     `json:"resumes_timed,omitempty"` // resumes whose first delta came (the delay below)
	ResumeP50ms  float64 `json:"resume_p50_ms,omitempty"` // the delay a resume added: its first delta's read past one model interval after the last delta before the drop
	ResumeP99ms  float64 `json:"resume_p99_ms,omitempty"`
	ResumeMaxms  float64 `json:"resume_max_ms,omitempty"`
	OutputTokens int64   `json:"output_tokens,omitempty"`       // the final usages' output_tokens, summed
	TokensPerS   float64 `json:"tokens_per_s"`                  // tokens delivered (output_tokens, else tokens) per second of the run
	PeakRunning  int64   `json:"peak_running"`                  // streams followed at once, at most
	RSSPerRunKiB float64 `json:"rss_per_running_kib,omitempty"` // (peak RSS - RSS before) / peak_running

	ServerRSSBeforeKiB int64   `json:"server_rss_before_kib,omitempty"`
	ServerRSSPeakKiB   int64   `json:"server_rss_peak_kib,omitempty"` // largest RSS sampled every 100 ms
	ServerCPUSeconds   float64 `json:"server_cpu_s,omitempty"`        // user + system, first start → streams closed
	BenchCPUSeconds    float64 `json:"bench_cpu_s"`
	HostStolenSeconds  float64 `json:"host_steal_s,omitempty"`

	Seconds  float64        `json:"duration_s"`
	TimedOut bool           `json:"timed_out"`
	Errors   map[string]int `json:"errors,omitempty"`
}

// result sums up the run once its streams are closed.
func (g *genRun) result(began time.Time, timedOut bool) *GenResult {
	gc := g.cfg.Gen
	res := &GenResult{
		Mode: ModeGenerations, URL: g.cfg.URLs[0], Path: gc.Path, Generations: gc.Count,
		RampSeconds: gc.Ramp.Seconds(), TokensPerSecond: gc.TokensPerSecond, MaxTokens: gc.MaxTokens,
		RefusedBy: map[string]int{}, FailedBy: map[string]int{}, Errors: map[string]int{},
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	st := g.starts
	res.Requested, res.Started, res.RetryAfter = st.requested, st.started, st.retryAfter
	for k, n := range st.refused {
		res.RefusedBy[k] += n
		res.Refused += n
	}
	res.StartErrs = st.requested - st.started - res.Refused
	res.StartP50ms, res.StartP99ms, res.StartMaxms = usToMs(st.roundTrip.Quantile(0.5)), usToMs(st.roundTrip.Quantile(0.99)), usToMs(st.roundTrip.Max())
	maps.Copy(res.Errors, st.errors)
	for _, s := range g.streams {
		res.addStream(s)
	}
	lat, ttft, resume := &Histogram{}, &Histogram{}, &Histogram{}
	for _, sh := range g.shards {
		lat.Merge(sh.lateness)
		ttft.Merge(sh.ttft)
		resume.Merge(sh.resume)
	}
	res.ResumeP50ms, _, res.ResumeP99ms, res.ResumeMaxms = quantilesMs(resume)
	res.ResumesTimed = int(resume.Count())
	res.LatenessP50ms, res.LatenessP90ms, res.LatenessP99ms, res.LatenessMaxms = quantilesMs(lat)
	res.TTFTP50ms, _, res.TTFTP99ms, res.TTFTMaxms = quantilesMs(ttft)
	res.BenchCPUSeconds = round(selfCPU().Seconds(), 3)
	res.Seconds = round(time.Since(began).Seconds(), 3)
	res.TimedOut = timedOut
	delivered := res.Tokens
	if res.OutputTokens > 0 {
		delivered = res.OutputTokens
	}
	res.TokensPerS = round(float64(delivered)/res.Seconds, 1)
	res.PeakRunning = g.peakRunning.Load()
	return res
}

// addStream counts one generation's stream.
func (r *GenResult) addStream(s *genStream) {
	r.Tokens += s.tokens
	r.Duplicates += s.duplicates
	r.Missing += s.missing()
	r.Excess += s.excess()
	r.Gaps += s.gaps
	r.OutputTokens += s.outputTokens
	if s.dropped {
		r.Resumes++
	}
	if s.mismatched {
		r.Mismatched++
	}
	switch s.outcome {
	case genCompleted:
		r.Completed++
	case genFailed:
		r.Failed++
		addError(r.FailedBy, s.kind)
	case genBroken:
		r.Failed++
		addError(r.FailedBy, errClass(s.err))
	default:
		r.Unfinished++
	}
}

// fillProbes writes the hub's and the host's figures.
func (r *GenResult) fillProbes(server *serverProbe, host *hostProbe, peak int64) {
	if len(server.pids) > 0 && server.err == nil {
		r.ServerRSSBeforeKiB = sum(server.before).RSSKiB
		// The samples may all fall below the start when the hub returned
		// memory to the system during the run: the peak is then the start.
		r.ServerRSSPeakKiB = max(peak, sum(server.endS).RSSKiB, r.ServerRSSBeforeKiB)
		r.ServerCPUSeconds = round((sum(server.endS).CPU - sum(server.idleS).CPU).Seconds(), 2)
		if r.PeakRunning > 0 {
			r.RSSPerRunKiB = round(float64(r.ServerRSSPeakKiB-r.ServerRSSBeforeKiB)/float64(r.PeakRunning), 1)
		}
	}
	if host.measured {
		r.HostStolenSeconds = round((host.stolenTo - host.stolen).Seconds(), 2)
	}
	if server.err != nil {
		addError(r.Errors, errClass(server.err))
	}
}

// WriteJSON writes r as one line of JSON.
func (r *GenResult) WriteJSON(w io.Writer) error { return writeJSONLine(w, r) }

// WriteTable writes r for people to read.
func (r *GenResult) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, format string, a ...any) { fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, a...)...) }
	row("hub", "%s (%s)", r.URL, r.Path)
	row("run", "%d generations over %.1f s, max_tokens %d, lateness against %g tokens/s", r.Generations, r.RampSeconds, r.MaxTokens, r.TokensPerSecond)
	row("starts", "%d sent, %d started, %d refused %v (%d × 429 with Retry-After), %d failed; 201 in p50 %.2f ms, p99 %.2f ms, max %.2f ms",
		r.Requested, r.Started, r.Refused, r.RefusedBy, r.RetryAfter, r.StartErrs, r.StartP50ms, r.StartP99ms, r.StartMaxms)
	row("generations", "%d completed, %d failed, %d unfinished", r.Completed, r.Failed, r.Unfinished)
	row("tokens", "%d received: %d duplicates, %d missing, %d excess", r.Tokens, r.Duplicates, r.Missing, r.Excess)
	row("lateness", "p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms (read → due on the model's schedule)",
		r.LatenessP50ms, r.LatenessP90ms, r.LatenessP99ms, r.LatenessMaxms)
	row("first token", "p50 %.2f ms, p99 %.2f ms, max %.2f ms (start request → token 0)", r.TTFTP50ms, r.TTFTP99ms, r.TTFTMaxms)
	row("delivered", "%.1f tokens/s; %d streams at once at most", r.TokensPerS, r.PeakRunning)
	if r.Path == GenPathResponses {
		row("responses", "%d event gaps, %d texts not matching output_text.done, %d output tokens", r.Gaps, r.Mismatched, r.OutputTokens)
	}
	if r.Resumes > 0 {
		row("resumes", "%d: delay added p50 %.2f ms, p99 %.2f ms, max %.2f ms (first delta after the resume, past one model interval after the last one before the drop)", r.Resumes, r.ResumeP50ms, r.ResumeP99ms, r.ResumeMaxms)
	}
	if r.ServerRSSPeakKiB > 0 {
		row("server", "%.2f s CPU; RSS %d KiB before, %d KiB at its peak (%.1f KiB per stream running at once)", r.ServerCPUSeconds, r.ServerRSSBeforeKiB, r.ServerRSSPeakKiB, r.RSSPerRunKiB)
	}
	row("bench CPU", "%.2f s", r.BenchCPUSeconds)
	if r.HostStolenSeconds > 0 {
		row("host", "%.2f s of CPU taken by the hypervisor (steal)", r.HostStolenSeconds)
	}
	row("duration", "%.2f s%s", r.Seconds, map[bool]string{true: " (TIMED OUT: partial results)"}[r.TimedOut])
	for _, k := range slices.Sorted(maps.Keys(r.FailedBy)) {
		row("failed", "%d × %s", r.FailedBy[k], k)
	}
	for _, k := range slices.Sorted(maps.Keys(r.Errors)) {
		row("error", "%d × %s", r.Errors[k], k)
	}
	return tw.Flush()
}
