package sim

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode"
)

func TestTokenizeEnglish(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"", nil},
		{"Hello", []string{"Hello"}},
		{"## Hello, world.", []string{"## Hello", ", world."}},
		{"a `b` c\n\n- d", []string{"a", " `b", "` c", "\n\n- d"}},
	}
	for _, tt := range tests {
		got := tokenize(tt.text, rand.New(rand.NewPCG(1, 1)))
		if !slices.Equal(got, tt.want) {
			t.Errorf("tokenize(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestTokenizeChinese(t *testing.T) {
	text := "## 并发模型\n\n谈到Go语言，首先要区分它解决什么问题。"
	for seed := range uint64(10) {
		toks := tokenize(text, rand.New(rand.NewPCG(seed, 0)))
		if strings.Join(toks, "") != text {
			t.Fatalf("tokens %q do not rebuild the text", toks)
		}
		for _, tok := range toks {
			han := 0
			for _, r := range tok {
				if unicode.Is(unicode.Han, r) {
					han++
				}
			}
			if han > 2 {
				t.Fatalf("token %q has %d Han characters, want at most 2", tok, han)
			}
		}
	}
}

func TestEstimateTokens(t *testing.T) {
	tests := []struct {
		text string
		want int
	}{
		{"", 0},
		{"abcd", 1},
		{"abcde", 2},
		{"你好", 2},
		{"你好 world", 2 + 2},
	}
	for _, tt := range tests {
		if got := estimateTokens(tt.text); got != tt.want {
			t.Errorf("estimateTokens(%q) = %d, want %d", tt.text, got, tt.want)
		}
	}
}

func TestKeywords(t *testing.T) {
	tests := []struct {
		prompt string
		want   []string
	}{
		{"", nil},
		{"hi", nil},
		{"Explain how Redis Streams handle consumer groups", []string{"Redis Streams", "consumer groups"}},
		{"What is SSE? Should I use it instead of WebSockets?", []string{"SSE", "WebSockets"}},
		{"Caching strategies for Postgres", []string{"caching strategies", "Postgres"}},
		{"请介绍一下Go语言的并发模型", []string{"Go语言", "并发模型"}},
		{"什么是服务器推送事件？", []string{"服务器推送事件"}},
	}
	for _, tt := range tests {
		if got := keywords(tt.prompt); !slices.Equal(got, tt.want) {
			t.Errorf("keywords(%q) = %q, want %q", tt.prompt, got, tt.want)
		}
	}
}
