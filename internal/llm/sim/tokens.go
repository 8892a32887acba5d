package sim

import (
	"math/rand/v2"
	"unicode"

	"github.com/ssehub/ssehub/internal/llm"
)

// runeKind classifies a rune for tokenizing: the core of a token is a run
// of word runes or one or two Han characters; everything else (spaces,
// punctuation, Markdown marks) leads the token that follows it.
type runeKind int

const (
	kindOther runeKind = iota
	kindWord
	kindHan
)

func kindOf(r rune) runeKind {
	switch {
	case unicode.Is(unicode.Han, r):
		return kindHan
	case unicode.IsLetter(r) || unicode.IsDigit(r):
		return kindWord
	}
	return kindOther
}

// tokenize splits text into the deltas the model emits: an English token is
// a word with the spaces and punctuation before it, a Chinese one is one or
// two Han characters (rng decides which) with what comes before them.
// Concatenating the tokens gives text back exactly.
func tokenize(text string, rng *rand.Rand) []string {
	var toks []string
	start, coreEnd := 0, -1 // coreEnd < 0: the current token has no core yet
	prev := kindOther
	hanLeft := 0
	for i, r := range text {
		k := kindOf(r)
		if k == kindOther {
			prev = k
			continue
		}
		continues := k == prev && (k == kindWord || hanLeft > 0)
		if coreEnd >= 0 && !continues {
			toks = append(toks, text[start:coreEnd])
			start = coreEnd
		}
		if k == kindHan && !continues {
			hanLeft = 1 + rng.IntN(2)
		}
		if k == kindHan {
			hanLeft--
		}
		coreEnd = i + len(string(r))
		prev = k
	}
	if start < len(text) {
		toks = append(toks, text[start:])
	}
	return toks
}

// estimateTokens estimates the tokens text takes: one per Han character
// and one per four other characters, rounded up.
func estimateTokens(text string) int {
	han, other := 0, 0
	for _, r := range text {
		if unicode.Is(unicode.Han, r) {
			han++
		} else {
			other++
		}
	}
	return han + (other+3)/4
}

// promptTokens estimates the tokens of a conversation.
func promptTokens(msgs []llm.Message) int {
	n := 0
	for _, m := range msgs {
		n += estimateTokens(m.Content)
	}
	return n
}
