//go:build linux && !386

package loadtest

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// poller reads many plain TCP streams with one goroutine and an epoll
// instance of its own, so that the tool spends its CPU on the streams
// rather than on scheduling a goroutine per stream: each wake-up of the
// descriptor is one read (edge-triggered: a read shorter than the buffer
// has drained the socket, and new bytes will wake it again), not a read
// and then a second one that finds nothing. A stream's descriptor is a
// duplicate taken out of Go's network poller. Reads are recvmsg calls that
// also return the kernel's receive time of the bytes read (SO_TIMESTAMPNS),
// for the arrival latency.
type poller struct {
	epfd int
	stop atomic.Bool
	buf  []byte
	oob  []byte         // the control messages of a read
	iov  syscall.Iovec  // buf, for msg
	msg  syscall.Msghdr // a read's message, reused

	mu   sync.Mutex
	subs []stream // by the index in their epoll events
	fds  []int    // their descriptors; -1 once closed
}

// epollET is EPOLLET as the flag it is: syscall's constant is negative on
// some architectures (the sign bit of an int32) and positive on others.
const epollET = 1 << 31

// pollWait is how long the poller waits for events before it looks at
// whether it must stop.
const pollWait = 20 * time.Millisecond

func newPoller() (*poller, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	p := &poller{epfd: fd, buf: make([]byte, 64<<10), oob: make([]byte, syscall.CmsgSpace(int(unsafe.Sizeof(syscall.Timespec{}))))}
	p.iov.Base = &p.buf[0]
	p.iov.SetLen(len(p.buf))
	p.msg.Iov, p.msg.Iovlen = &p.iov, 1
	return p, nil
}

// errNotPollable is a stream the poller cannot read: not plain TCP.
var errNotPollable = errors.New("not a plain TCP stream")

// take moves conn, s's stream, to the poller: conn is closed afterwards
// (the poller holds a duplicate of its socket). On an error conn is
// untouched, and a goroutine may read it instead.
func (p *poller) take(conn net.Conn, s stream) error {
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		return errNotPollable
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return err
	}
	fd, derr := -1, error(nil)
	if err := rc.Control(func(f uintptr) { fd, derr = dupCloexec(int(f)) }); err != nil {
		return err
	}
	if derr != nil {
		return derr
	}
	// Without receive times the stream is still read; its arrival latency
	// is just not measured.
	_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
	p.mu.Lock()
	i := len(p.subs)
	p.subs, p.fds = append(p.subs, s), append(p.fds, fd)
	p.mu.Unlock()
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | epollET, Fd: int32(i)}
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		p.mu.Lock()
		p.fds[i] = -1
		p.mu.Unlock()
		_ = syscall.Close(fd)
		return err // conn is untouched: a goroutine can read it instead
	}
	_ = tc.Close() // drops Go's descriptor only: the socket stays open through fd
	return nil
}

// dupCloexec duplicates fd, closed on exec (the tool starts child processes).
func dupCloexec(fd int) (int, error) {
	r, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, 0)
	if errno != 0 {
		return -1, errno
	}
	return int(r), nil
}

// run reads the streams until close; stopping reports whether the run is
// closing them.
func (p *poller) run(stopping func() bool) {
	events := make([]syscall.EpollEvent, 256)
	for !p.stop.Load() {
		n, err := syscall.EpollWait(p.epfd, events, int(pollWait/time.Millisecond))
		if err != nil {
			continue // EINTR
		}
		for _, ev := range events[:n] {
			p.serve(int(ev.Fd), ev.Events&(syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0, stopping)
		}
	}
	p.closeAll()
}

// serve reads stream i until its socket is drained or the stream ends.
// hangup tells that the peer closed (or the socket failed): then the
// stream is read to its end, as no later wake-up would come for the end
// behind the last bytes.
func (p *poller) serve(i int, hangup bool, stopping func() bool) {
	p.mu.Lock()
	s, fd := p.subs[i], p.fds[i]
	p.mu.Unlock()
	for fd >= 0 {
		n, arrived, err := p.recv(fd)
		switch {
		case err == syscall.EAGAIN:
			return
		case err == syscall.EINTR:
			continue
		case err != nil:
			p.drop(i, err, stopping())
			return
		case n == 0:
			p.drop(i, s.closed(), stopping())
			return
		}
		if err := s.feed(p.buf[:n], time.Now().UnixNano(), arrived); err != nil {
			p.drop(i, err, stopping())
			return
		}
		if n < len(p.buf) && !hangup {
			return // drained: the next bytes wake the descriptor again
		}
	}
}

// recv reads what fd has into p.buf, and the kernel's receive time of the
// last bytes read (Unix nanoseconds; 0 when the kernel gave none). It is
// not a raw system call, although the socket never blocks: a raw call
// would keep the poller's P through a whole fan-out, and the publishers'
// goroutines, which share the Ps, would see their answers late.
func (p *poller) recv(fd int) (n int, arrived int64, err error) {
	p.msg.Control = &p.oob[0]
	p.msg.SetControllen(len(p.oob))
	p.msg.Flags = 0
	r, _, errno := syscall.Syscall(syscall.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&p.msg)), 0)
	if errno != 0 {
		return 0, 0, errno
	}
	return int(r), receiveTime(p.oob[:p.msg.Controllen]), nil
}

// receiveTime returns the SCM_TIMESTAMPNS time in the control messages
// oob (Unix nanoseconds), or 0.
func receiveTime(oob []byte) int64 {
	for len(oob) >= syscall.SizeofCmsghdr {
		h := (*syscall.Cmsghdr)(unsafe.Pointer(&oob[0]))
		if uint64(h.Len) < syscall.SizeofCmsghdr || uint64(h.Len) > uint64(len(oob)) {
			return 0
		}
		data := oob[syscall.CmsgLen(0):h.Len]
		if h.Level == syscall.SOL_SOCKET && h.Type == syscall.SCM_TIMESTAMPNS && len(data) >= int(unsafe.Sizeof(syscall.Timespec{})) {
			return (*syscall.Timespec)(unsafe.Pointer(&data[0])).Nano()
		}
		oob = oob[min(len(oob), syscall.CmsgSpace(int(h.Len)-syscall.CmsgLen(0))):]
	}
	return 0
}

// drop closes stream i, which ended for err.
func (p *poller) drop(i int, err error, stopping bool) {
	p.mu.Lock()
	s, fd := p.subs[i], p.fds[i]
	p.fds[i] = -1
	p.mu.Unlock()
	closeFd(fd)
	s.stop(err, stopping)
}

// close makes run close every stream and return.
func (p *poller) close() { p.stop.Store(true) }

// closeAll closes the streams still open, then the epoll instance.
func (p *poller) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, fd := range p.fds {
		if fd >= 0 {
			closeFd(fd)
			p.fds[i] = -1
			p.subs[i].stop(nil, true)
		}
	}
	_ = syscall.Close(p.epfd)
}

// closeFd closes a stream's socket with a reset rather than a FIN, as
// closeNow does.
func closeFd(fd int) {
	_ = syscall.SetsockoptLinger(fd, syscall.SOL_SOCKET, syscall.SO_LINGER, &syscall.Linger{Onoff: 1})
	_ = syscall.Close(fd)
}
