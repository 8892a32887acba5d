package llm_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no generation, nor its publisher loop, outlives
// the tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
