package sim

import (
	"math/rand/v2"
	"strconv"
	"strings"
)

// block is one Markdown block of an answer.
type block struct {
	text     string
	optional bool // may be left out to keep the answer within its budget
}

// compose writes the Markdown answer to prompt, in Chinese if the prompt
// has Han characters, else in English. Every choice comes from rng. Optional
// blocks are left out while the answer would exceed budget tokens.
func compose(prompt string, rng *rand.Rand, budget int) string {
	b := english
	if hasHan(prompt) {
		b = chinese
	}
	kws := keywords(prompt)
	if len(kws) == 0 {
		kws = []string{b.topic}
	}
	f := &filler{b: b, rng: rng, kws: kws}
	sentences := rng.Perm(len(b.sentences))
	blocks := []block{
		{text: f.opening(&sentences)},
		{text: f.list()},
		{text: f.paragraph(&sentences, 2+rng.IntN(3), rng.IntN(5) < 3), optional: true},
		{text: f.code(), optional: true},
		{text: f.paragraph(&sentences, 2+rng.IntN(2), false), optional: true},
		{text: f.fill(f.pick(b.closings), kws[0])},
	}
	if rng.IntN(10) < 6 {
		blocks[3].text = "" // no code block this time
	}
	if rng.IntN(10) < 6 {
		blocks[4].text = "" // no third paragraph
	}
	for {
		text := join(blocks)
		i := lastOptional(blocks)
		if i < 0 || countTokens(text) <= budget {
			return text
		}
		blocks = append(blocks[:i], blocks[i+1:]...)
	}
}

// opening is a heading and a paragraph, or a paragraph with a bold lead.
func (f *filler) opening(sentences *[]int) string {
	para := f.paragraph(sentences, 2+f.rng.IntN(3), false)
	if f.rng.IntN(2) == 0 {
		return "## " + capitalize(f.fill(f.pick(f.b.titles), f.subject())) + "\n\n" + para
	}
	return "**" + f.pick(f.b.leads) + "**" + f.b.space + para
}

// paragraph joins n sentences not used before in this answer; withCode
// adds one with inline code.
func (f *filler) paragraph(sentences *[]int, n int, withCode bool) string {
	var parts []string
	for range n {
		if len(*sentences) == 0 {
			break
		}
		parts = append(parts, f.fill(f.b.sentences[(*sentences)[0]], f.subject()))
		*sentences = (*sentences)[1:]
	}
	if withCode {
		at := f.rng.IntN(len(parts) + 1)
		parts = append(parts[:at], append([]string{f.fill(f.pick(f.b.codeLines), f.subject())}, parts[at:]...)...)
	}
	return strings.Join(parts, f.b.space)
}

// list is an introducing line and three to five bullet or numbered items.
func (f *filler) list() string {
	numbered := f.rng.IntN(2) == 0
	lines := []string{f.pick(f.b.listIntros), ""}
	for i, idx := range f.rng.Perm(len(f.b.items))[:3+f.rng.IntN(3)] {
		mark := "- "
		if numbered {
			mark = strconv.Itoa(i+1) + ". "
		}
		lines = append(lines, mark+f.fill(f.b.items[idx], f.subject()))
	}
	return strings.Join(lines, "\n")
}

// code is an introducing line and a short fenced code block.
func (f *filler) code() string {
	return f.pick(f.b.codeIntros) + "\n\n" + f.fill(f.pick(snippets), f.subject())
}

func join(blocks []block) string {
	var parts []string
	for _, b := range blocks {
		if b.text != "" {
			parts = append(parts, b.text)
		}
	}
	return strings.Join(parts, "\n\n")
}

// lastOptional is the index of the last optional block with text, or -1.
func lastOptional(blocks []block) int {
	for i := len(blocks) - 1; i >= 0; i-- {
		if blocks[i].optional && blocks[i].text != "" {
			return i
		}
	}
	return -1
}

// countTokens counts the tokens of text as tokenize would split it, with
// Chinese tokens of one or two characters in a fixed pattern.
func countTokens(text string) int {
	return len(tokenize(text, rand.New(rand.NewPCG(0, 0))))
}
