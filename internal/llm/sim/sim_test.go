package sim_test

import (
	"context"
	"errors"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/ssehub/ssehub/internal/llm"
	"github.com/ssehub/ssehub/internal/llm/sim"
)

// fast is a model that streams without waiting.
var fast = sim.Config{TTFT: -1, TokensPerSecond: 1e6}

func request(prompt string, seed int64) llm.Request {
	return llm.Request{
		Messages: []llm.Message{{Role: "system", Content: "You are helpful."}, {Role: "user", Content: prompt}},
		Seed:     seed,
	}
}

// collect streams req and returns the deltas.
func collect(t *testing.T, m *sim.Model, req llm.Request) ([]string, llm.Result) {
	t.Helper()
	var deltas []string
	res, err := m.Stream(context.Background(), req, func(d string) error {
		deltas = append(deltas, d)
		return nil
	})
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	return deltas, res
}

func TestDeterministic(t *testing.T) {
	m := sim.New(fast)
	for _, prompt := range []string{"How do Redis Streams handle consumer groups?", "请介绍一下Go语言的并发模型"} {
		t.Run(prompt, func(t *testing.T) {
			a, ra := collect(t, m, request(prompt, 7))
			b, rb := collect(t, m, request(prompt, 7))
			if !slices.Equal(a, b) || !reflect.DeepEqual(ra, rb) {
				t.Fatalf("same input gave different answers:\n%q\n%q", a, b)
			}
			c, _ := collect(t, m, request(prompt, 8))
			if strings.Join(a, "") == strings.Join(c, "") {
				t.Fatalf("seeds 7 and 8 gave the same answer: %q", strings.Join(a, ""))
			}
		})
	}
}

func TestLanguage(t *testing.T) {
	m := sim.New(fast)
	tests := []struct {
		prompt  string
		wantHan bool
	}{
		{"Explain server-sent events", false},
		{"hi", false},
		{"什么是服务器推送事件？", true},
		{"How do I say 你好 in a sentence?", true},
	}
	for _, tt := range tests {
		t.Run(tt.prompt, func(t *testing.T) {
			text, _, err := m.Complete(request(tt.prompt, 1))
			if err != nil {
				t.Fatal(err)
			}
			han := strings.IndexFunc(text, func(r rune) bool { return unicode.Is(unicode.Han, r) }) >= 0
			if han != tt.wantHan {
				t.Fatalf("Han characters in answer = %v, want %v:\n%s", han, tt.wantHan, text)
			}
		})
	}
}

func TestEchoesKeywords(t *testing.T) {
	m := sim.New(fast)
	tests := []struct{ prompt, want string }{
		{"Explain how Redis Streams handle consumer groups", "Redis Streams"},
		{"请介绍一下Go语言的并发模型", "Go语言"},
	}
	for _, tt := range tests {
		text, _, err := m.Complete(request(tt.prompt, 3))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(text, tt.want) {
			t.Errorf("answer to %q does not mention %q:\n%s", tt.prompt, tt.want, text)
		}
	}
}

var (
	listLine = regexp.MustCompile(`(?m)^(- |\d+\. )\S`)
	heading  = regexp.MustCompile(`(?m)^## \S`)
)

func TestMarkdownShape(t *testing.T) {
	m := sim.New(fast)
	seen := map[string]bool{}
	for seed := range int64(40) {
		for _, prompt := range []string{"Compare SSE and WebSockets", "比较SSE和WebSocket"} {
			text, _, err := m.Complete(request(prompt, seed))
			if err != nil {
				t.Fatal(err)
			}
			if !listLine.MatchString(text) || !strings.Contains(text, "\n\n") {
				t.Fatalf("seed %d: no list line or paragraph break:\n%s", seed, text)
			}
			seen["heading"] = seen["heading"] || heading.MatchString(text)
			seen["bold lead"] = seen["bold lead"] || strings.HasPrefix(text, "**")
			seen["code block"] = seen["code block"] || strings.Contains(text, "\n```")
			seen["inline code"] = seen["inline code"] || regexp.MustCompile("[^`]`[^`\n]+`").MatchString(text)
		}
	}
	for _, shape := range []string{"heading", "bold lead", "code block", "inline code"} {
		if !seen[shape] {
			t.Errorf("no answer in 80 had a %s", shape)
		}
	}
}

func TestMaxTokens(t *testing.T) {
	m := sim.New(fast)
	tests := []struct {
		maxTokens  int
		wantFinish string
	}{
		{1, llm.FinishLength},
		{17, llm.FinishLength},
		{60, llm.FinishLength},
		{100000, llm.FinishStop},
	}
	for _, tt := range tests {
		req := request("Explain consistent hashing", 5)
		req.MaxTokens = tt.maxTokens
		deltas, res := collect(t, m, req)
		if res.FinishReason != tt.wantFinish {
			t.Errorf("MaxTokens %d: finish %q, want %q", tt.maxTokens, res.FinishReason, tt.wantFinish)
		}
		if tt.wantFinish == llm.FinishLength && len(deltas) != tt.maxTokens {
			t.Errorf("MaxTokens %d: %d deltas", tt.maxTokens, len(deltas))
		}
		if res.Usage.CompletionTokens != len(deltas) || res.Usage.PromptTokens <= 0 ||
			res.Usage.TotalTokens != res.Usage.PromptTokens+res.Usage.CompletionTokens {
			t.Errorf("MaxTokens %d: usage %+v with %d deltas", tt.maxTokens, res.Usage, len(deltas))
		}
	}
}

