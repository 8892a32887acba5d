package sim

import (
	"slices"
	"strings"
	"unicode"
)

// maxKeywords is how many keywords of a prompt the answer may echo.
const maxKeywords = 4

// hasHan reports whether s contains a Han (CJK) character.
func hasHan(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.Is(unicode.Han, r) }) >= 0
}

// keywords picks the phrases of a prompt an answer can talk about, in the
// order they appear: in English, runs of up to three words that are not
// stopwords; in Chinese, the segments left between function words.
func keywords(prompt string) []string {
	var found []string
	if hasHan(prompt) {
		found = hanKeywords(prompt)
	} else {
		found = englishKeywords(prompt)
	}
	var out []string
	for _, k := range found {
		if !slices.Contains(out, k) && len(out) < maxKeywords {
			out = append(out, k)
		}
	}
	return out
}

// englishKeywords returns the runs of up to three keywords of prompt.
func englishKeywords(prompt string) []string {
	var out, words []string
	flush := func() {
		for len(words) > 0 {
			n := min(len(words), 3)
			out = append(out, strings.Join(words[:n], " "))
			words = words[n:]
		}
	}
	atStart := true
	for _, f := range strings.Fields(prompt) {
		w := strings.Trim(f, trimmed)
		if isKeyword(w) {
			words = append(words, keywordCase(w, atStart))
		} else {
			flush()
		}
		last := f[len(f)-1:]
		atStart = strings.ContainsAny(last, ".!?")
		if strings.ContainsAny(last, ",.;:!?") {
			flush()
		}
	}
	flush()
	return out
}

// trimmed are the marks trimmed off the ends of a word.
const trimmed = "\"'`“”‘’()[]{}<>,.;:!?"

// isKeyword reports whether an English word is worth echoing: long enough
// or written with a capital (Go, SSE), and not a stopword.
func isKeyword(w string) bool {
	if w == "" || stopwords[strings.ToLower(w)] {
		return false
	}
	if len(w) >= 4 {
		return true
	}
	return len(w) >= 2 && strings.IndexFunc(w, unicode.IsUpper) >= 0
}

// keywordCase keeps the capitals of names (Redis, SSE, JavaScript) but
// lowers a word capitalized only because it starts a sentence.
func keywordCase(w string, atStart bool) string {
	r := []rune(w)
	if !atStart || strings.IndexFunc(string(r[1:]), unicode.IsUpper) >= 0 {
		return w
	}
	return strings.ToLower(w)
}

// hanKeywords cuts a Chinese prompt at punctuation, spaces and function
// words, and keeps the segments of two to eight characters (the first four
// of longer ones). Latin words stay attached to the Han characters next to
// them, as in "Go语言".
func hanKeywords(prompt string) []string {
	seg := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) {
			return '|'
		}
		return r
	}, prompt)
	for _, w := range hanStopwords {
		seg = strings.ReplaceAll(seg, w, "|")
	}
	var out []string
	for _, part := range strings.Split(seg, "|") {
		r := []rune(part)
		switch {
		case !hasHan(part) && !isKeyword(part):
		case len(r) > 8:
			out = append(out, string(r[:4]))
		case len(r) >= 2:
			out = append(out, part)
		}
	}
	return out
}
