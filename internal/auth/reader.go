package auth

import (
	"bytes"
	"encoding/json"
	"slices"
)

// maxDepth is how deeply objects and arrays may nest, encoding/json's own
// limit, which the jwt package applied to the token already.
const maxDepth = 10000

// reader reads one JSON text (RFC 8259) value by value, for the strict
// second reading of a token. It runs on every verification, so it reads
// the bytes itself: encoding/json's Decoder.Token would cost more than the
// rest of an HS256 verification. What is not plain ASCII it leaves to
// encoding/json, so that both read every string alike.
type reader struct {
	b []byte
	i int // the next byte to read
}

func newReader(b []byte) *reader { return &reader{b: b} }

// space skips white space and returns the next byte, or -1 at the end.
func (r *reader) space() int {
	for ; r.i < len(r.b); r.i++ {
		switch c := r.b[r.i]; c {
		case ' ', '\t', '\n', '\r':
		default:
			return int(c)
		}
	}
	return -1
}

// token reads the next value's first token: json.Delim('{') or '[' for
// an object or an array, whose rest the caller reads, else the whole
// value: a string, a json.Number, a bool, or nil for null.
func (r *reader) token(path string) (json.Token, error) {
	switch c := r.space(); {
	case c == '{' || c == '[':
		r.i++
		return json.Delim(c), nil
	case c == '"':
		return r.str(path)
	case c == '-' || '0' <= c && c <= '9':
		return r.number(path)
	case c < 0:
		return nil, r.ended(path)
	}
	for _, lit := range [...]struct {
		text string
		v    json.Token
	}{{"true", true}, {"false", false}, {"null", nil}} {
		if bytes.HasPrefix(r.b[r.i:], []byte(lit.text)) {
			r.i += len(lit.text)
			return lit.v, nil
		}
	}
	return nil, r.syntax(path)
}

// str reads a string. One without escapes, control or non-ASCII bytes,
// as nearly every name and topic is, is taken as it is; encoding/json
// reads the others (escapes, invalid UTF-8 made U+FFFD).
func (r *reader) str(path string) (string, error) {
	start, plain := r.i, true
	for r.i++; r.i < len(r.b); r.i++ {
		switch c := r.b[r.i]; {
		case c == '"':
			r.i++
			if plain {
				return string(r.b[start+1 : r.i-1]), nil
			}
			var s string
			if err := json.Unmarshal(r.b[start:r.i], &s); err != nil {
				return "", invalid(ErrMalformed, "%s is not valid JSON: %v", path, err)
			}
			return s, nil
		case c == '\\':
			plain = false
			r.i++ // the escaped byte, which cannot end the string
		case c < 0x20:
			return "", r.syntax(path)
		case c >= 0x80:
			plain = false
		}
	}
	return "", r.ended(path)
}

// number reads a number: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
func (r *reader) number(path string) (json.Token, error) {
	start := r.i
	r.accept('-')
	if !r.accept('0') && r.digits() == 0 {
		return nil, r.syntax(path)
	}
	if r.accept('.') && r.digits() == 0 {
		return nil, r.syntax(path)
	}
	if r.accept('e') || r.accept('E') {
		_ = r.accept('+') || r.accept('-')
		if r.digits() == 0 {
			return nil, r.syntax(path)
		}
	}
	return json.Number(r.b[start:r.i]), nil
}

// accept reads c if it comes next.
func (r *reader) accept(c byte) bool {
	if r.i < len(r.b) && r.b[r.i] == c {
		r.i++
		return true
	}
	return false
}

// digits reads decimal digits and returns how many.
func (r *reader) digits() int {
	start := r.i
	for r.i < len(r.b) && '0' <= r.b[r.i] && r.b[r.i] <= '9' {
		r.i++
	}
	return r.i - start
}

// elements reads the rest of an object or array, whose opening delimiter
// is read, up to end: one reads each member or element.
func (r *reader) elements(path string, end byte, one func() error) error {
	if r.space() == int(end) {
		r.i++
		return nil
	}
	for {
		if err := one(); err != nil {
			return err
		}
		switch r.space() {
		case ',':
			r.i++
		case int(end):
			r.i++
			return nil
		case -1:
			return r.ended(path)
		default:
			return r.syntax(path)
		}
	}
}

// object reads an object, which must come next.
func (r *reader) object(path string, depth int, member func(name string) error) error {
	tok, err := r.token(path)
	if err != nil {
		return err
	}
	return r.members(path, tok, depth, member)
}

// members reads the object that tok opens, calling member for each name,
// which must read its value. It refuses a name seen before in the object.
func (r *reader) members(path string, tok json.Token, depth int, member func(name string) error) error {
	if tok != json.Delim('{') {
		return invalid(ErrMalformed, "%s must be a JSON object, not %s", path, kind(tok))
	}
	if depth > maxDepth {
		return invalid(ErrMalformed, "%s nests more than %d levels deep", path, maxDepth)
	}
	var seen names
	return r.elements(path, '}', func() error {
		if r.space() != '"' {
			return r.syntax(path)
		}
		name, err := r.str(path)
		if err != nil {
			return err
		}
		if seen.add(name) {
			return invalid(ErrMalformed, "duplicate member %q in %s: member names must be unique (RFC 7519 section 4, RFC 7515 section 4)", name, path)
		}
		if r.space() != ':' {
			return r.syntax(path)
		}
		r.i++
		return member(name)
	})
}

// names are the member names of an object read so far: a list while they
// are few, as in nearly every object, a set beyond.
type names struct {
	list []string
	set  map[string]struct{}
}

// add adds name and reports whether it was there already.
func (n *names) add(name string) (dup bool) {
	if n.set == nil && len(n.list) < 16 {
		if slices.Contains(n.list, name) {
			return true
		}
		n.list = append(n.list, name)
		return false
	}
	if n.set == nil {
		n.set = make(map[string]struct{}, 2*len(n.list))
		for _, s := range n.list {
			n.set[s] = struct{}{}
		}
	}
	if _, ok := n.set[name]; ok {
		return true
	}
	n.set[name] = struct{}{}
	return false
}

// skip reads the next value, refusing duplicate names in its objects.
func (r *reader) skip(path string, depth int) error {
	tok, err := r.token(path)
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		return r.members(path, tok, depth+1, func(string) error { return r.skip(path, depth+1) })
	case json.Delim('['):
		if depth > maxDepth {
			return invalid(ErrMalformed, "%s nests more than %d levels deep", path, maxDepth)
		}
		return r.elements(path, ']', func() error { return r.skip(path, depth+1) })
	}
	return nil
}

// raw reads the next value and returns its JSON text as written.
func (r *reader) raw(path string) (json.RawMessage, error) {
	r.space()
	start := r.i
	if err := r.skip(path, 0); err != nil {
		return nil, err
	}
	return slices.Clone(r.b[start:r.i]), nil
}

// end refuses anything after the text's one value.
func (r *reader) end(path string) error {
	if r.space() >= 0 {
		return invalid(ErrMalformed, "%s has data after its JSON value", path)
	}
	return nil
}

func (r *reader) syntax(path string) error {
	return invalid(ErrMalformed, "%s is not valid JSON: unexpected byte at offset %d", path, r.i)
}

func (r *reader) ended(path string) error {
	return invalid(ErrMalformed, "%s: the JSON text ends early", path)
}

// kind names the JSON type of a value's first token, for messages.
func kind(tok json.Token) string {
	switch tok.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	}
	if tok == json.Delim('[') {
		return "an array"
	}
	return "an object"
}
