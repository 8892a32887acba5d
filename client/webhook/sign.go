package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader is the header carrying a request's signature:
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>".
const SignatureHeader = "Ssehub-Signature"

// MinSecretBytes is the shortest secret the hub signs with.
const MinSecretBytes = 16

// DefaultTolerance is how old a signature Handler, the examples and
// Verify's callers accept: a captured request cannot be replayed later.
const DefaultTolerance = 5 * time.Minute

// Sign returns the signature header's value for body sent at t: one v1
// signature with secret, then one with each of previous, so that while
// the secret is rotated a receiver still verifying with an older one
// accepts the request. The hub signs with it; an application's tests may
// too.
func Sign(secret, body []byte, t time.Time, previous ...[]byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	h := "t=" + ts + ",v1=" + mac(secret, ts, body)
	for _, p := range previous {
		h += ",v1=" + mac(p, ts, body)
	}
	return h
}

func mac(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Errors of Verify.
var (
	ErrNoSignature  = errors.New("no valid " + SignatureHeader + " header")
	ErrBadSignature = errors.New("signature does not match: wrong secret, or the body was changed")
	ErrStale        = errors.New("signature too old or in the future")
)

// Verify checks header, the value of the Ssehub-Signature header, against
// body and secret, and that its time is within tolerance of now
// (DefaultTolerance is a good one). It is what an application does on
// receipt (Handler does it; the PHP and Node examples do the same).
func Verify(secret, body []byte, header string, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrNoSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: signed at %s, %s from now", ErrStale, time.Unix(sec, 0).UTC().Format(time.RFC3339), d.Round(time.Second))
	}
	want := mac(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return ErrBadSignature
}
