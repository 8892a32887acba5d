package loadtest

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// TestPoller reads streams with the epoll reader: every event is received;
// a stream the server cuts mid-body is counted as broken (unexpected EOF),
// one it ends properly as ended (EOF); and once closed, the reader has
// closed every descriptor it took.
func TestPoller(t *testing.T) {
	const streams = 40
	before := openFiles(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, streams)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	cfg := DefaultConfig()
	cfg.Events, cfg.Publishers = 3, 1
	p, err := newPoller()
	if err != nil {
		t.Fatal(err)
	}
	var stop sync.WaitGroup
	stop.Go(func() { p.run(func() bool { return false }) })
	subs := make([]*subscriber, streams)
	servers := make([]net.Conn, streams)
	for i := range subs {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		subs[i] = newSubscriber(0, cfg, NewHistogram())
		subs[i].conn, subs[i].dec = c, newDecoder(true, 4096)
		if err := p.take(subs[i]); err != nil {
			t.Fatal(err)
		}
		servers[i] = <-accepted
	}
	for seq := range cfg.Events {
		for _, c := range servers {
			ev := appendChunk(nil, append(append([]byte("data: "), appendData(nil, stamp{T: time.Now().UnixNano(), Seq: seq}, 60)...), "\n\n"...))
			if _, err := c.Write(ev); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i, c := range servers {
		if i%2 == 0 {
			_, _ = io.WriteString(c, "0\r\n\r\n") // the body's end
		}
		_ = c.Close() // the odd ones are cut short
	}
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; i < streams; {
		if time.Now().After(deadline) {
			t.Fatalf("stream %d: %d events, ended %v", i, subs[i].unique.Load(), subs[i].ended.Load())
		}
		if subs[i].ended.Load() {
			i++
			continue
		}
		time.Sleep(5 * time.Millisecond) // polling the reader's progress
	}
	p.close()
	stop.Wait()
	ln.Close()
	for i, s := range subs {
		want := io.EOF
		if i%2 == 1 {
			want = io.ErrUnexpectedEOF
		}
		if s.unique.Load() != int64(cfg.Events) || !errors.Is(s.err, want) {
			t.Errorf("stream %d: %d events, %v; want %d, %v", i, s.unique.Load(), s.err, cfg.Events, want)
		}
	}
	if after := openFiles(t); after != before {
		t.Errorf("%d open files before, %d after", before, after)
	}
}

// openFiles counts this process's open descriptors.
func openFiles(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(fds)
}
