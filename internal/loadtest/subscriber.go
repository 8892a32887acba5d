package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync/atomic"
	"time"
)

// subscriber is one stream and what it received. Only its reader goroutine
// touches the plain fields until the reader has ended.
type subscriber struct {
	topic    int
	protocol string    // the Config's
	hub      int       // index of the hub it is connected to
	topics   int       // in the run
	events   int       // in the run
	conn     net.Conn  // nil once the poller took the stream's descriptor
	lat      latencies // where its latencies are recorded

	endedEarly bool // the body ended with the bytes read while connecting

	unique atomic.Int64 // distinct events of its topic received
	ended  atomic.Bool  // the reader returned
	lastAt atomic.Int64 // Unix nanoseconds of its last delivery; 0 before any

	firstAt int64 // Unix nanoseconds of its first delivery; 0 before any

	seen       []uint64 // bit seq/topics is set once event seq was received
	lastSeq    []int32  // per publisher, the highest seq received; -1 before any
	delivered  int64    // the tool's events received, duplicates included
	duplicates int64
	outOfOrder int64 // events older than one already received from the same publisher
	foreign    int64 // events that are not the tool's, or not of this topic
	err        error // why the stream ended before the run did

	// With -reconnect: reconnect reopens the stream once it broke (false
	// once the run is closing the streams), after the last event id read.
	reconnect  func(*subscriber) bool
	lastID     []byte
	reconnects int

	dec decoder // the response body's, in the same allocation (one memory access fewer per read)
}

func newSubscriber(topic int, cfg Config, lat latencies) *subscriber {
	s := &subscriber{
		lat:      lat,
		topic:    topic,
		protocol: cfg.Protocol,
		topics:   cfg.Topics,
		events:   cfg.Events,
		seen:     make([]uint64, (ceilDiv(cfg.Events, cfg.Topics)+63)/64),
		lastSeq:  make([]int32, cfg.Publishers),
	}
	for i := range s.lastSeq {
		s.lastSeq[i] = -1
	}
	return s
}

// receive accounts for one event read at now, whose bytes reached the
// socket at arrived (Unix nanoseconds; 0 when unknown). It reports whether
// the event was the tool's own.
func (s *subscriber) receive(data []byte, now, arrived int64) bool {
	st, ok := parseData(stampOf(s.protocol, data))
	if !ok || st.Seq >= s.events || st.Seq%s.topics != s.topic || st.Pub >= len(s.lastSeq) {
		s.foreign++
		return false
	}
	s.delivered++
	s.lat.read.Record(uint64(max(0, now-st.T)) / 1000)
	if arrived != 0 {
		s.lat.arrival.Record(uint64(max(0, arrived-st.T)) / 1000)
	}
	idx := st.Seq / s.topics
	word, bit := idx/64, uint64(1)<<(idx%64)
	if s.seen[word]&bit != 0 {
		s.duplicates++
		return true
	}
	s.seen[word] |= bit
	s.unique.Add(1)
	if int32(st.Seq) < s.lastSeq[st.Pub] {
		s.outOfOrder++
	} else {
		s.lastSeq[st.Pub] = int32(st.Seq)
	}
	return true
}

// dialer opens subscriber streams on the hubs.
type dialer struct {
	cfg     Config
	targets []target
	sources int // local addresses to spread over; 0 for the system's choice
	// reconnect, with -reconnect, is every subscriber's (subscriber.reconnect).
	reconnect func(*subscriber) bool
}

func newDialer(cfg Config, ts []target) dialer {
	sources := 0
	if allIPv4(ts) {
		sources = cfg.sourceIPs(true)
	}
	return dialer{cfg: cfg, targets: ts, sources: sources}
}

