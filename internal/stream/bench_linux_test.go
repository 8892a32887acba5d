package stream_test

import (
	"fmt"
	"net/netip"
	"runtime"
	"syscall"
	"testing"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/app/apptest"
)

// BenchmarkIdleStreams holds 2,000 idle streams on the app's own server
// (taken over from net/http) and reports what they cost the Go runtime
// per stream: heap and goroutine stacks in use after a collection, and
// goroutines. The clients are bare sockets, which take no Go memory. The
// kernel's socket buffers and the process's RSS are the load tool's to
// measure (docs/benchmarks.md); this catches a regression in the hub's
// own share, such as a goroutine per stream.
func BenchmarkIdleStreams(b *testing.B) {
	const n = 2000
	s := apptest.NewServer(b, func(c *app.Config) { c.Limits.MaxConnectionsPerIP = 0 })
	addr := s.Srv.Listener.Addr().String()
	request := fmt.Appendf(nil, "GET /.well-known/mercure?topic=idle HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	var heap, stacks, goroutines float64
	for range b.N {
		before := settledMemory()
		fds := make([]int, n)
		for i := range fds {
			fds[i] = dialBare(b, addr, request)
		}
		s.WaitSubscribers(b, n)
		// The handlers' goroutines end once their streams are handed over.
		settleGoroutines(b)
		after := settledMemory()
		heap += (float64(after.heap) - float64(before.heap)) / n
		stacks += (float64(after.stacks) - float64(before.stacks)) / n
		goroutines += float64(after.goroutines-before.goroutines) / n
		for _, fd := range fds {
			_ = syscall.Close(fd)
		}
		s.WaitSubscribers(b, 0)
	}
	b.ReportMetric(heap/float64(b.N), "heap-B/stream")
	b.ReportMetric(stacks/float64(b.N), "stack-B/stream")
	b.ReportMetric(goroutines/float64(b.N), "goroutines/stream")
}

// settleGoroutines waits until the number of goroutines has not changed
// for 100 ms.
func settleGoroutines(b *testing.B) {
	last, same := -1, 0
	apptest.WaitFor(b, "the goroutines to settle", func() bool {
		if n := runtime.NumGoroutine(); n != last {
			last, same = n, 0
			return false
		}
		same++
		return same >= 100
	})
}

// memory is what the Go runtime holds.
type memory struct {
	heap, stacks uint64
	goroutines   int
}

// settledMemory collects garbage and reads the heap and stacks in use.
func settledMemory() memory {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return memory{heap: m.HeapInuse, stacks: m.StackInuse, goroutines: runtime.NumGoroutine()}
}

// dialBare connects a socket Go's runtime knows nothing of to addr (an IPv4
// host:port) and sends request on it.
func dialBare(b *testing.B, addr string, request []byte) int {
	b.Helper()
	ap := netip.MustParseAddrPort(addr)
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		b.Fatal(err)
	}
	if err := syscall.Connect(fd, &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}); err != nil {
		b.Fatal(err)
	}
	if _, err := syscall.Write(fd, request); err != nil {
		b.Fatal(err)
	}
	return fd
}