func TestDefaultMaxTokensBoundsAnswers(t *testing.T) {
	m := sim.New(sim.Config{TTFT: -1, TokensPerSecond: 1e6, MaxTokens: 30})
	_, res, err := m.Complete(request("Explain consistent hashing", 1))
	if err != nil {
		t.Fatal(err)
	}
	if res.Usage.CompletionTokens != 30 || res.FinishReason != llm.FinishLength {
		t.Fatalf("result %+v, want 30 tokens and %q", res, llm.FinishLength)
	}
	for seed := range int64(50) {
		for _, prompt := range []string{"Explain consistent hashing", "解释一下一致性哈希"} {
			_, res, _ := sim.New(fast).Complete(request(prompt, seed))
			if res.FinishReason != llm.FinishStop || res.Usage.CompletionTokens > sim.DefaultMaxTokens {
				t.Fatalf("%q seed %d: default answer %+v does not end within %d tokens", prompt, seed, res, sim.DefaultMaxTokens)
			}
		}
	}
}

func TestStreamMatchesComplete(t *testing.T) {
	m := sim.New(fast)
	for _, prompt := range []string{"Explain Raft leader election", "解释一下Raft的选主过程"} {
		deltas, res := collect(t, m, request(prompt, 11))
		text, cres, err := m.Complete(request(prompt, 11))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(deltas, "") != text || !reflect.DeepEqual(res, cres) {
			t.Errorf("%q: streamed text or result differs from Complete", prompt)
		}
	}
}

func TestInvalidRequest(t *testing.T) {
	m := sim.New(fast)
	tests := []struct {
		name string
		req  llm.Request
	}{
		{"no messages", llm.Request{}},
		{"no user message", llm.Request{Messages: []llm.Message{{Role: "system", Content: "be brief"}}}},
		{"negative max tokens", llm.Request{Messages: []llm.Message{{Role: "user", Content: "hi"}}, MaxTokens: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.Stream(context.Background(), tt.req, func(string) error { return nil })
			if llm.KindOf(err) != llm.KindInvalid {
				t.Fatalf("err = %v, want kind %s", err, llm.KindInvalid)
			}
		})
	}
}

func TestEmitError(t *testing.T) {
	m := sim.New(fast)
	boom := errors.New("client gone")
	calls := 0
	_, err := m.Stream(context.Background(), request("hello", 1), func(string) error {
		calls++
		if calls == 5 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || calls != 5 {
		t.Fatalf("err = %v after %d calls, want %v after 5", err, calls, boom)
	}
}

func TestCancelMidStream(t *testing.T) {
	m := sim.New(sim.Config{TTFT: time.Millisecond, TokensPerSecond: 20})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var cancelled time.Time
	n := 0
	_, err := m.Stream(ctx, request("hello", 1), func(string) error {
		if n++; n == 3 {
			cancel()
			cancelled = time.Now()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || n != 3 {
		t.Fatalf("err = %v after %d deltas, want context.Canceled after 3", err, n)
	}
	if d := time.Since(cancelled); d > 20*time.Millisecond {
		t.Fatalf("Stream returned %v after cancel, want < 20ms (a token is due every 50ms)", d)
	}
}

func TestDeadlineDuringTTFT(t *testing.T) {
	m := sim.New(sim.Config{TTFT: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := m.Stream(ctx, request("hello", 1), func(string) error {
		t.Error("emitted during the TTFT wait")
		return nil
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Stream took %v to notice its deadline", d)
	}
}

func TestPace(t *testing.T) {
	m := sim.New(sim.Config{TTFT: 10 * time.Millisecond, TokensPerSecond: 200})
	req := request("Explain backpressure", 2)
	req.MaxTokens = 20
	start := time.Now()
	deltas, _ := collect(t, m, req)
	d := time.Since(start)
	// 10ms to the first token, then 19 more at 5ms each: about 105ms.
	if len(deltas) != 20 || d < 50*time.Millisecond || d > time.Second {
		t.Fatalf("%d tokens in %v, want 20 in 50ms..1s", len(deltas), d)
	}
}

func TestModels(t *testing.T) {
	tests := []struct {
		cfg  sim.Config
		want string
	}{
		{sim.Config{}, sim.DefaultName},
		{sim.Config{Name: "demo"}, "demo"},
	}
	for _, tt := range tests {
		m := sim.New(tt.cfg)
		got, err := m.Models(context.Background())
		if err != nil || !slices.Equal(got, []string{tt.want}) || m.Name() != tt.want {
			t.Errorf("Models() = %v, %v; Name() = %q; want [%s]", got, err, m.Name(), tt.want)
		}
	}
}
