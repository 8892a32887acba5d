package httpapi

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"unicode/utf8"

	"github.com/ssehub/ssehub/internal/httpio"
)

// FuzzDecodeUpdate feeds arbitrary bodies to the publish decoder as a form
// and as JSON: it never panics, and whatever it accepts is valid UTF-8 with
// at least the fields it was given.
func FuzzDecodeUpdate(f *testing.F) {
	seeds := []string{
		"topic=a&data=hello", "topic=a&topic=b&id=x&type=t&retry=10&private=on", "topic=%FF", "retry=-1",
		`{"topic":"a","data":{"x":[1,2]}}`, `{"topics":["a","b"],"data":"s","retry":5}`, `{"topic":5}`, `{"topic":"a"}}`,
	}
	for _, s := range seeds {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, body string, asJSON bool) {
		ctype := "application/x-www-form-urlencoded"
		if asJSON {
			ctype = "application/json"
		}
		r := httptest.NewRequest(http.MethodPost, "/publish", bytes.NewReader([]byte(body)))
		r.Header.Set("Content-Type", ctype)
		r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 1<<16)
		us, _, err := decodeUpdates(r)
		if err != nil {
			if status, _ := httpio.Status(err); status != http.StatusBadRequest && status != http.StatusRequestEntityTooLarge {
				t.Fatalf("decode error %v maps to %d", err, status)
			}
			return
		}
		for _, u := range us {
			for _, s := range append([]string{u.Data, u.ID, u.Type}, u.Topics...) {
				if !utf8.ValidString(s) {
					t.Fatalf("accepted invalid UTF-8 %q", s)
				}
			}
			if u.Retry < 0 {
				t.Fatalf("accepted retry %d", u.Retry)
			}
			_ = u.Validate() // must not panic either
		}
	})
}
