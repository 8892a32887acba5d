package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// genRun is a generations run under way: it starts the generations and
// follows their streams.
type genRun struct {
	cfg     Config
	t       target
	client  *http.Client // the start requests'
	sources int          // local addresses the streams dial from
	began   int64        // Unix nanoseconds the run began: names its chats
	shards  []genShard
	ends    atomic.Int64 // streams ended
	opened  atomic.Int64 // streams being followed or ended
	// peakRunning is the most streams followed at once, as sampled.
	peakRunning atomic.Int64

	stopping atomic.Bool
	readers  sync.WaitGroup // the pollers and the goroutine readers
	pollers  []*poller

	mu      sync.Mutex
	streams []*genStream // every started generation's
	starts  startStats
}

// startStats counts the start requests and their answers.
type startStats struct {
	requested  int
	started    int            // answered 201
	refused    map[string]int // answered another status, by status
	retryAfter int            // answered 429 with Retry-After
	roundTrip  *Histogram     // start request → 201, µs
	errors     map[string]int // failures by kind, refusals included
}

func newGenRun(cfg Config, t target) *genRun {
	g := &genRun{cfg: cfg, t: t, client: newClient(t, cfg.Gen.Starters), shards: newGenShards(), began: time.Now().UnixNano()}
	if t.addr.Addr().Is4() {
		g.sources = max(1, ceilDiv(cfg.Gen.Count, ConnsPerSource))
	}
	g.starts = startStats{refused: map[string]int{}, roundTrip: NewHistogram(), errors: map[string]int{}}
	for range runtime.GOMAXPROCS(0) {
		p, err := newPoller()
		if err != nil || cfg.NoPoll {
			break
		}
		g.pollers = append(g.pollers, p)
		g.readers.Go(func() { p.run(g.stopping.Load) })
	}
	return g
}

// startAll starts generation i at began + i × ramp / count, with at most
// Starters starts under way; it returns when all are started or ctx ends.
func (g *genRun) startAll(ctx context.Context, began time.Time) {
	gc := g.cfg.Gen
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(gc.Starters, gc.Count) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= gc.Count || !sleepUntil(ctx, began.Add(gc.Ramp*time.Duration(i)/time.Duration(gc.Count))) {
					return
				}
				g.startOne(ctx, i)
			}
		})
	}
	wg.Wait()
	g.client.CloseIdleConnections()
}

// startOne starts generation i and follows its stream.
func (g *genRun) startOne(ctx context.Context, i int) {
	switch g.cfg.Gen.Path {
	case GenPathResponses:
		g.startResponse(ctx, i)
		return
	case GenPathAISDK:
		g.startChat(ctx, i)
		return
	}
	sent := time.Now()
	eventsURL, err := g.start(ctx, i)
	if s := g.counted(i, sent, err, nil); s != nil {
		g.follow(ctx, i, s, eventsURL)
	}
}

// counted counts start i, sent at sent, which failed with err or
// started: then it returns the new stream, prepared by prepare (if not
// nil) before any reader sees it.
func (g *genRun) counted(i int, sent time.Time, err error, prepare func(*genStream)) *genStream {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.starts.requested++
	if err != nil {
		g.refuse(err)
		return nil
	}
	g.starts.started++
	g.starts.roundTrip.Record(uint64(time.Since(sent).Microseconds()))
	s := newGenStream(g.cfg.Gen, sent.UnixNano(), g.shards[i%len(g.shards)], &g.ends)
	if prepare != nil {
		prepare(s)
	}
	g.streams = append(g.streams, s)
	g.opened.Add(1)
	return s
}

// refuse counts a start that failed; g.mu is held.
func (g *genRun) refuse(err error) {
	var st *httpStatusError
	if errors.As(err, &st) {
		g.starts.refused[strconv.Itoa(st.code)]++
		if st.code == http.StatusTooManyRequests && st.retryAfter != "" {
			g.starts.retryAfter++
		}
	}
	addError(g.starts.errors, "start: "+errClass(err))
}

// start sends generation i's start request and returns the URL of its
// events. This is the place of the other protocols (-gen-path).
func (g *genRun) start(ctx context.Context, i int) (*url.URL, error) {
	msgs := []map[string]string{{"role": "user", "content": g.cfg.Gen.Prompt}}
	body := map[string]any{"messages": msgs, "seed": i}
	if g.cfg.Gen.MaxTokens > 0 {
		body["max_tokens"] = g.cfg.Gen.MaxTokens
	}
	b, _ := json.Marshal(body) // strings and numbers always encode
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.t.url.ResolveReference(&url.URL{Path: "/llm/generations"}).String(), bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if g.cfg.JWT != "" {
		req.Header.Set("Authorization", "Bearer "+g.cfg.JWT)
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return nil, statusError(resp)
	}
	var answer struct {
		EventsURL string `json:"events_url"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&answer); err != nil {
		return nil, fmt.Errorf("start answer: %w", err)
	}
	u, err := url.Parse(answer.EventsURL)
	if err != nil || answer.EventsURL == "" {
		return nil, fmt.Errorf("start answer: events_url %q", answer.EventsURL)
	}
	return g.t.url.ResolveReference(u), nil
}

// follow opens generation i's stream at events and hands it to a reader;
// a stream that cannot be opened counts as broken.
func (g *genRun) follow(ctx context.Context, i int, s *genStream, events *url.URL) {
	conn, chunked, first, err := dialStream(ctx, g.t, sourceAddr(i, g.sources), g.request(events), g.cfg.ConnectTimeout)
	if err != nil {
		s.stop(fmt.Errorf("open: %w", err), false)
		return
	}
	g.read(i, s, conn, chunked, first)
}

// read hands generation i's open stream to a reader, after its first
// bytes.
func (g *genRun) read(i int, s *genStream, conn net.Conn, chunked bool, first []byte) {
	s.dec.init(chunked, 64<<10)
	if err := s.feed(first, time.Now().UnixNano(), 0); err != nil {
		closeNow(conn)
		s.stop(err, false)
		return
	}
	if len(g.pollers) > 0 && g.pollers[i%len(g.pollers)].take(conn, s) == nil {
		return
	}
	g.mu.Lock()
	s.conn = conn
	g.mu.Unlock()
	g.readers.Go(func() { readConn(conn, s, g.stopping.Load) })
}

// request returns the GET request of a generation's events.
func (g *genRun) request(events *url.URL) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\nUser-Agent: ssehub-bench\r\n",
		events.RequestURI(), g.t.url.Host)
	b.WriteString(g.authorization() + "\r\n")
	return b.Bytes()
}

// authorization is the request header line of the tool's token, if any.
func (g *genRun) authorization() string {
	if g.cfg.JWT == "" {
		return ""
	}
	return "Authorization: Bearer " + g.cfg.JWT + "\r\n"
}

// close ends the streams still open and waits for the readers.
func (g *genRun) close() {
	g.stopping.Store(true)
	for _, p := range g.pollers {
		p.close()
	}
	g.mu.Lock()
	for _, s := range g.streams {
		if s.conn != nil {
			closeNow(s.conn)
		}
	}
	g.mu.Unlock()
	g.readers.Wait()
}
