package loadtest

import (
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/llm"
	"github.com/ssehub/ssehub/internal/llm/sim"
)

// genTestConfig is a small generations run against url.
func genTestConfig(url string, count int) Config {
	cfg := testConfig(url)
	cfg.Mode = ModeGenerations
	cfg.Gen.Count, cfg.Gen.Ramp, cfg.Gen.TokensPerSecond = count, 200*time.Millisecond, 2000
	return cfg
}

// TestRunGenerations starts generations on a real ssehub and follows them:
// every one completes, with exactly the tokens the simulated model answers
// its prompt and seed with, none duplicated or missing; with a goroutine
// per stream as with the epoll readers.
func TestRunGenerations(t *testing.T) {
	for _, goroutines := range []bool{false, true} {
		url := startHub(t, func(c *app.Config) { c.SimTokensPerSec, c.SimTTFT = 2000, 20*time.Millisecond })
		cfg := genTestConfig(url, 20)
		cfg.NoPoll = goroutines
		res, err := RunGenerations(t.Context(), cfg, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if res.Requested != 20 || res.Started != 20 || res.Completed != 20 || res.Failed != 0 || res.Unfinished != 0 || res.TimedOut {
			t.Fatalf("goroutine readers %v: requested %d, started %d, completed %d, failed %d %v, unfinished %d, timed out %v; errors %v",
				goroutines, res.Requested, res.Started, res.Completed, res.Failed, res.FailedBy, res.Unfinished, res.TimedOut, res.Errors)
		}
		if want := simTokens(t, cfg.Gen); res.Tokens != want || res.Duplicates != 0 || res.Missing != 0 || res.Excess != 0 {
			t.Errorf("goroutine readers %v: %d tokens (want %d), %d duplicates, %d missing, %d excess",
				goroutines, res.Tokens, want, res.Duplicates, res.Missing, res.Excess)
		}
		if res.TTFTP50ms <= 0 || res.LatenessMaxms < res.LatenessP99ms || res.ServerRSSPeakKiB < res.ServerRSSBeforeKiB || res.ServerRSSPeakKiB <= 0 {
			t.Errorf("implausible figures: %+v", res)
		}
	}
}

// simTokens returns the tokens the simulated model answers a run's
// generations with: generation i asks the prompt with seed i.
func simTokens(t *testing.T, g GenConfig) int64 {
	m := sim.New(sim.Config{})
	var n int64
	for i := range g.Count {
		_, res, err := m.Complete(llm.Request{Messages: []llm.Message{{Role: "user", Content: g.Prompt}}, Seed: int64(i), MaxTokens: g.MaxTokens})
		if err != nil {
			t.Fatal(err)
		}
		n += int64(res.Usage.CompletionTokens)
	}
	return n
}

// TestRunGenerationsRefused runs more generations at once than the hub
// lets run: the refusals (429 with Retry-After) are counted, and the
// generations let in complete.
func TestRunGenerationsRefused(t *testing.T) {
	url := startHub(t, func(c *app.Config) {
		c.LLMMaxRunning, c.SimTTFT, c.SimTokensPerSec = 2, time.Second, 2000
	})
	cfg := genTestConfig(url, 8)
	cfg.Gen.Ramp, cfg.Gen.MaxTokens = 0, 5
	res, err := RunGenerations(t.Context(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requested != 8 || res.Started != 2 || res.Refused != 6 || res.RefusedBy["429"] != 6 || res.RetryAfter != 6 ||
		res.Errors["start: status 429"] != 6 || res.Completed != 2 || res.Tokens != 10 {
		t.Errorf("requested %d, started %d, refused %d %v (%d with Retry-After), completed %d, tokens %d; errors %v; want 8, 2, 6 × 429, 2, 10",
			res.Requested, res.Started, res.Refused, res.RefusedBy, res.RetryAfter, res.Completed, res.Tokens, res.Errors)
	}
}

// TestMainGenerations runs the generations mode through the command's
// entry point: one JSON line with -json, exit code 0.
func TestMainGenerations(t *testing.T) {
	url := startHub(t, func(c *app.Config) { c.SimTokensPerSec, c.SimTTFT = 2000, 10*time.Millisecond })
	var stdout, stderr strings.Builder
	args := []string{"-mode", "generations", "-url", url, "-generations", "3", "-ramp", "0s", "-tokens-per-second", "2000", "-max-tokens", "20", "-json"}
	if code := Main(t.Context(), args, strings.NewReader(""), &stdout, &stderr, noenv); code != 0 {
		t.Fatalf("exit code %d; stderr %s", code, stderr.String())
	}
	var res GenResult
	if err := json.Unmarshal([]byte(stdout.String()), &res); err != nil || strings.Count(stdout.String(), "\n") != 1 {
		t.Fatalf("stdout %q is not one JSON line: %v", stdout.String(), err)
	}
	if res.Mode != ModeGenerations || res.Completed != 3 || res.Tokens == 0 || res.Tokens > 60 {
		t.Errorf("mode %q, completed %d, tokens %d; want generations, 3, 1 to 60", res.Mode, res.Completed, res.Tokens)
	}
}
