//go:build linux && !portable

package stream

import (
	"io"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// hangups notices clients leaving their taken-over streams: one epoll
// instance and one goroutine watch every stream's connection, so that an
// idle stream has no goroutine, and no stack, of its own. A client that
// closes or resets its connection ends its stream; bytes a client sends
// (a stream never reads any) are discarded.
//
// An epoll event names its stream by a slot and the slot's generation, not
// by the descriptor, whose number a closed connection gives back: a stream
// is forgotten, under mu, before its connection is closed, and an event
// that was already on its way then finds the generation changed.
type hangups struct {
	start sync.Once
	mu    sync.Mutex
	epfd  int // -1 when epoll is unavailable or the watcher has stopped
	// ep is epfd in the runtime's poller, which the watcher waits in (see
	// wait); it closes epfd.
	ep   *os.File
	stop int // an eventfd in the epoll set, written to stop the watcher or kick it
	// kicks are events for the watcher to serve as if epoll had reported
	// them (a connection new to it may have bytes its tls.Conn read
	// already); stopping tells a write to stop from a kick.
	kicks    []unix.EpollEvent
	stopping bool
	slots    []hangupSlot
	free     []int32 // slots to reuse
	done     chan struct{}
	// failed tells that epoll_wait failed, which it cannot with a valid
	// instance: streams are no longer watched (those watched end at their
	// next heartbeat's failed write, as a client leaves).
	failed bool
	log    *slog.Logger      // nil: no logging
	buf    [512]byte         // the watcher's, for the bytes it discards
	h2     *h2Reader         // the watcher's, for the HTTP/2 connections; nil until one
	again  []unix.EpollEvent // connections whose turn ended before their reads
}

// hangupSlot is a watched stream, or an HTTP/2 connection whose frames
// the watcher reads.
type hangupSlot struct {
	s   *leanStream // nil while free
	c   *h2Conn
	gen int32
}

// stopSlot marks the stop eventfd's events.
const stopSlot = -1

// run starts the watcher, once (TakeOver), logging to log.
func (h *hangups) run(log *slog.Logger) {
	h.start.Do(func() {
		h.log = log
		h.open()
	})
}

// open creates the epoll instance and starts the watcher; without one,
// every stream gets a reader goroutine instead.
func (h *hangups) open() {
	h.epfd, h.stop = -1, -1
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		h.warn("epoll_create1", err)
		return
	}
	stop, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err == nil {
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: stopSlot}
		err = unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, stop, &ev)
	}
	if err != nil {
		h.warn("eventfd", err)
		_ = unix.Close(epfd)
		if stop >= 0 {
			_ = unix.Close(stop)
		}
		return
	}
	var rc syscall.RawConn
	if unix.SetNonblock(epfd, true) == nil { // else os.NewFile's waits would block a thread
		h.ep = os.NewFile(uintptr(epfd), "epoll")
		// A file the runtime's poller did not take has no deadlines: the
		// watcher then waits in epoll_wait.
		if h.ep.SetReadDeadline(time.Time{}) == nil {
			rc, _ = h.ep.SyscallConn()
		}
	}
	h.epfd, h.stop, h.done = epfd, stop, make(chan struct{})
	go h.watchAll(epfd, rc)
}

// warn logs that the watcher cannot work, for the error of call.
func (h *hangups) warn(call string, err error) {
	if h.log != nil {
		h.log.Warn("hangup watcher unavailable: every stream gets a reader goroutine", "call", call, "err", err)
	}
}

// watch starts watching s's connection; false tells that it cannot (not
// a plain socket, or the watcher is unavailable or stopped), and s needs a
// reader goroutine. Only s's writer calls it, before s runs.
func (h *hangups) watch(s *leanStream) bool {
	if !s.direct {
		return false
	}
	i, ok := h.add(hangupSlot{s: s}, s.fd)
	if ok {
		s.watched = i + 1
	}
	return ok
}

// watchConn starts reading c's frames as they come; false tells that it
// cannot.
func (h *hangups) watchConn(c *h2Conn) bool {
	c.mu.Lock() // before the first event reads c.watched
	defer c.mu.Unlock()
	i, ok := h.add(hangupSlot{c: c}, c.fd)
	if !ok {
		return false
	}
	c.watched = i + 1
	h.mu.Lock()
	h.kicks = append(h.kicks, unix.EpollEvent{Events: unix.EPOLLIN, Fd: i, Pad: h.slots[i].gen})
	stop := h.stop
	h.mu.Unlock()
	one := [8]byte{1}
	_, _ = unix.Write(stop, one[:])
	return true
}

// add puts slot in the epoll set for fd and returns its number.
func (h *hangups) add(slot hangupSlot, fd uintptr) (int32, bool) {
	h.start.Do(h.open) // TakeOver has started it, unless a test skipped that
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.epfd < 0 || h.failed {
		return 0, false
	}
	var i int32
	if n := len(h.free); n > 0 {
		i, h.free = h.free[n-1], h.free[:n-1]
	} else {
		i = int32(len(h.slots))
		h.slots = append(h.slots, hangupSlot{})
	}
	slot.gen = h.slots[i].gen
	h.slots[i] = slot
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLET, Fd: i, Pad: slot.gen}
	if err := unix.EpollCtl(h.epfd, unix.EPOLL_CTL_ADD, int(fd), &ev); err != nil {
		h.release(i)
		return 0, false
	}
	return i, true
}

