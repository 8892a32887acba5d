package openai_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if goroutines (a stream's reader, a timer, a
// connection) outlive its tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
