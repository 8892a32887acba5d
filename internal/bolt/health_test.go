package bolt_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ssehub/ssehub/internal/bolt"
	"github.com/ssehub/ssehub/internal/history/historytest"
)

func TestPingAndSize(t *testing.T) {
	s := open(t, bolt.Config{})
	if err := s.Ping(context.Background()); err != nil {
		t.Fatalf("Ping of an open store: %v", err)
	}
	historytest.Append(t, s, historytest.Update(1, "a", "t"))
	if n, err := s.Size(); err != nil || n <= 0 {
		t.Fatalf("Size = %d, %v; want the file's positive size", n, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(context.Background()); !errors.Is(err, bolt.ErrClosed) {
		t.Fatalf("Ping after Close = %v, want ErrClosed", err)
	}
	if _, err := s.Size(); err == nil {
		t.Fatal("Size after Close succeeded")
	}
}