// open connects subscriber i (its index in the whole run) to its hub: it
// dials, sends the subscribe request and waits for a 200 answer and the
// stream's first bytes, all within the connect timeout.
func (d dialer) open(ctx context.Context, i int, lat latencies) (*subscriber, error) {
	hub := hubOf(i, d.cfg.Topics, len(d.targets))
	t := d.targets[hub]
	s := newSubscriber(i%d.cfg.Topics, d.cfg, lat)
	s.hub = hub
	s.reconnect = d.reconnect
	conn, chunked, first, err := dialStream(ctx, t, sourceAddr(i, d.sources), d.request(t, s.topic), d.cfg.ConnectTimeout)
	if err != nil {
		return nil, err
	}
	s.conn = conn
	s.dec.init(chunked, d.cfg.Payload+4096)
	if err := s.feed(first, time.Now().UnixNano(), 0); err != io.EOF {
		if err != nil {
			closeNow(conn)
			return nil, err
		}
		return s, nil
	}
	s.endedEarly = true // connected, and the body ended already
	return s, nil
}

// dialStream dials t from local (nil: the system's choice), sends req and
// waits for a 200 answer and the stream's first bytes, all within timeout.
// It returns the connection to read the rest of the stream from, whether
// the body is chunked, and the body bytes read so far.
func dialStream(ctx context.Context, t target, local *net.TCPAddr, req []byte, timeout time.Duration) (net.Conn, bool, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	nd := net.Dialer{LocalAddr: local, Control: bindNoPort}
	conn, err := nd.DialContext(ctx, "tcp", t.addr.String())
	if err != nil {
		return nil, false, nil, err
	}
	// The exchange's reads and writes end when ctx does.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	var c net.Conn
	chunked, first, err := exchange(ctx, t, conn, req, &c)
	if !stop() && err == nil {
		err = ctx.Err()
	}
	if err != nil {
		closeNow(c, conn)
		return nil, false, nil, err
	}
	_ = c.SetDeadline(time.Time{})
	return c, chunked, first, nil
}

// exchange sends req to t on conn, over TLS when t says so, and reads the
// answer's head and first body bytes. *c is the connection to read the
// stream from (conn, or the TLS connection over it) as soon as there is
// one, so that the caller can close it whatever happened. It returns
// whether the body is chunked and the body bytes read so far.
func exchange(ctx context.Context, t target, conn net.Conn, req []byte, c *net.Conn) (bool, []byte, error) {
	*c = conn
	if t.h2 {
		return h2Dial(ctx, t, conn, req, c)
	}
	if t.tls {
		tc := tls.Client(conn, &tls.Config{
			ServerName:         t.url.Hostname(),
			InsecureSkipVerify: true, // a loopback hub under test, often with a self-signed certificate
			NextProtos:         []string{"http/1.1"},
		})
		if err := tc.HandshakeContext(ctx); err != nil {
			return false, nil, fmt.Errorf("tls: %w", err)
		}
		*c = tc
	}
	if _, err := (*c).Write(req); err != nil {
		return false, nil, err
	}
	br := bufio.NewReaderSize(*c, 2048)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	if err != nil {
		return false, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return false, nil, statusError(resp)
	}
	// The stream's first bytes must come within the connect timeout too.
	if _, err := br.Peek(1); err != nil {
		return false, nil, fmt.Errorf("first bytes: %w", unexpected(err))
	}
	first, _ := br.Peek(br.Buffered())
	return slices.Equal(resp.TransferEncoding, []string{"chunked"}), first, nil
}

// request returns the subscribe request to t for topic k.
func (d dialer) request(t target, k int) []byte { return d.subscribeRequest(t, k, "") }

// resumeRequest returns the subscribe request to t for topic k that
// resumes after the event lastID, or from "earliest" when lastID is empty:
// the stream has read nothing, so all of the topic's history is new to it.
func (d dialer) resumeRequest(t target, k int, lastID []byte) []byte {
	if len(lastID) == 0 {
		return d.subscribeRequest(t, k, "earliest")
	}
	return d.subscribeRequest(t, k, string(lastID))
}

