//go:build !linux || 386

package loadtest

import (
	"errors"
	"net"
)

// poller is Linux's epoll reader (poll_linux.go; not on 32-bit x86, which
// has no recvmsg system call of its own); elsewhere every stream has a
// goroutine of its own.
type poller struct{}

func newPoller() (*poller, error) { return nil, errors.New("no epoll") }

func (p *poller) take(net.Conn, stream) error { return errors.New("no epoll") }
func (p *poller) run(func() bool)             {}
func (p *poller) close()                      {}