// forgetConn stops reading c; it is called before c's socket is closed.
func (h *hangups) forgetConn(c *h2Conn) {
	c.mu.Lock()
	watched := c.watched
	c.watched = 0
	c.mu.Unlock()
	if watched == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.epfd >= 0 {
		_ = unix.EpollCtl(h.epfd, unix.EPOLL_CTL_DEL, int(c.fd), nil)
	}
	h.release(watched - 1)
}

// forget stops watching s; its writer calls it before closing the
// connection.
func (h *hangups) forget(s *leanStream) {
	if s.watched == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.epfd >= 0 {
		_ = unix.EpollCtl(h.epfd, unix.EPOLL_CTL_DEL, int(s.fd), nil)
	}
	h.release(s.watched - 1)
	s.watched = 0
}

// release frees slot i for reuse, under mu.
func (h *hangups) release(i int32) {
	h.slots[i] = hangupSlot{gen: h.slots[i].gen + 1}
	h.free = append(h.free, i)
}

// watchAll waits for the events of epfd's connections until close.
func (h *hangups) watchAll(epfd int, rc syscall.RawConn) {
	defer close(h.done)
	events := make([]unix.EpollEvent, 128)
	for {
		// Connections still with frames to read: no wait.
		n, err := wait(epfd, rc, events, len(h.again) == 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			h.warn("epoll_wait", err)
			h.mu.Lock()
			h.failed = true
			h.mu.Unlock()
			return
		}
		again := h.again
		h.again = nil
		for _, ev := range events[:n] {
			if ev.Fd == stopSlot {
				if h.kicked() {
					continue
				}
				return
			}
			h.serve(ev)
		}
		for _, ev := range again {
			h.serve(ev)
		}
	}
}

// wait returns epfd's events, waiting for one when block is set: parked
// in the runtime's poller (through rc, epfd's) rather than in epoll_wait,
// which would hold a thread and, until the runtime takes it back, the
// processor the watcher ran on, with the goroutines it just started (the
// handlers of HTTP/2 requests) waiting behind. Without rc, in epoll_wait.
func wait(epfd int, rc syscall.RawConn, events []unix.EpollEvent, block bool) (n int, err error) {
	switch {
	case !block:
		return unix.EpollWait(epfd, events, 0)
	case rc == nil:
		return unix.EpollWait(epfd, events, -1)
	}
	rerr := rc.Read(func(fd uintptr) bool {
		n, err = unix.EpollWait(int(fd), events, 0)
		return n > 0 || err != nil // else wait until epfd is readable: it has events
	})
	if err == nil {
		err = rerr
	}
	return n, err
}

// kicked takes the kicks into again and reports true, unless the watcher
// is stopping.
func (h *hangups) kicked() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopping {
		return false
	}
	var b [8]byte
	_, _ = unix.Read(h.stop, b[:])
	h.again = append(h.again, h.kicks...)
	h.kicks = h.kicks[:0]
	return true
}

// serve handles the event of one connection: a hangup or an error ends
// its stream; bytes from the client are discarded, and the end behind
// them ends it too.
func (h *hangups) serve(ev unix.EpollEvent) {
	h.mu.Lock()
	slot := h.slots[ev.Fd]
	h.mu.Unlock()
	if (slot.s == nil && slot.c == nil) || slot.gen != ev.Pad {
		return // forgotten since the event came
	}
	if slot.c != nil {
		if h.h2 == nil {
			h.h2 = newH2Reader()
		}
		if slot.c.readable(h.h2) {
			h.again = append(h.again, ev) // its turn is over: the others' first
		}
		return
	}
	if ev.Events&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 || !h.discard(slot.s) {
		slot.s.end(errClientLeft)
	}
}

// discard reads and drops what the client of s sent, without waiting. It
// reports false once the client has closed its side or the connection
// failed, or was closed meanwhile: the read goes through the connection,
// which keeps its descriptor open while it lasts.
func (h *hangups) discard(s *leanStream) bool {
	open := true
	err := s.raw.Read(func(fd uintptr) bool {
		for {
			n, _, err := unix.Recvfrom(int(fd), h.buf[:], unix.MSG_DONTWAIT)
			switch {
			case err == unix.EINTR:
				continue
			case err == unix.EAGAIN:
				return true
			case err != nil || n == 0:
				open = false
				return true
			}
		}
	})
	return open && err == nil
}

// close stops the watcher, once every stream is finished.
func (h *hangups) close() {
	h.start.Do(func() { h.epfd, h.stop = -1, -1 }) // never start after this
	h.mu.Lock()
	epfd, stop, done := h.epfd, h.stop, h.done
	h.epfd, h.stop, h.stopping = -1, -1, true
	h.mu.Unlock()
	if epfd < 0 {
		return
	}
	one := [8]byte{1}
	_, _ = unix.Write(stop, one[:])
	<-done
	if h.ep != nil {
		_ = h.ep.Close()
	} else {
		_ = unix.Close(epfd)
	}
	_ = unix.Close(stop)
}

// readNow reads what the socket has, without waiting: nonblocking when it
// has nothing, io.EOF once the client closed its side.
func (c *sealConn) readNow(b []byte) (int, error) {
	var n int
	var rerr error
	err := c.raw.Read(func(fd uintptr) bool {
		for {
			n, _, rerr = unix.Recvfrom(int(fd), b, unix.MSG_DONTWAIT)
			if rerr != unix.EINTR {
				return true
			}
		}
	})
	switch {
	case err != nil:
		return 0, err
	case rerr == unix.EAGAIN:
		return 0, nonblocking{}
	case rerr != nil:
		return 0, rerr
	case n == 0 && len(b) > 0:
		return 0, io.EOF
	}
	return n, nil
}
