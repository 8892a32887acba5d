package loadtest

import (
	"flag"
	"fmt"
	"time"
)

// Modes of a run.
const (
	// ModeFanout opens subscriber streams and publishes timed events to
	// them: the tool's first and default mode.
	ModeFanout = "fanout"
	// ModeGenerations starts LLM generations and follows each one's stream,
	// measuring how late its tokens come against the model's schedule.
	ModeGenerations = "generations"
)

// Paths a generation may be started and followed by (-gen-path).
const (
	// GenPathGenerations starts a generation with POST /llm/generations
	// and follows its topic from lastEventID=earliest until its done
	// event: ssehub's resumable generations.
	GenPathGenerations = "generations"
	// GenPathResponses starts a response with POST /v1/responses (OpenAI's
	// Responses API, stream: true) and reads its events from that answer;
	// with ResumeAfter, each stream is dropped once and resumed with
	// GET /v1/responses/{id}?stream=true&starting_after=N.
	GenPathResponses = "responses"
	// GenPathAISDK posts a turn of a chat of its own to POST /api/chat (the
	// AI SDK's UI message stream, as useChat reads it) and reads its
	// chunks from that answer; with ResumeAfter, each stream is dropped
	// once and resumed with GET /api/chat/{id}/stream, which replays the
	// answer from its start.
	GenPathAISDK = "aisdk"
)

// Defaults of GenConfig.
const (
	DefaultGenerations = 100
	DefaultGenRamp     = 10 * time.Second
	DefaultGenTPS      = 50 // the simulated model's default pace
	DefaultGenTokens   = 300
	DefaultGenPrompt   = "Explain server-sent events, history, resume and fan-out in a hub written in Go"
	DefaultStarters    = 512 // enough to keep the ramp's pace while starts take ~300 ms
)

// GenConfig is the settings of the generations mode.
type GenConfig struct {
	Count           int           // generations to start
	Ramp            time.Duration // the starts are spread evenly over it
	TokensPerSecond float64       // the model's pace: token i is due i/TokensPerSecond after token 0
	MaxTokens       int           // max_tokens of each request; 0 leaves it to the hub
	Prompt          string        // the user message; generation i asks it with seed i
	Path            string        // GenPathGenerations
	Starters        int           // starts (request and stream set-up) under way at once
	// ResumeAfter drops each stream once after that many text deltas and
	// resumes it where it was (GenPathResponses); 0 never drops.
	ResumeAfter int
}

// defaultGenConfig returns the generations mode's defaults.
func defaultGenConfig() GenConfig {
	return GenConfig{
		Count:           DefaultGenerations,
		Ramp:            DefaultGenRamp,
		TokensPerSecond: DefaultGenTPS,
		MaxTokens:       DefaultGenTokens,
		Prompt:          DefaultGenPrompt,
		Path:            GenPathGenerations,
		Starters:        DefaultStarters,
	}
}

// addGenFlags registers the generations mode's flags.
func addGenFlags(fs *flag.FlagSet, cfg *Config) {
	g := &cfg.Gen
	fs.StringVar(&cfg.Mode, "mode", cfg.Mode, "fanout: subscribers and timed publishes; generations: start LLM generations and measure their tokens' lateness")
	fs.IntVar(&g.Count, "generations", g.Count, "generations mode: generations to start")
	fs.DurationVar(&g.Ramp, "ramp", g.Ramp, "generations mode: spread the starts evenly over this time")
	fs.Float64Var(&g.TokensPerSecond, "tokens-per-second", g.TokensPerSecond, "generations mode: the model's pace (the hub's -sim-tokens-per-second), which lateness is measured against")
	fs.IntVar(&g.MaxTokens, "max-tokens", g.MaxTokens, "generations mode: max_tokens of each request; 0 leaves it to the hub")
	fs.StringVar(&g.Prompt, "prompt", g.Prompt, "generations mode: the user message; generation i asks it with seed i")
	fs.StringVar(&g.Path, "gen-path", g.Path, "generations mode: how generations are started and followed: generations (POST /llm/generations, then its topic), responses (POST /v1/responses, stream: true) or aisdk (POST /api/chat, the AI SDK's UI message stream)")
	fs.IntVar(&g.ResumeAfter, "resume-after", g.ResumeAfter, "generations mode, -gen-path responses or aisdk: drop each stream once after this many text deltas and resume it (starting_after; the chat's /stream); 0 never")
	fs.IntVar(&g.Starters, "starters", g.Starters, "generations mode: starts under way at once (request, then the stream's set-up)")
}

// validateGen checks the generations mode's settings.
func (c Config) validateGen() []error {
	var errs []error
	check := func(bad bool, format string, a ...any) {
		if bad {
			errs = append(errs, fmt.Errorf(format, a...))
		}
	}
	g := c.Gen
	check(c.Mode != ModeFanout && c.Mode != ModeGenerations, "-mode %q: want %s or %s", c.Mode, ModeFanout, ModeGenerations)
	if c.Mode != ModeGenerations {
		return errs
	}
	check(g.Count < 1 || g.Count > maxConnsPerProc, "-generations must be between 1 and %d (one process holds them)", maxConnsPerProc)
	check(g.Ramp < 0, "-ramp must not be negative")
	check(g.TokensPerSecond <= 0, "-tokens-per-second must be positive")
	check(g.MaxTokens < 0, "-max-tokens must not be negative")
	check(g.Prompt == "", "-prompt must not be empty")
	check(g.Path != GenPathGenerations && g.Path != GenPathResponses && g.Path != GenPathAISDK, "-gen-path %q: want %s, %s or %s", g.Path, GenPathGenerations, GenPathResponses, GenPathAISDK)
	check(g.ResumeAfter < 0, "-resume-after must not be negative")
	check(g.ResumeAfter > 0 && g.Path == GenPathGenerations, "-resume-after needs -gen-path %s or %s", GenPathResponses, GenPathAISDK)
	check(g.Starters < 1, "-starters must be at least 1")
	check(len(c.URLs) != 1, "the generations mode drives one hub: give one -url")
	check(c.Protocol != ProtocolMercure, "the generations mode speaks to ssehub: -protocol must be %s", ProtocolMercure)
	return errs
}

// interval returns the time between two tokens on the model's schedule.
func (g GenConfig) interval() time.Duration {
	return time.Duration(float64(time.Second) / g.TokensPerSecond)
}
