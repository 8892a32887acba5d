//go:build linux && !386

package loadtest

import (
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"
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
	release := waitReceiveTimes(t)
	lat := newLatencies()
	subs := make([]*subscriber, streams)
	servers := make([]net.Conn, streams)
	for i := range subs {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		subs[i] = newSubscriber(0, cfg, lat)
		subs[i].conn = c
		subs[i].dec.init(true, 4096)
		if err := p.take(c, subs[i]); err != nil {
			t.Fatal(err)
		}
		subs[i].conn = nil
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
	// Every read came with the kernel's receive time, which lies between
	// the publish stamp and the read.
	n := uint64(streams * cfg.Events)
	if lat.read.Count() != n || lat.arrival.Count() != n || lat.arrival.Max() > lat.read.Max() {
		t.Errorf("latencies: %d read (max %d µs), %d with a receive time (max %d µs); want %d each, arrival ≤ read",
			lat.read.Count(), lat.read.Max(), lat.arrival.Count(), lat.arrival.Max(), n)
	}
	release()
	if after := openFiles(t); after != before {
		t.Errorf("%d open files before, %d after", before, after)
	}
}

// TestReceiveTime reads the receive time out of control messages: found
// behind another message, absent, or in a message cut short.
func TestReceiveTime(t *testing.T) {
	t.Parallel()
	msg := func(level, typ int32, data []byte) []byte {
		b := make([]byte, syscall.CmsgSpace(len(data)))
		h := (*syscall.Cmsghdr)(unsafe.Pointer(&b[0]))
		h.Level, h.Type = level, typ
		h.SetLen(syscall.CmsgLen(len(data)))
		copy(b[syscall.CmsgLen(0):], data)
		return b
	}
	ts := syscall.NsecToTimespec(1_700_000_000_123_456_789)
	stamp := unsafe.Slice((*byte)(unsafe.Pointer(&ts)), unsafe.Sizeof(ts))
	other := msg(syscall.SOL_SOCKET, syscall.SCM_RIGHTS, []byte{1, 2, 3, 4})
	both := append(slices.Clone(other), msg(syscall.SOL_SOCKET, syscall.SCM_TIMESTAMPNS, stamp)...)
	for _, c := range []struct {
		name string
		oob  []byte
		want int64
	}{
		{"stamp", msg(syscall.SOL_SOCKET, syscall.SCM_TIMESTAMPNS, stamp), 1_700_000_000_123_456_789},
		{"after another message", both, 1_700_000_000_123_456_789},
		{"none", nil, 0},
		{"another message only", other, 0},
		{"cut short", both[:len(both)-4], 0},
		{"stamp too short", msg(syscall.SOL_SOCKET, syscall.SCM_TIMESTAMPNS, stamp[:8]), 0},
	} {
		if got := receiveTime(c.oob); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
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

// waitReceiveTimes waits until the kernel stamps received packets with
// their time, and keeps it doing so until release is called. The first
// socket that asks for receive times turns the stamping on for every
// packet, and the last one to close turns it off, but the kernel does both
// a little later, from a work queue: packets received meanwhile have no
// time. So the socket that waited stays open until release.
func waitReceiveTimes(t *testing.T) (release func()) {
	t.Helper()
	var closers []io.Closer
	release = func() {
		for _, c := range closers {
			_ = c.Close()
		}
	}
	defer func() {
		if t.Failed() {
			release()
		}
	}()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closers = append(closers, ln)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	closers = append(closers, c)
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	closers = append(closers, s)
	f, err := c.(*net.TCPConn).File()
	if err != nil {
		t.Fatal(err)
	}
	closers = append(closers, f)
	fd := int(f.Fd())
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1); err != nil {
		t.Fatal(err)
	}
	buf, oob := make([]byte, 16), make([]byte, 64)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if _, err := s.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		_, oobn, _, _, err := syscall.Recvmsg(fd, buf, oob, 0)
		if err != nil {
			t.Fatal(err)
		}
		if receiveTime(oob[:oobn]) != 0 {
			return release
		}
	}
	t.Fatal("the kernel gave no receive time in 5s")
	return release
}
