package outage_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/outage"
)

// TestTracker: an outage is logged once when it starts and once when it
// ends, whatever the number of failures; its error names the last one.
func TestTracker(t *testing.T) {
	var buf bytes.Buffer
	tr := outage.New(slog.New(slog.NewTextHandler(&buf, nil)), "test writes")
	if tr.Note(nil) != nil || tr.Failing() || tr.Err() != nil {
		t.Fatal("a success before any failure is no outage")
	}
	full := errors.New("no space left on device")
	for range 5 {
		if err := tr.Note(full); !errors.Is(err, full) {
			t.Fatalf("Note returned %v", err)
		}
	}
	if !tr.Failing() || tr.Errors() != 5 || !tr.FailedWithin(time.Minute) || tr.FailedWithin(0) {
		t.Fatalf("after 5 failures: failing %v, errors %d", tr.Failing(), tr.Errors())
	}
	if err := tr.Err(); !errors.Is(err, full) || !strings.Contains(err.Error(), "test writes failing since") || !strings.Contains(err.Error(), "(5 failed)") {
		t.Fatalf("Err: %v", err)
	}
	tr.Succeed()
	tr.Succeed()
	if tr.Failing() || tr.Err() != nil || tr.FailedWithin(time.Minute) || tr.Errors() != 5 {
		t.Fatal("after a success: still failing")
	}
	tr.Fail(full)
	log := buf.String()
	if n := strings.Count(log, "test writes failing"); n != 2 {
		t.Errorf("%d failure lines for 2 outages:\n%s", n, log)
	}
	if n := strings.Count(log, "test writes succeed again"); n != 1 || !strings.Contains(log, "failed=5") {
		t.Errorf("%d end lines for 1 ended outage (want failed=5):\n%s", n, log)
	}
}