// subscribeRequest returns the subscribe request to t for topic k, with a
// Last-Event-ID header unless lastEventID is empty.
func (d dialer) subscribeRequest(t target, k int, lastEventID string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\nUser-Agent: ssehub-bench\r\n",
		subscribePath(d.cfg.Protocol, t.url, k), t.url.Host)
	if lastEventID != "" {
		fmt.Fprintf(&b, "Last-Event-ID: %s\r\n", lastEventID)
	}
	if d.cfg.JWT != "" && d.cfg.Protocol == ProtocolMercure {
		fmt.Fprintf(&b, "Authorization: Bearer %s\r\n", d.cfg.JWT)
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// feed decodes the stream's next bytes, read at now and arrived in the
// socket at arrived (Unix nanoseconds; 0 when unknown), accounting for each
// event. It returns io.EOF at the end of the body and an error for a
// malformed one.
func (s *subscriber) feed(raw []byte, now, arrived int64) error {
	return s.dec.feed(raw, func(data, id []byte) {
		if len(id) > 0 && s.reconnect != nil {
			s.lastID = append(s.lastID[:0], id...)
		}
		if s.receive(data, now, arrived) {
			if s.firstAt == 0 {
				s.firstAt = now
			}
			s.lastAt.Store(now)
		}
	})
}

// stop records why the stream ended, unless the run is closing the
// streams (stopping) and the error is of its doing.
func (s *subscriber) stop(err error, stopping bool) {
	if !stopping && s.reconnect != nil && s.reconnect(s) {
		return
	}
	if !stopping {
		s.err = fmt.Errorf("stream: %w", err)
	}
	s.ended.Store(true)
}

// closed returns the error to report for the end of s's connection.
func (s *subscriber) closed() error { return s.dec.closed() }

// stream is what a reader feeds: a subscriber, or a generation's stream.
type stream interface {
	// feed decodes the stream's next bytes, read at now and arrived in
	// the socket at arrived (Unix nanoseconds; 0 when unknown); an error
	// ends the stream.
	feed(raw []byte, now, arrived int64) error
	// closed returns the error to report when the connection ended.
	closed() error
	// stop records that the stream ended for err; stopping tells that the
	// run is closing the streams.
	stop(err error, stopping bool)
}

// readConn reads s's stream from conn until it ends, then closes conn: one
// goroutine per stream, for the streams the poller cannot take (TLS, or not
// Linux). stopping reports whether the run is closing the streams.
func readConn(conn net.Conn, s stream, stopping func() bool) {
	defer closeNow(conn)
	buf := make([]byte, 2048)
	for {
		n, err := conn.Read(buf)
		if n > 0 {
			if ferr := s.feed(buf[:n], time.Now().UnixNano(), 0); ferr != nil {
				s.stop(ferr, stopping())
				return
			}
		}
		if err == io.EOF {
			err = s.closed()
		}
		if err != nil {
			s.stop(err, stopping())
			return
		}
	}
}

// unexpected turns io.EOF in the middle of a body into io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// closeNow closes the first non-nil connection, with a reset rather than a
// FIN so that no TIME_WAIT is left to use up local ports run after run.
func closeNow(conns ...net.Conn) {
	for _, c := range conns {
		if c == nil {
			continue
		}
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		} else if tc, ok := c.(interface{ NetConn() net.Conn }); ok { // TLS, HTTP/2
			if raw, ok := tc.NetConn().(*net.TCPConn); ok {
				_ = raw.SetLinger(0)
			}
		}
		_ = c.Close()
		return
	}
}

// statusError describes a refused subscribe or publish request.
func statusError(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	return &httpStatusError{code: resp.StatusCode, body: string(bytes.TrimSpace(body)), retryAfter: resp.Header.Get("Retry-After")}
}

type httpStatusError struct {
	code       int
	body       string
	retryAfter string // the Retry-After header
}

func (e *httpStatusError) Error() string { return fmt.Sprintf("status %d: %s", e.code, e.body) }

// errClass names an error for the report's error counts, without the parts
// (ports, ids) that differ from one connection to the next.
func errClass(err error) string {
	var st *httpStatusError
	var op *net.OpError
	var ue *url.Error
	switch {
	case errors.As(err, &st):
		return fmt.Sprintf("status %d", st.code)
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		return "timeout or canceled"
	case errors.As(err, &ue):
		return errClass(ue.Err)
	case errors.As(err, &op):
		if ne, ok := op.Err.(net.Error); ok && ne.Timeout() {
			return op.Op + ": timeout"
		}
		return op.Op + ": " + unwrapSyscall(op.Err)
	}
	msg := err.Error()
	if len(msg) > 100 {
		msg = msg[:100]
	}
	return msg
}

// unwrapSyscall returns the innermost error's text (e.g. "connection reset
// by peer").
func unwrapSyscall(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}
