package app_test

import (
	"log/slog"
	"net/http"
	"testing"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/app/apptest"
	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// served is the app under test, run by App.Serve (see apptest.Serve), with
// the methods these tests add.
type served struct{ *apptest.Served }

// serve starts cfg's app with Serve; see apptest.Serve.
func serve(t *testing.T, cfg app.Config, scheme string, tr *http.Transport) *served {
	t.Helper()
	return &served{apptest.Serve(t, cfg, scheme, tr)}
}
