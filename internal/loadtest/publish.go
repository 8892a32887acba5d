package loadtest

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// publishTimeout bounds one publish request.
const publishTimeout = 10 * time.Second

// publishStats is what the publishers did.
type publishStats struct {
	Published int64   // acknowledged with 200
	Errors    int64   // refused or failed
	PerTopic  []int64 // acknowledged, by topic
	First     time.Time
	Last      time.Time  // the last answer
	RoundTrip *Histogram // request → answer of acknowledged publishes, µs
	Kinds     map[string]int
}

func newPublishStats(topics int) publishStats {
	return publishStats{PerTopic: make([]int64, topics), RoundTrip: NewHistogram(), Kinds: map[string]int{}}
}

func (p *publishStats) merge(o publishStats) {
	p.Published += o.Published
	p.Errors += o.Errors
	for i, n := range o.PerTopic {
		p.PerTopic[i] += n
	}
	if !o.First.IsZero() && (p.First.IsZero() || o.First.Before(p.First)) {
		p.First = o.First
	}
	if o.Last.After(p.Last) {
		p.Last = o.Last
	}
	p.RoundTrip.Merge(o.RoundTrip)
	for k, n := range o.Kinds {
		addErrors(p.Kinds, k, n)
	}
}

// publisher sends events to the hubs, each event to one hub: round-robin
// as hubOf says.
type publisher struct {
	cfg     Config
	targets []target
	clients []*http.Client // one per target
}

func newPublisher(cfg Config, ts []target) *publisher {
	p := &publisher{cfg: cfg, targets: ts}
	for _, t := range ts {
		p.clients = append(p.clients, newClient(t, cfg.Publishers))
	}
	return p
}

// newClient returns an HTTP client that only ever dials t's checked address.
func newClient(t target, conns int) *http.Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", t.addr.String()) // never anywhere but the checked address
		},
		MaxIdleConnsPerHost: conns,
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true}, // a loopback hub under test
		DisableCompression:  true,
		ForceAttemptHTTP2:   t.h2, // with a TLS configuration of its own, only when asked
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       publishTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// via is how many of the hubs, from the first, take publishes.
func (p *publisher) via() int {
	if p.cfg.PublishVia > 0 {
		return p.cfg.PublishVia
	}
	return len(p.targets)
}

// run publishes the run's events: publisher p sends events p, p+P, p+2P, …
// one at a time, each at its time on the schedule when a rate is set.
func (p *publisher) run(ctx context.Context) publishStats {
	total := newPublishStats(p.cfg.Topics)
	start := time.Now()
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for pub := range p.cfg.Publishers {
		wg.Go(func() {
			st := p.loop(ctx, pub, start)
			mu.Lock()
			total.merge(st)
			mu.Unlock()
		})
	}
	wg.Wait()
	for _, c := range p.clients {
		c.CloseIdleConnections()
	}
	return total
}

// loop is publisher pub's sequence of events.
func (p *publisher) loop(ctx context.Context, pub int, start time.Time) publishStats {
	st := newPublishStats(p.cfg.Topics)
	var data []byte
	for seq := pub; seq < p.cfg.Events; seq += p.cfg.Publishers {
		if p.cfg.Rate > 0 && !sleepUntil(ctx, start.Add(time.Duration(float64(seq)/p.cfg.Rate*float64(time.Second)))) {
			break
		}
		if ctx.Err() != nil {
			break
		}
		now := time.Now()
		if st.First.IsZero() {
			st.First = now
		}
		k := seq % p.cfg.Topics
		data = appendData(data[:0], stamp{T: now.UnixNano(), Pub: pub, Seq: seq}, p.cfg.Payload)
		hub := hubOf(seq, p.cfg.Topics, p.via())
		err := p.send(ctx, hub, topic(k), string(data))
		st.Last = time.Now()
		if err != nil {
			st.Errors++
			addError(st.Kinds, hubKind(p.targets, hub, "publish: "+errClass(err)))
			continue
		}
		st.Published++
		st.PerTopic[k]++
		st.RoundTrip.Record(uint64(st.Last.Sub(now).Microseconds()))
	}
	return st
}

// send publishes one event to hub: a Mercure form, or a Centrifugo API call.
func (p *publisher) send(ctx context.Context, hub int, topic, data string) error {
	target, ctype, body, header, key := publishRequest(p.cfg.Protocol, p.targets[hub].url, topic, data, p.cfg.JWT)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", ctype)
	if key != "" {
		req.Header.Set(header, key)
	}
	resp, err := p.clients[hub].Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return statusError(resp)
	}
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	return answerError(p.cfg.Protocol, answer)
}

// sleepUntil waits until t; it reports false if ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}
