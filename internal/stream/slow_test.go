package stream_test

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
	"github.com/ssehub/ssehub/internal/app/apptest"
	"github.com/ssehub/ssehub/internal/sse"
)

// TestSlowSubscriberCutOff stalls one subscriber and checks that the hub
// cuts it off while a healthy subscriber of the same topic gets every update
// promptly. It does not run in parallel, so that other tests do not take
// the CPU its latency is measured on.
func TestSlowSubscriberCutOff(t *testing.T) {
	const topic = "https://example.com/firehose"
	path := apptest.Query("/events", "topic", topic)
	s := apptest.NewServer(t, func(c *app.Config) { c.QueueSize = 64 })
	healthy := s.OpenStream(t, path, nil)
	apptest.StalledSubscriber(t, s, path)
	s.WaitSubscribers(t, 2)

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
			ev, err := healthy.Parser.Next()
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
	sent := apptest.Overflow(t, s, topic, 20)
	s.Publish(t, topic, "end")
	wg.Wait()
	if readErr != nil {
		t.Fatalf("healthy subscriber: %v", readErr)
	}

	st := s.App.Hub().Stats()
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
	s := apptest.NewServer(t, func(c *app.Config) { c.QueueSize = 64 })
	c := apptest.StalledSubscriber(t, s, apptest.Query("/events", "topic", topic))
	s.WaitSubscribers(t, 1)
	apptest.Overflow(t, s, topic, 0)
	apptest.WaitFor(t, "the subscription to end", func() bool { return s.App.Hub().Stats().Subscribers == 0 })

	err := apptest.Poll(3*time.Second, func() bool {
		st, _ := s.ConnState(c.LocalAddr())
		return st == http.StateClosed || st == http.StateHijacked
	})
	if st, _ := s.ConnState(c.LocalAddr()); err == nil && st == http.StateHijacked {
		err = readToEnd(c, 3*time.Second) // the engine took it over: it must close it
	}
	if err != nil {
		st, _ := s.ConnState(c.LocalAddr())
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
	s := apptest.NewServer(t, func(c *app.Config) { c.QueueSize = 2 * n })
	c := apptest.RawSubscriber(t, s, apptest.Query("/events", "topic", topic))
	s.WaitSubscribers(t, 1)
	pad := strings.Repeat("x", 16<<10)
	for i := range n {
		s.Publish(t, topic, strconv.Itoa(i)+":"+pad)
	}
	s.Publish(t, topic, "end")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(apptest.StreamTimeout))
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
	if st := s.App.Hub().Stats(); st.SlowCut != 0 || st.Subscribers != 1 {
		t.Errorf("SlowCut %d, Subscribers %d: want the subscriber kept", st.SlowCut, st.Subscribers)
	}
}
