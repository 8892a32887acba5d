package httpapi_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/sse"
)

// TestNoCrossTalk churns streams while updates flow: clients of their own
// topics connect, read a while, and then leave abruptly (a reset), stop
// reading for a while, or leave politely, over and over, while the pool
// writers write to the others. Pool writers write to a stream's descriptor
// number directly and lend their arrays to the stream they write: a number
// closed and given to a new connection while a writer still used it, or an
// array still in use by another stream, would send one client's bytes to
// another. Every event must be of the reader's own topic, and no stream may
// read as anything but SSE in chunks (bytes from elsewhere break the
// framing). The window of such a bug is small, so this is a net under the
// design (abort shuts sockets down, only the writer closes them), which
// the race detector and TestSlowSubscriberDisconnected check more directly.
func TestNoCrossTalk(t *testing.T) {
	const clients = 48
	s := newServer(t, func(c *app.Config) { c.QueueSize, c.Limits.PublishRate = 16, 0 })
	host := strings.TrimPrefix(s.URL, "http://")
	stop := make(chan struct{})
	var (
		wg       sync.WaitGroup
		received atomic.Int64
		mu       sync.Mutex
		failures []string
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		if len(failures) < 10 {
			failures = append(failures, fmt.Sprintf(format, args...))
		}
		mu.Unlock()
	}
	for i := range clients {
		wg.Go(func() {
			untilClosed(stop, func(n int) bool {
				if err := crossTalkVisit(host, i, n, &received); err != nil {
					fail("client %d, visit %d: %v", i, n, err)
					return false
				}
				return true
			})
		})
	}
	wg.Go(func() {
		untilClosed(stop, func(n int) bool {
			topic := fmt.Sprintf("ct/%d", rand.IntN(clients))
			code, body, err := s.PublishForm(context.Background(), "/.well-known/mercure",
				url.Values{"topic": {topic}, "data": {fmt.Sprintf("%s:%d:%s", topic, n, strings.Repeat("x", 200))}})
			if err != nil || code != http.StatusOK {
				fail("publish: %d %s %v", code, body, err)
				return false
			}
			return true
		})
	})
	// Churn for 3 s, and on until 1,000 events have been read, so that a
	// busy machine still exercises the writers (at most 30 s).
	time.Sleep(3 * time.Second)
	for deadline := time.Now().Add(27 * time.Second); received.Load() < 1000 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond) // polling the readers' count
	}
	close(stop)
	wg.Wait()
	for _, f := range failures {
		t.Error(f)
	}
	if received.Load() < 1000 {
		t.Errorf("only %d events received in 30s: the churn did not exercise the writers", received.Load())
	}
	t.Logf("%d events received", received.Load())
}

// crossTalkVisit is one stream of client i: it subscribes to its topic
// over a raw connection, reads a few events and leaves in one of three
// ways. It returns an error only for what a hub must never send.
func crossTalkVisit(host string, i, n int, received *atomic.Int64) error {
	c, err := net.DialTimeout("tcp", host, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	topic := fmt.Sprintf("ct/%d", i)
	if _, err := fmt.Fprintf(c, "GET /events?topic=%s HTTP/1.1\r\nHost: %s\r\n\r\n", url.QueryEscape(topic), host); err != nil {
		return nil // the hub may be closing
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	p := sse.NewParser(httputil.NewChunkedReader(br))
	for range 1 + rand.IntN(20) {
		if rand.IntN(4) == 0 {
			time.Sleep(time.Millisecond) // a slower reader
		}
		ev, err := p.Next()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed) {
				return nil // cut off, or the hub closing
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return nil // a quiet topic
			}
			return fmt.Errorf("stream broken: %w", err)
		}
		if !strings.HasPrefix(ev.Data, topic+":") {
			return fmt.Errorf("got %.40q on %s's stream", ev.Data, topic)
		}
		received.Add(1)
	}
	switch n % 3 {
	case 0: // a reset
		_ = c.(*net.TCPConn).SetLinger(0)
	case 1: // stop reading a while, then leave
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// untilClosed calls step with 0, 1, 2… until it returns false or stop is
// closed.
func untilClosed(stop <-chan struct{}, step func(n int) bool) {
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		default:
		}
		if !step(n) {
			return
		}
	}
}
