//go:build linux

// Command loopback measures the least CPU that delivering small events over
// loopback TCP can cost on this machine, with nothing of the hub in the way:
// -conns connections, -rate events a second spread evenly over them (one
// write of -size bytes per event, no coalescing), one thread writing with
// raw write(2) calls and one thread reading every connection through
// epoll(7) with raw read(2) calls. It prints each thread's CPU per event
// and the cores both take at that rate: a floor for any server and load
// tool sharing the machine (docs/benchmarks.md, "Measured: the floor under
// 5,000 generations at once").
//
//	go run ./bench/loopback -conns 5000 -rate 97000 -duration 10s
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"runtime"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	conns := flag.Int("conns", 5000, "connections")
	rate := flag.Int("rate", 97000, "events a second, over all connections")
	size := flag.Int("size", 110, "bytes per event (a token event of the generations benchmark is about 110)")
	duration := flag.Duration("duration", 10*time.Second, "how long to write")
	flag.Parse()
	if *conns < 1 || *rate < 1000 || *size < 1 || *duration <= 0 {
		log.Fatal("loopback: -conns ≥ 1, -rate ≥ 1000, -size ≥ 1 and -duration > 0")
	}
	writeFDs, readFDs, err := connect(*conns)
	if err != nil {
		log.Fatalf("loopback: %v", err)
	}
	var wg sync.WaitGroup
	var wrote, read result
	stop := make(chan struct{})
	wg.Add(2)
	go func() { defer wg.Done(); wrote = writeLoop(writeFDs, *rate, *size, *duration) }()
	go func() { defer wg.Done(); read = readLoop(readFDs, stop) }()
	time.Sleep(*duration + 200*time.Millisecond)
	close(stop)
	wg.Wait()
	report("writer", "writes", wrote, *duration)
	report("reader", "reads", read, *duration)
	fmt.Printf("both         %.2f µs per event, %.2f cores at %d events/s\n",
		perEvent(wrote.cpu+read.cpu, wrote.events), float64(wrote.cpu+read.cpu)/float64(*duration), *rate)
}

// result is what one thread did (system calls that moved bytes) and the
// CPU it took for it.
type result struct {
	events int
	bytes  int
	cpu    time.Duration
}

// report prints one thread's result; the CPU per event is per call (a read
// may take more than one event).
func report(name, calls string, r result, d time.Duration) {
	fmt.Printf("%-12s %d %s, %d bytes, %.2f s CPU: %.2f µs per call, %.2f cores\n",
		name, r.events, calls, r.bytes, r.cpu.Seconds(), perEvent(r.cpu, r.events), float64(r.cpu)/float64(d))
}

func perEvent(cpu time.Duration, events int) float64 {
	if events == 0 {
		return 0
	}
	return float64(cpu.Microseconds()) / float64(events)
}

// connect opens n loopback connections and returns the file descriptors of
// their two ends, non-blocking, detached from Go's poller.
func connect(n int) (writers, readers []int, err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()
	for range n {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return nil, nil, fmt.Errorf("dial: %w", err)
		}
		s, err := ln.Accept()
		if err != nil {
			return nil, nil, fmt.Errorf("accept: %w", err)
		}
		w, err := detach(s.(*net.TCPConn))
		if err != nil {
			return nil, nil, err
		}
		r, err := detach(c.(*net.TCPConn))
		if err != nil {
			return nil, nil, err
		}
		writers, readers = append(writers, w), append(readers, r)
	}
	return writers, readers, nil
}

// detach returns a non-blocking duplicate of c's descriptor and closes c.
func detach(c *net.TCPConn) (int, error) {
	f, err := c.File()
	c.Close()
	if err != nil {
		return -1, fmt.Errorf("file: %w", err)
	}
	defer f.Close()
	fd, err := unix.Dup(int(f.Fd()))
	if err != nil {
		return -1, fmt.Errorf("dup: %w", err)
	}
	return fd, unix.SetNonblock(fd, true)
}

// writeLoop writes rate events a second for d, each tick of a millisecond
// writing the events due to the next connections in turn.
func writeLoop(fds []int, rate, size int, d time.Duration) result {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	event := make([]byte, size)
	copy(event, "event: token\ndata: ")
	event[size-1] = '\n'
	before := threadCPU()
	start := time.Now()
	var r result
	next := 0
	for tick := time.Duration(1); tick*time.Millisecond <= d; tick++ {
		due := int(int64(rate) * int64(tick) / 1000)
		for ; r.events < due; r.events++ {
			n, err := unix.Write(fds[next], event)
			if err != nil {
				log.Fatalf("loopback: write: %v", err)
			}
			r.bytes += n
			next = (next + 1) % len(fds)
		}
		time.Sleep(time.Until(start.Add(tick * time.Millisecond)))
	}
	r.cpu = threadCPU() - before
	return r
}

// readLoop reads every connection through one epoll set until stop.
func readLoop(fds []int, stop <-chan struct{}) result {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		log.Fatalf("loopback: epoll: %v", err)
	}
	defer unix.Close(ep)
	for _, fd := range fds {
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
		if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			log.Fatalf("loopback: epoll_ctl: %v", err)
		}
	}
	before := threadCPU()
	events := make([]unix.EpollEvent, 256)
	buf := make([]byte, 64<<10)
	var r result
	for {
		select {
		case <-stop:
			r.cpu = threadCPU() - before
			return r
		default:
		}
		n, err := unix.EpollWait(ep, events, 10)
		if err != nil && err != unix.EINTR {
			log.Fatalf("loopback: epoll_wait: %v", err)
		}
		for _, ev := range events[:max(n, 0)] {
			got, err := unix.Read(int(ev.Fd), buf)
			if err != nil && err != unix.EAGAIN {
				log.Fatalf("loopback: read: %v", err)
			}
			if got > 0 {
				r.bytes += got
				r.events++
			}
		}
	}
}

// threadCPU is the calling thread's user and system CPU so far.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		log.Fatalf("loopback: getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
