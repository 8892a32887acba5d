package sim

import (
	"math/rand/v2"
	"strings"
	"unicode"
	"unicode/utf8"
)

// bank is the phrase material of one language. Templates name their gaps in
// braces: {k} a keyword of the prompt, {K} the same capitalized, {k2} a
// second subject, and any key of slots a phrase drawn from it.
type bank struct {
	space      string   // between sentences: " " in English, "" in Chinese
	topic      string   // the subject when a prompt has no keyword
	other      []string // second subjects when a prompt has only one keyword
	titles     []string // headings
	leads      []string // bold leads that open the first paragraph
	sentences  []string // body sentences
	listIntros []string // the line before a list
	items      []string // list items
	codeLines  []string // sentences with inline code
	codeIntros []string // the line before a code block
	closings   []string // the last paragraph
	slots      map[string][]string
}

// snippets are short fenced code blocks; {slug} is an ASCII form of the
// subject and {k} the subject itself.
var snippets = []string{
	"```go\nfunc main() {\n\tcfg := Config{Name: \"{slug}\", Retries: 3}\n\tif err := run(cfg); err != nil {\n\t\tlog.Fatal(err)\n\t}\n}\n```",
	"```bash\ncurl -s http://localhost:8080/{slug} | jq '.items | length'\n```",
	"```python\ndef summarize(items):\n    # {k}\n    return {\"topic\": \"{slug}\", \"count\": len(items)}\n```",
	"```json\n{\n  \"topic\": \"{slug}\",\n  \"enabled\": true,\n  \"timeout\": \"30s\"\n}\n```",
	"```yaml\n{slug}:\n  enabled: true\n  retries: 3\n```",
	"```sql\nSELECT id, name FROM {slug_} WHERE active = true LIMIT 10;\n```",
}

// filler fills templates for one answer.
type filler struct {
	b   *bank
	rng *rand.Rand
	kws []string // never empty
}

func (f *filler) pick(list []string) string { return list[f.rng.IntN(len(list))] }

// subject picks the keyword a sentence talks about, most often the first.
func (f *filler) subject() string {
	if f.rng.IntN(2) == 0 {
		return f.kws[0]
	}
	return f.pick(f.kws)
}

// fill replaces the gaps of tpl; k is the subject of the sentence.
func (f *filler) fill(tpl, k string) string {
	var sb strings.Builder
	for {
		open := strings.IndexByte(tpl, '{')
		end := -1
		if open >= 0 {
			end = strings.IndexByte(tpl[open+1:], '}')
		}
		if end < 0 {
			sb.WriteString(tpl)
			return sb.String()
		}
		sb.WriteString(tpl[:open])
		if text, ok := f.gap(tpl[open+1:open+1+end], k); ok {
			sb.WriteString(text)
			tpl = tpl[open+end+2:]
		} else {
			sb.WriteByte('{') // a brace of code, not a gap
			tpl = tpl[open+1:]
		}
	}
}

// gap returns the text for the gap called name; ok is false if there is no
// such gap.
func (f *filler) gap(name, k string) (text string, ok bool) {
	switch name {
	case "k":
		return k, true
	case "K":
		return capitalize(k), true
	case "k2":
		return f.second(k), true
	case "slug":
		return slug(k, "-"), true
	case "slug_":
		return slug(k, "_"), true
	}
	if list, ok := f.b.slots[name]; ok {
		return f.pick(list), true
	}
	return "", false
}

// second picks another keyword than k, or a generic subject.
func (f *filler) second(k string) string {
	for _, i := range f.rng.Perm(len(f.kws)) {
		if f.kws[i] != k {
			return f.kws[i]
		}
	}
	return f.pick(f.b.other)
}

// capitalize upper-cases the first letter of s.
func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

// slug is an ASCII identifier for s joined by sep, "topic" if s has none.
func slug(s, sep string) string {
	parts := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r))
	})
	if len(parts) == 0 {
		return "topic"
	}
	return strings.Join(parts, sep)
}
