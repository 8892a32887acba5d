package httpapi_test

import (
	"testing"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/app/apptest"
	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// published is what a publish request sent and the id the hub answered.
type published struct {
	ID     string
	Topics []string
	Data   string
	Type   string
}

// server is the app under test (see apptest.NewServer), with the methods
// these tests add.
type server struct{ *apptest.Server }

// newServer starts the app configured by DefaultConfig and then mutate.
func newServer(t testing.TB, mutate func(*app.Config)) *server {
	t.Helper()
	return &server{apptest.NewServer(t, mutate)}
}
