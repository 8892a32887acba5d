package auth

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// FuzzReader checks the JSON reader of the strict reading against
// encoding/json on any bytes: it never panics, what it reads whole is
// valid JSON, and what it calls invalid is invalid. (In Verify it only
// ever sees text encoding/json has found valid; here it sees anything.)
func FuzzReader(f *testing.F) {
	for _, seed := range []string{
		`{"a":1,"b":[true,false,null,"x\u00e9\n",-0.5e+3],"c":{"d":{}}}`, `[]`, `""`, `0`, `-`, `01`, `1.`, `1e`,
		`{"a":1,}`, `[1,]`, `{"a" 1}`, `{"a":1,"a":2}`, `{"\u0061":1,"a":2}`, "\"\xff\"", `"\x"`, "\"a\x01\"",
		`nul`, `truex`, `{} {}`, ` [ 1 , { } ] `, "\x00", `[[[[[[[[`, `{"a":[{"b":1,"b":1}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := newReader(b)
		err := r.skip("the text", 0)
		if err == nil {
			err = r.end("the text")
		}
		valid := json.Valid(b)
		switch msg := errorText(err); {
		case err == nil && !valid:
			t.Fatalf("read %q, which encoding/json finds invalid", b)
		case err != nil && !errors.Is(err, ErrMalformed):
			t.Fatalf("error %q is not ErrMalformed", err)
		case valid && (strings.Contains(msg, "not valid JSON") || strings.Contains(msg, "ends early") || strings.Contains(msg, "data after")):
			t.Fatalf("refused %q, which encoding/json finds valid: %v", b, err)
		}
		_, _ = decodePayload(b)
		_, _ = checkHeader(b)
	})
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
