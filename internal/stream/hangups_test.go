package stream_test

import (
	"bytes"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app/apptest"
	"github.com/ssehub/ssehub/internal/stream"
)

// TestIdleStreamsHaveNoGoroutine: on Linux an idle taken-over stream has
// no goroutine of its own; one watcher notices the clients leaving. A
// client that sends bytes keeps its stream, and one that closes its side,
// or the whole connection, ends it.
func TestIdleStreamsHaveNoGoroutine(t *testing.T) {
	if !stream.PooledStreams {
		t.Skip("elsewhere than on Linux every stream has a reader goroutine")
	}
	s := apptest.NewServer(t, nil)
	path := apptest.Query("/.well-known/mercure", "topic", "https://example.com/idle")
	apptest.RawSubscriber(t, s, path) // starts the watcher and the writers
	s.WaitSubscribers(t, 1)
	base := runtime.NumGoroutine()
	const n = 40
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = apptest.RawSubscriber(t, s, path)
	}
	s.WaitSubscribers(t, n+1)
	// The handlers' goroutines return once they have handed their streams
	// over; a reader per stream would stay.
	if err := apptest.Poll(5*time.Second, func() bool { return runtime.NumGoroutine() < base+n/4 }); err != nil {
		t.Fatalf("%d goroutines with %d more idle streams, %d before", runtime.NumGoroutine(), n, base)
	}

	if _, err := conns[0].Write([]byte("bytes a stream never reads\r\n")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // for the watcher to have discarded them
	s.Publish(t, "https://example.com/idle", "after the bytes")
	if err := readUntil(conns[0], "data: after the bytes\n"); err != nil {
		t.Fatalf("the stream whose client sent bytes: %v", err)
	}

	_ = conns[1].(*net.TCPConn).CloseWrite()
	s.WaitSubscribers(t, n)
	for _, c := range conns[2:] {
		_ = c.Close()
	}
	s.WaitSubscribers(t, 2)
}

// readUntil reads c until what has come, for at most 5 s.
func readUntil(c net.Conn, want string) error {
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	var got []byte
	buf := make([]byte, 4096)
	for !bytes.Contains(got, []byte(want)) {
		n, err := c.Read(buf)
		if err != nil {
			return err
		}
		got = append(got, buf[:n]...)
	}
	return nil
}
