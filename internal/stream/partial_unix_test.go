//go:build unix

package stream_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/app/apptest"
	"github.com/ssehub/ssehub/internal/sse"
)

// TestPartialWritesLoseNoWake: a subscriber with a small receive window
// makes writes partial, so that a pool writer leaves the rest to the
// stream's own goroutine. An update queued while that hand-off is under way
// must still be written: the stream once wrote only what was left and
// forgot the wake, and the update then waited for the next heartbeat (here
// a minute) while later ones filled the queue. Four publishers keep at most
// 8 updates ahead of the reader, so the queue of 16 never fills otherwise.
// (With -tags portable every write is handed off: see make test.)
func TestPartialWritesLoseNoWake(t *testing.T) {
	const (
		topic   = "https://example.com/partial"
		updates = 1000
		ahead   = 8
	)
	s := apptest.NewServer(t, func(c *app.Config) { c.QueueSize = 16; c.Heartbeat = time.Minute })
	c := smallWindowSubscriber(t, s, apptest.Query("/events", "topic", topic))
	s.WaitSubscribers(t, 1)
	var read, next atomic.Int64
	done := make(chan error, 1)
	go func() { done <- readUpdates(c, updates, &read) }()
	pad := strings.Repeat("x", 4<<10)
	deadline := time.Now().Add(20 * time.Second)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < updates; i = next.Add(1) - 1 {
				for i-read.Load() > ahead && time.Now().Before(deadline) {
					time.Sleep(50 * time.Microsecond)
				}
				form := url.Values{"topic": {topic}, "data": {strconv.FormatInt(i, 10) + ":" + pad}}
				status, body, err := s.Post(context.Background(), "/.well-known/mercure", "application/x-www-form-urlencoded", []byte(form.Encode()))
				if err != nil || status != http.StatusOK {
					t.Errorf("publish %d: %d %s %v", i, status, body, err)
					return
				}
			}
		})
	}
	wg.Wait()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("subscriber: %v (cut off: %d)", err, s.App.Hub().Stats().SlowCut)
		}
	case <-time.After(time.Until(deadline)):
		t.Fatalf("%d of %d updates read in 20 s: a stream left waiting for its heartbeat", read.Load(), updates)
	}
}

// smallWindowSubscriber opens a stream over a raw connection whose receive
// buffer is 4 KiB from the start (set before connecting: shrinking it later
// makes the kernel drop what the window it advertised let in).
func smallWindowSubscriber(t *testing.T, s *apptest.Server, path string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		if cerr := rc.Control(func(fd uintptr) {
			err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		}); cerr != nil {
			return cerr
		}
		return err
	}}
	return apptest.DialSubscriber(t, s, path, d)
}

// readUpdates reads a raw stream's response and then n updates, each
// numbered in its data from 0 to n-1, counting them in read; it fails on a
// duplicate or an end.
func readUpdates(c net.Conn, n int, read *atomic.Int64) error {
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return err
	}
	p := sse.NewParser(resp.Body)
	seen := make([]bool, n)
	for read.Load() < int64(n) {
		ev, err := p.Next()
		if err != nil {
			return fmt.Errorf("after %d updates: %w", read.Load(), err)
		}
		if ev.Data == "" {
			continue
		}
		num, _, _ := strings.Cut(ev.Data, ":")
		if i, err := strconv.Atoi(num); err != nil || i < 0 || i >= n || seen[i] {
			return fmt.Errorf("unexpected or repeated update %.20q", ev.Data)
		} else {
			seen[i] = true
		}
		read.Add(1)
	}
	return nil
}
