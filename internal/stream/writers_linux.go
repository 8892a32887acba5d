//go:build linux && !portable

package stream

import (
	"net"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// writer is one of the pool's goroutines, with what its writes reuse.
type writer struct {
	tally *tally      // where it counts what it writes
	vec   net.Buffers // lent to the stream it writes, for its bytes to write
	iov   []unix.Iovec
	msg   unix.Msghdr // its Iov is iov's array
	n     uintptr
	errno syscall.Errno
}

// PooledStreams is true: the pool writers write taken-over streams with
// writes that never wait, and an idle stream has no goroutine of its own
// (the hangup watcher notices its client leaving).
const PooledStreams = true

func newWriter(t *tally) *writer {
	return &writer{tally: t, iov: make([]unix.Iovec, 0, 1024)}
}

// scratch is the array the stream being written queues its bytes in.
func (w *writer) scratch() *net.Buffers { return &w.vec }

// send writes iov to fd, a non-blocking socket, so the call never waits
// for the client: it is made without telling the Go scheduler (a raw
// system call), which would otherwise hand the writer's P to another
// thread whenever the kernel's TCP work (on loopback it includes the
// receiver's) outlasts a scheduler tick of 20 µs, and make the writer win
// a P back afterwards: thread wake-ups and context switches that cost more
// than the write on a loaded machine (benchmarks.md, "raw writev"). It is
// sendmsg rather than writev, which goes through the file layer first
// (2–3 % of the server's CPU, benchmarks.md), and a closed connection
// answers EPIPE without raising SIGPIPE.
func (w *writer) send(fd uintptr) {
	w.msg.Iov = &w.iov[0]
	w.msg.SetIovlen(len(w.iov))
	w.n, _, w.errno = unix.RawSyscall(unix.SYS_SENDMSG, fd, uintptr(unsafe.Pointer(&w.msg)), unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
}

// write writes as much of s.out as the connection takes without waiting,
// with one sendmsg per 1,024 buffers; errWouldBlock tells that some is left.
func (w *writer) write(s *leanStream) error {
	if !s.direct {
		return errWouldBlock
	}
	for len(s.out) > 0 {
		w.iov = w.iov[:0]
		want := 0
		for _, b := range s.out[:min(len(s.out), cap(w.iov))] {
			if len(b) > 0 {
				v := unix.Iovec{Base: &b[0]}
				v.SetLen(len(b))
				w.iov = append(w.iov, v)
				want += len(b)
			}
		}
		if len(w.iov) == 0 {
			s.out = s.out[:0]
			break
		}
		// The descriptor itself rather than Write, or even Control: the
		// write never waits, so it needs neither the poller's write lock
		// and readiness reset nor a reference that keeps the descriptor
		// open, as only the stream's writer, which is this one meanwhile
		// (see leanStream.run), closes the connection.
		w.send(s.fd)
		clear(w.iov)
		switch {
		case w.errno == syscall.EINTR:
			continue
		case w.errno == syscall.EAGAIN:
			return errWouldBlock
		case w.errno != 0:
			return &net.OpError{Op: "sendmsg", Net: "tcp", Err: w.errno}
		}
		consume(&s.out, int(w.n))
		if int(w.n) < want {
			return errWouldBlock // the socket's buffer is full
		}
	}
	return nil
}

// consume drops the first n bytes of v.
func consume(v *net.Buffers, n int) {
	for len(*v) > 0 && n >= len((*v)[0]) {
		n -= len((*v)[0])
		(*v)[0] = nil
		*v = (*v)[1:]
	}
	if len(*v) > 0 {
		(*v)[0] = (*v)[0][n:]
	}
}

// interrupt shuts the socket down, which fails a write or read waiting on
// it, without closing the descriptor that pool writers may be writing to.
// Shutdown goes through raw, so a connection already closed is left alone.
func (s *leanStream) interrupt() {
	if s.raw == nil {
		_ = s.conn.Close()
		return
	}
	_ = s.raw.Control(func(fd uintptr) { _ = syscall.Shutdown(int(fd), syscall.SHUT_RDWR) })
}

// sendNow writes as much of b to c's socket as it takes at once, under
// c.mu (which keeps the descriptor open: see h2Conn.close). As the pool
// writers' writes (writer.send), it is a raw system call: it never waits,
// and the scheduler need not hand the caller's P to another thread.
func (c *h2Conn) sendNow(b []byte) (int, error) {
	for {
		n, _, errno := unix.RawSyscall6(unix.SYS_SENDTO, c.fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
			unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL, 0, 0)
		switch {
		case errno == syscall.EINTR:
			continue
		case errno == syscall.EAGAIN:
			return 0, nil
		case errno != 0:
			return 0, &net.OpError{Op: "sendto", Net: "tcp", Err: errno}
		}
		return int(n), nil
	}
}
