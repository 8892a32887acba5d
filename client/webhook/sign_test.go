package webhook_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/client/webhook"
)

func TestVerify(t *testing.T) {
	secret := []byte("0123456789abcdef0123")
	body := []byte(`{"events":[]}`)
	now := time.Unix(1_800_000_000, 0)
	good := webhook.Sign(secret, body, now)
	for _, tc := range []struct {
		name   string
		secret []byte
		body   string
		header string
		want   error
	}{
		{"valid", secret, string(body), good, nil},
		{"a second v1, the first valid", secret, string(body), good + ",v1=00", nil},
		{"a second v1 valid (a secret rotating)", secret, string(body), "t=1800000000,v1=00," + good[len("t=1800000000,"):], nil},
		{"wrong secret", []byte("another secret of the app"), string(body), good, webhook.ErrBadSignature},
		{"body changed", secret, `{"events":[1]}`, good, webhook.ErrBadSignature},
		{"too old", secret, string(body), webhook.Sign(secret, body, now.Add(-6*time.Minute)), webhook.ErrStale},
		{"from the future", secret, string(body), webhook.Sign(secret, body, now.Add(6*time.Minute)), webhook.ErrStale},
		{"no header", secret, string(body), "", webhook.ErrNoSignature},
		{"no v1", secret, string(body), "t=1800000000", webhook.ErrNoSignature},
		{"no t", secret, string(body), good[len("t=1800000000,"):], webhook.ErrNoSignature},
		{"t not a number", secret, string(body), "t=soon,v1=00", webhook.ErrNoSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := webhook.Verify(tc.secret, []byte(tc.body), tc.header, now, webhook.DefaultTolerance)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestSignKnownValue pins the signature scheme the documentation's PHP
// and Node code implement: hex HMAC-SHA256 of "<t>.<body>".
func TestSignKnownValue(t *testing.T) {
	got := webhook.Sign([]byte("whsec_test_secret_16"), []byte(`{"events":[]}`), time.Unix(1700000000, 0))
	// echo -n '1700000000.{"events":[]}' | openssl dgst -sha256 -hmac whsec_test_secret_16
	const want = "t=1700000000,v1=c5418775b27faec0f0f2812a207f7364af5c76cc35431ebd2a6372b36fcdafaf"
	if got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

// TestSignRotating: while a secret is rotated, a request signed with the
// new one and the previous one verifies with either, and with no other.
func TestSignRotating(t *testing.T) {
	current, previous := []byte("the-new-secret-0123456789"), []byte("the-old-secret-0123456789")
	body := []byte(`{"events":[]}`)
	now := time.Unix(1_800_000_000, 0)
	h := webhook.Sign(current, body, now, previous)
	for _, s := range [][]byte{current, previous} {
		if err := webhook.Verify(s, body, h, now, webhook.DefaultTolerance); err != nil {
			t.Errorf("secret %q: %v (header %s)", s, err, h)
		}
	}
	if err := webhook.Verify([]byte("a-third-secret-0123456789"), body, h, now, webhook.DefaultTolerance); !errors.Is(err, webhook.ErrBadSignature) {
		t.Errorf("another secret: %v, want ErrBadSignature", err)
	}
	if got := webhook.Sign(current, body, now); !strings.HasPrefix(h, got+",v1=") {
		t.Errorf("rotating header %s does not start with the current secret's %s", h, got)
	}
}
