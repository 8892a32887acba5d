package httpapi_test

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/sse"
)

// stalledSubscriber opens a stream over a raw connection with a tiny
// receive buffer and never reads from it.
func stalledSubscriber(t *testing.T, s *server, path string) net.Conn {
	t.Helper()
	c := rawSubscriber(t, s, path)
	if err := c.(*net.TCPConn).SetReadBuffer(1024); err != nil {
		t.Fatal(err)
	}
	return c
}

// rawSubscriber opens a stream over a raw connection, reading nothing.
func rawSubscriber(t *testing.T, s *server, path string) net.Conn {
	t.Helper()
	return dialSubscriber(t, s, path, net.Dialer{Timeout: 5 * time.Second})
}

// dialSubscriber opens a stream over a raw connection that d dials.
func dialSubscriber(t *testing.T, s *server, path string, d net.Dialer) net.Conn {
	t.Helper()
	c, err := d.Dial("tcp", s.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, s.srv.Listener.Addr()); err != nil {
		t.Fatal(err)
	}
	return c
}

// overflow publishes large updates to topic until the hub has cut a
// subscriber off, then extra more. It returns when each was sent.
func overflow(t *testing.T, s *server, topic string, extra int) (sent []time.Time) {
	t.Helper()
	const (
		size  = 16 << 10
		limit = 5000
	)
	pad := strings.Repeat("x", size)
	cutAt := -1
	for i := 0; cutAt < 0 || i < cutAt+extra; i++ {
		if i == limit {
			t.Fatalf("no subscriber cut off after %d updates of %d bytes", limit, size)
		}
		sent = append(sent, time.Now())
		s.publish(t, topic, strconv.Itoa(i)+":"+pad)
		if cutAt < 0 && s.app.Hub().Stats().SlowCut > 0 {
			cutAt = i
		}
	}
	return sent
}

// TestSlowSubscriberCutOff stalls one subscriber and checks that the hub
// cuts it off while a healthy subscriber of the same topic gets every update
// promptly. It does not run in parallel, so that other tests do not take
// the CPU its latency is measured on.
func TestSlowSubscriberCutOff(t *testing.T) {
	const topic = "https://example.com/firehose"
	path := query("/events", "topic", topic)
	s := newServer(t, func(c *app.Config) { c.QueueSize = 64 })
	healthy := s.openStream(t, path, nil)
	stalledSubscriber(t, s, path)
	s.waitSubscribers(t, 2)

	type arrival struct {
		n  int
		at time.Time
	}
	var (
		wg      sync.WaitGroup
		got     []arrival
		readErr error
	)
	wg.Go(func() {
		for {
			ev, err := healthy.p.Next()
			if err != nil {
				readErr = err
				return
			}
			if ev.Data == "end" {
				return
			}
			num, _, _ := strings.Cut(ev.Data, ":")
			n, err := strconv.Atoi(num)
			if err != nil {
				readErr = fmt.Errorf("unexpected data %.40q", ev.Data)
				return
			}
			got = append(got, arrival{n, time.Now()})
		}
	})
	sent := overflow(t, s, topic, 20)
	s.publish(t, topic, "end")
	wg.Wait()
	if readErr != nil {
		t.Fatalf("healthy subscriber: %v", readErr)
	}

	st := s.app.Hub().Stats()
	if st.SlowCut != 1 {
		t.Errorf("Stats().SlowCut = %d, want 1", st.SlowCut)
	}
	if st.Subscribers != 1 {
		t.Errorf("Stats().Subscribers = %d, want 1 (the healthy one)", st.Subscribers)
	}
	if len(got) != len(sent) {
		t.Fatalf("healthy subscriber got %d updates, want %d", len(got), len(sent))
	}
	lat := make([]time.Duration, len(got))
	for i, a := range got {
		if a.n != i {
			t.Fatalf("healthy subscriber's update %d is number %d", i, a.n)
		}
		lat[i] = a.at.Sub(sent[i])
	}
	slices.Sort(lat)
	p99 := lat[len(lat)*99/100]
	t.Logf("%d updates of 16 KiB; healthy subscriber latency p50 %v, p99 %v, max %v", len(lat), lat[len(lat)/2], p99, lat[len(lat)-1])
	if p99 > 200*time.Millisecond {
		t.Errorf("healthy subscriber's p99 latency %v, want under 200ms", p99)
	}
}

// TestSlowSubscriberDisconnected checks that a subscriber cut off as too
// slow is also disconnected soon, so it can notice and resume, rather than
// held open (with its handler goroutine blocked in a write) until the write
// timeout passes.
func TestSlowSubscriberDisconnected(t *testing.T) {
	t.Parallel()
	const topic = "https://example.com/firehose"
	s := newServer(t, func(c *app.Config) { c.QueueSize = 64 })
	c := stalledSubscriber(t, s, query("/events", "topic", topic))
	s.waitSubscribers(t, 1)
	overflow(t, s, topic, 0)
	waitFor(t, "the subscription to end", func() bool { return s.app.Hub().Stats().Subscribers == 0 })

	err := poll(3*time.Second, func() bool {
		st, _ := s.connState(c.LocalAddr())
		return st == http.StateClosed || st == http.StateHijacked
	})
	if st, _ := s.connState(c.LocalAddr()); err == nil && st == http.StateHijacked {
		err = readToEnd(c, 3*time.Second) // the API took it over: it must close it
	}
	if err != nil {
		st, _ := s.connState(c.LocalAddr())
		t.Errorf("connection of the cut-off subscriber still %v 3s after the cut (write timeout %v): %v",
			st, app.DefaultConfig().WriteTimeout, err)
	}
}

// readToEnd reads c until the server closes or resets it, failing after
// limit.
func readToEnd(c net.Conn, limit time.Duration) error {
	_ = c.SetReadDeadline(time.Now().Add(limit))
	buf := make([]byte, 64<<10)
	for {
		_, err := c.Read(buf)
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			return fmt.Errorf("connection still open: %w", err)
		case err != nil:
			return nil // EOF or reset: closed
		}
	}
}

// TestStalledSubscriberCatchesUp stalls a subscriber long enough for its
// connection to refuse writes (4.8 MB), without overflowing its queue,
// then reads:
// every update must arrive, in order, and the stream must go on.
func TestStalledSubscriberCatchesUp(t *testing.T) {
	t.Parallel()
	const (
		topic = "https://example.com/burst"
		n     = 300
	)
	s := newServer(t, func(c *app.Config) { c.QueueSize = 2 * n })
	c := rawSubscriber(t, s, query("/events", "topic", topic))
	s.waitSubscribers(t, 1)
	pad := strings.Repeat("x", 16<<10)
	for i := range n {
		s.publish(t, topic, strconv.Itoa(i)+":"+pad)
	}
	s.publish(t, topic, "end")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(streamTimeout))
	p := sse.NewParser(resp.Body)
	p.MaxEventSize = 32 << 10
	for i := 0; ; i++ {
		ev, err := p.Next()
		if err != nil {
			t.Fatalf("after %d updates: %v", i, err)
		}
		if ev.Data == "end" {
			if i != n {
				t.Fatalf("got %d updates before the end, want %d", i, n)
			}
			break
		}
		if num, _, _ := strings.Cut(ev.Data, ":"); num != strconv.Itoa(i) {
			t.Fatalf("update %d is number %s", i, num)
		}
	}
	if st := s.app.Hub().Stats(); st.SlowCut != 0 || st.Subscribers != 1 {
		t.Errorf("SlowCut %d, Subscribers %d: want the subscriber kept", st.SlowCut, st.Subscribers)
	}
}
