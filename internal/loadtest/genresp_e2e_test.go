package loadtest

import (
	"io"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app"
)

// TestRunResponses starts responses on a real ssehub through OpenAI's
// Responses API and follows them, each dropped once after 5 deltas and
// resumed with starting_after (at a pace slow enough that no delta
// coalesces tokens, so each has its 5): every one completes, its deltas add up to
// its output_text.done, no event is repeated or skipped, and each resume
// is timed.
func TestRunResponses(t *testing.T) {
	res := runResumed(t, GenPathResponses)
	if res.Resumes != 10 || res.ResumesTimed != 10 || res.Duplicates != 0 || res.Gaps != 0 || res.Mismatched != 0 {
		t.Errorf("resumes %d (%d timed), duplicates %d, gaps %d, mismatched %d; want 10 timed resumes and no fault",
			res.Resumes, res.ResumesTimed, res.Duplicates, res.Gaps, res.Mismatched)
	}
	if res.OutputTokens < 10*20 || res.TokensPerS <= 0 || res.PeakRunning < 1 {
		t.Errorf("output tokens %d, %.1f tokens/s, peak running %d", res.OutputTokens, res.TokensPerS, res.PeakRunning)
	}
}

// TestRunAISDKChats follows chats through the AI SDK's UI message stream
// (POST /api/chat), each dropped once after 5 deltas and resumed with
// GET /api/chat/{id}/stream, which replays the answer from its start:
// every one completes, the replay's first deltas are the text read before
// the drop, and each resume is timed.
func TestRunAISDKChats(t *testing.T) {
	res := runResumed(t, GenPathAISDK)
	if res.Resumes != 10 || res.ResumesTimed != 10 || res.Duplicates != 0 || res.Mismatched != 0 {
		t.Errorf("resumes %d (%d timed), duplicates %d, mismatched %d; want 10 timed resumes and no fault",
			res.Resumes, res.ResumesTimed, res.Duplicates, res.Mismatched)
	}
	// At this pace each delta is one token, and no answer is longer than
	// -max-tokens: a replay counted as new text would pass it.
	if res.Tokens < 10*20 || res.Tokens > 10*40 || res.TokensPerS <= 0 {
		t.Errorf("%d deltas, %.1f tokens/s; want 200 to 400", res.Tokens, res.TokensPerS)
	}
}

// runResumed runs 10 generations on path at 50 tokens/s, up to 40 tokens,
// each dropped after 5 deltas and resumed, and checks every one completed.
func runResumed(t *testing.T, path string) *GenResult {
	t.Helper()
	url := startHub(t, func(c *app.Config) { c.SimTokensPerSec, c.SimTTFT = 50, 20*time.Millisecond })
	cfg := genTestConfig(url, 10)
	cfg.Gen.Path, cfg.Gen.ResumeAfter, cfg.Gen.MaxTokens, cfg.Gen.TokensPerSecond = path, 5, 40, 50
	res, err := RunGenerations(t.Context(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if res.Started != 10 || res.Completed != 10 || res.Failed != 0 || res.Unfinished != 0 || res.TimedOut {
		t.Fatalf("started %d, completed %d, failed %d %v, unfinished %d, timed out %v; errors %v",
			res.Started, res.Completed, res.Failed, res.FailedBy, res.Unfinished, res.TimedOut, res.Errors)
	}
	return res
}
