package appauth

import (
	"github.com/ssehub/ssehub/internal/topic"

	"strings"
	"testing"
	"time"
)

// FuzzDecodeAnswer checks that no answer of the app makes the reading of
// its rights panic, and that rights read are rights the hub can use:
// selectors not empty, without NUL, an expiry in the future or none.
func FuzzDecodeAnswer(f *testing.F) {
	for _, s := range []string{
		`{"subscribe":["orders/alice","chat/{room}"],"publish":["*"],"payload":{"a":[1]},"expires_in":60,"user":"alice"}`,
		`{"user":7,"sub":"7"}`, `{}`, `null`, `[]`, `{"subscribe":{"1":"a"}}`, `{"expires_in":1e400}`,
		`{"subscribe":["a"],"subscribe":[""]}`, `{"user":1.5}`, `{"expires_in":-0}`, `{"expires_in":1e-300}`,
	} {
		f.Add([]byte(s))
	}
	now := time.Unix(1_800_000_000, 0)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeAnswer(b, now)
		if err != nil {
			return
		}
		for _, sp := range append(append([]topic.Spec{}, c.Subscribe...), c.Publish...) {
			if s := sp.Match; sp.Type != topic.Classic || s == "" || strings.IndexByte(s, 0) >= 0 || len(s) > maxSelector {
				t.Fatalf("selector %q accepted from %s", s, b)
			}
		}
		if !c.Expiry.IsZero() && !c.Expiry.After(now) {
			t.Fatalf("expiry %v, not after %v, accepted from %s", c.Expiry, now, b)
		}
	})
}
