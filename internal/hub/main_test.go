package hub_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind: the pagers that
// read replays end with the hub's Close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
