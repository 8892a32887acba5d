package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/sse"
)

// TestUnreadReplaysHoldLittle is a hostile client against the real binary:
// over a history of 10,000 updates of 500 bytes (5 MB), it opens 10
// streams replaying all of it (lastEventID=earliest) and never reads them,
// with a receive buffer of 4 KiB. The server's resident memory may grow by
// a few MB per stream, not by the replay's size: a replay is read from
// history a page at a time as the stream drains. One of the streams then
// reads, and gets all 10,000 updates in order. Run with the memory history
// (its bytes per topic raised to hold them all) and with the durable one,
// whose replays decode copies of the updates.
func TestUnreadReplaysHoldLittle(t *testing.T) {
	memory := func(*testing.T) []string { return []string{"-data-dir", "", "-history-bytes", "67108864"} }
	disk := func(t *testing.T) []string { return []string{"-data-dir", t.TempDir()} }
	cases := []struct {
		name  string
		args  func(t *testing.T) []string
		topic string // the streams' selector
	}{
		{"memory", memory, "hostile"},
		{"disk", disk, "hostile"},
		{"disk, topic=*", disk, "*"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := startBinary(t, append(c.args(t), "-write-timeout", "2m")...)
			testUnreadReplays(t, p, c.topic)
		})
	}
}

const (
	hostileUpdates = 10000
	hostileStreams = 10
	hostileMaxEach = 4 << 20 // bytes of resident memory one unread stream may add
)

func testUnreadReplays(t *testing.T, p *process, topic string) {
	publishHostileHistory(t, p.base)
	pid := p.cmd.Process.Pid
	before := settledMemory(t, pid)
	conns := make([]net.Conn, hostileStreams)
	for i := range conns {
		conns[i] = dialUnread(t, p.base, topic)
	}
	waitSubscribers(t, p.base, hostileStreams)
	after := settledMemory(t, pid)
	grew := after.rss - before.rss
	t.Logf("%d unread replays of %d updates: VmRSS %d → %d kB (+%d kB, %d kB each), RssAnon %d → %d kB",
		hostileStreams, hostileUpdates, before.rss>>10, after.rss>>10, grew>>10, grew/hostileStreams>>10,
		before.anon>>10, after.anon>>10)
	if grew > hostileStreams*hostileMaxEach {
		t.Errorf("resident memory grew by %d MB for %d unread streams: more than %d MB each",
			grew>>20, hostileStreams, hostileMaxEach>>20)
	}
	start := time.Now()
	readAll(t, conns[0])
	t.Logf("then read all %d updates from one of them in %v", hostileUpdates, time.Since(start).Round(time.Millisecond))
}

// publishHostileHistory publishes the history: updates numbered 0 to
// 9,999 of 500 bytes each, in batches of 1,000.
func publishHostileHistory(t *testing.T, base string) {
	t.Helper()
	pad := strings.Repeat("x", 500-len("00000 "))
	for b := 0; b < hostileUpdates; b += 1000 {
		var body bytes.Buffer
		body.WriteByte('[')
		for i := b; i < b+1000; i++ {
			if i > b {
				body.WriteByte(',')
			}
			fmt.Fprintf(&body, `{"topic":"hostile","data":"%05d %s"}`, i, pad)
		}
		body.WriteByte(']')
		resp, err := http.Post(base+"/.well-known/mercure", "application/json", &body)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("publish batch %d: %s", b/1000, resp.Status)
		}
	}
}

// dialUnread opens a stream replaying all of topic's history on a
// connection with a 4 KiB receive buffer, and does not read it.
func dialUnread(t *testing.T, base, topic string) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	conn, err := d.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "GET /.well-known/mercure?topic=%s&lastEventID=earliest HTTP/1.1\r\nHost: ssehub\r\n\r\n", url.QueryEscape(topic))
	return conn
}

// waitSubscribers waits until the server counts n subscriptions.
func waitSubscribers(t *testing.T, base string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var health struct{ Subscribers int }
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&health)
			resp.Body.Close()
		}
		if err == nil && health.Subscribers >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d subscriptions, want %d (%v)", health.Subscribers, n, err)
		}
		time.Sleep(20 * time.Millisecond) // polling the server's count
	}
}

// readAll reads conn's stream until it has all the updates, in order.
func readAll(t *testing.T, conn net.Conn) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	// No resp.Body.Close: it would read the endless stream to its end.
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("stream: %s", resp.Status)
	}
	ps := sse.NewParser(resp.Body)
	for i := range hostileUpdates {
		ev, err := ps.Next()
		if err != nil {
			t.Fatalf("after %d updates: %v", i, err)
		}
		if want := fmt.Sprintf("%05d ", i); !strings.HasPrefix(ev.Data, want) {
			t.Fatalf("update %d is %.10q…", i, ev.Data)
		}
	}
}

// memory is a process's resident memory in bytes: all of it, and its
// anonymous part (the heap and stacks, without the mapped files).
type memory struct{ rss, anon int64 }

// settledMemory returns pid's resident memory once it has stopped moving:
// three readings 200 ms apart within 1% of each other.
func settledMemory(t *testing.T, pid int) memory {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var last []memory
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		m := readMemory(t, pid)
		last = append(last, m)
		if n := len(last); n >= 3 {
			lo, hi := last[n-3].rss, last[n-3].rss
			for _, x := range last[n-2:] {
				lo, hi = min(lo, x.rss), max(hi, x.rss)
			}
			if hi-lo <= hi/100 {
				return m
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("resident memory still moving: %v", last[max(0, len(last)-5):])
		case <-tick.C:
		}
	}
}

func readMemory(t *testing.T, pid int) memory {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	var m memory
	for line := range bytes.Lines(b) {
		for name, to := range map[string]*int64{"VmRSS:": &m.rss, "RssAnon:": &m.anon} {
			if rest, ok := bytes.CutPrefix(line, []byte(name)); ok {
				kb, err := strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(rest), []byte(" kB"))), 10, 64)
				if err != nil {
					t.Fatalf("%s %q: %v", name, line, err)
				}
				*to = kb << 10
			}
		}
	}
	return m
}
