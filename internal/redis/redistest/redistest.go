// Package redistest runs a real redis-server for tests: on a free loopback
// port, in a temporary directory, with append-only persistence so a restart
// keeps what was acknowledged. It never assumes a server is running. When
// redis-server is missing the test is skipped, except under CI=true where it
// fails: the test command installs it.
package redistest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a redis-server process owned by a test: a server, a replica
// or a sentinel.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	args []string // after the common ones: --replicaof for a replica
	conf string   // a sentinel's configuration file, which it rewrites

	mu  sync.Mutex
	cmd *exec.Cmd
}

// Start runs redis-server for the test and stops it when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := newServer(t)
	s.start()
	t.Cleanup(s.Stop)
	return s
}

// StartReplica runs a replica of master, stopped when the test ends.
func StartReplica(t testing.TB, master *Server) *Server {
	t.Helper()
	s := newServer(t)
	s.args = []string{"--replicaof", "127.0.0.1", strconv.Itoa(master.port)}
	s.start()
	t.Cleanup(s.Stop)
	return s
}

// StartSentinel runs a Redis Sentinel watching master under name, alone
// (a quorum of one), declaring it down after 500 ms; stopped when the test
// ends.
func StartSentinel(t testing.TB, master *Server, name string) *Server {
	t.Helper()
	s := newServer(t)
	s.conf = filepath.Join(s.dir, "sentinel.conf")
	conf := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nlogfile %s\n", s.port, s.dir, filepath.Join(s.dir, "redis.log")) +
		fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d 1\n", name, master.port) +
		fmt.Sprintf("sentinel down-after-milliseconds %s 500\nsentinel failover-timeout %s 5000\n", name, name)
	if err := os.WriteFile(s.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	s.start()
	t.Cleanup(s.Stop)
	return s
}

// SentinelURL is the URL through which a client finds the master named
// name: this sentinel's address with master_name.
func (s *Server) SentinelURL(name string) string {
	return fmt.Sprintf("redis://%s/0?master_name=%s", s.Addr(), name)
}

// newServer finds redis-server and a free port: skipped when it is
// missing, except under CI=true where the test fails.
func newServer(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("redis-server is required under CI (make test installs it): %v", err)
		}
		t.Skipf("redis-server not installed (make test installs it): %v", err)
	}
	return &Server{t: t, bin: bin, dir: t.TempDir(), port: freePort(t)}
}

// URL is the server's redis:// URL.
func (s *Server) URL() string { return fmt.Sprintf("redis://%s/0", s.Addr()) }

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

func (s *Server) start() {
	s.t.Helper()
	cmd := exec.Command(s.bin, append([]string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--dir", s.dir, "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
		"--daemonize", "no", "--logfile", filepath.Join(s.dir, "redis.log")}, s.args...)...)
	if s.conf != "" {
		cmd = exec.Command(s.bin, s.conf, "--sentinel")
	}
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	s.mu.Lock()
	s.cmd = cmd
	s.mu.Unlock()
	if err := s.waitReady(10 * time.Second); err != nil {
		s.t.Fatalf("redis-server on %s: %v (log: %s)", s.Addr(), err, s.logTail())
	}
}

// Stop shuts the server down gracefully (SIGTERM: the append-only file is
// flushed) and waits for it to exit. Stopping twice is a no-op.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Pause freezes the server (SIGSTOP): it keeps its connections but answers
// nothing, as a replica stuck behind a slow disk or network would; Resume
// lets it go on. The test's cleanup resumes a paused server before
// stopping it.
func (s *Server) Pause() {
	s.t.Helper()
	s.signal(sigStop)
	s.t.Cleanup(s.Resume)
}

// Resume undoes Pause.
func (s *Server) Resume() { s.signal(sigCont) }

func (s *Server) signal(sig os.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		if err := s.cmd.Process.Signal(sig); err != nil {
			s.t.Errorf("signal %v to redis-server: %v", sig, err)
		}
	}
}

// Restart stops the server and starts it again on the same port and data.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start()
}

// Do sends one command with redis-cli-like plain arguments and returns the
// first reply line, for tests that poke at the server (FLUSHALL, DEBUG).
func (s *Server) Do(args ...string) (string, error) {
	conn, err := net.DialTimeout("tcp", s.Addr(), 2*time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := conn.Write([]byte(b.String())); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	return strings.TrimSpace(line), err
}

func (s *Server) waitReady(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		reply, err := s.Do("PING")
		if err == nil && reply == "+PONG" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (s *Server) logTail() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
