package httpapi

import (
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ssehub/ssehub/internal/httpio"
	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/subscriptions"
)

// Limits bound what clients may use. A zero field means no limit.
type Limits struct {
	MaxConnections      int     // open streams in all
	MaxConnectionsPerIP int     // open streams per client address
	PublishRate         float64 // publishes per second per client address
	PublishBurst        int     // publishes a client may make at once above the rate
	MaxTopics           int     // topic selectors in one subscription
	MaxUpdateTopics     int     // topics of one published update (the hub allows hub.MaxUpdateTopics)
	MaxTopicLength      int     // bytes of a topic or selector
	MaxEventBytes       int     // bytes of an event's data
}

// connLimiter counts open streams, in all and per client address.
type connLimiter struct {
	max, perIP int
	mu         sync.Mutex
	total      int
	byIP       map[string]int
}

// acquire takes a place for a stream from ip, or answers the status that
// refuses it: 503 when the hub is full, 429 when this client is.
func (c *connLimiter) acquire(ip string) (ok bool, status int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.max > 0 && c.total >= c.max:
		return false, http.StatusServiceUnavailable
	case c.perIP > 0 && c.byIP[ip] >= c.perIP:
		return false, http.StatusTooManyRequests
	}
	if c.byIP == nil {
		c.byIP = map[string]int{}
	}
	c.total++
	c.byIP[ip]++
	return true, 0
}

// release gives back a place taken by acquire.
func (c *connLimiter) release(ip string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total--
	if c.byIP[ip]--; c.byIP[ip] <= 0 {
		delete(c.byIP, ip)
	}
}

// open returns the number of open streams.
func (c *connLimiter) open() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

// rateLimiter is a token bucket per client address.
type rateLimiter struct {
	rate  float64
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	sweepAt int // size of the map at which idle buckets are dropped
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(rate float64, burst int) *rateLimiter {
	if burst <= 0 {
		burst = int(math.Max(1, rate))
	}
	return &rateLimiter{rate: rate, burst: float64(burst), now: time.Now, buckets: map[string]*bucket{}, sweepAt: 1024}
}

// allow takes a token for ip; when there is none it returns how long until
// there will be one.
func (l *rateLimiter) allow(ip string) (bool, time.Duration) {
	if l == nil || l.rate <= 0 {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.buckets[ip]
	if b == nil {
		l.sweep(now)
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[ip] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// sweep drops full (idle) buckets once the map has grown, so that the
// addresses of past clients do not pile up; called with l.mu held.
func (l *rateLimiter) sweep(now time.Time) {
	if len(l.buckets) < l.sweepAt {
		return
	}
	for ip, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, ip)
		}
	}
	l.sweepAt = max(1024, 2*len(l.buckets))
}

// admitStream takes a place for a stream, or answers the refusal. The
// returned function gives the place back.
func (a *API) admitStream(w http.ResponseWriter, r *http.Request) (release func(), ok bool) {
	ip := a.clientKey(r)
	ok, status := a.conns.acquire(ip)
	if !ok {
		msg := fmt.Sprintf("the hub holds its maximum of %d streams; retry later", a.cfg.Limits.MaxConnections)
		if status == http.StatusTooManyRequests {
			msg = fmt.Sprintf("this client (its address, or its IPv6 /64) already holds the maximum of %d streams", a.cfg.Limits.MaxConnectionsPerIP)
		}
		writeErr(w, r, &httpio.Error{Status: status, Msg: msg, RetryAfter: 5 * time.Second})
		return nil, false
	}
	return func() { a.conns.release(ip) }, true
}

// AdmitPublish applies the publish rate of r's client: past it, a 429
// saying when to retry.
func (a *API) AdmitPublish(r *http.Request) error {
	return a.admitPublishRate(r)
}

// ClientKey names r's client as the per-client limits count it: its IPv4
// address, or the /64 network of its IPv6 address.
func (a *API) ClientKey(r *http.Request) string { return a.clientKey(r) }

// admitPublishRate applies the publish rate of r's client.
func (a *API) admitPublishRate(r *http.Request) error {
	if ok, wait := a.rate.allow(a.clientKey(r)); !ok {
		return &httpio.Error{Status: http.StatusTooManyRequests, RetryAfter: wait,
			Msg: fmt.Sprintf("publish rate over %g per second for this client", a.cfg.Limits.PublishRate)}
	}
	return nil
}

// admitPublish applies the publish rate, answering the refusal.
func (a *API) admitPublish(w http.ResponseWriter, r *http.Request) bool {
	if err := a.AdmitPublish(r); err != nil {
		writeErr(w, r, err)
		return false
	}
	return true
}

// checkTopics applies the topic count and length limits to a subscription
// or an update, and refuses what no topic may hold: bytes that are not
// UTF-8, and NUL.
func (a *API) checkTopics(topics []string, subscribing bool) error {
	l := a.cfg.Limits
	if subscribing && l.MaxTopics > 0 && len(topics) > l.MaxTopics {
		return &httpio.Error{Status: http.StatusBadRequest, Field: "topic",
			Msg: fmt.Sprintf("%d topics: at most %d per subscription", len(topics), l.MaxTopics)}
	}
	for _, t := range topics {
		if l.MaxTopicLength > 0 && len(t) > l.MaxTopicLength {
			return &httpio.Error{Status: http.StatusBadRequest, Field: "topic",
				Msg: fmt.Sprintf("topic of %d bytes: at most %d", len(t), l.MaxTopicLength)}
		}
		if !utf8.ValidString(t) || strings.IndexByte(t, 0) >= 0 {
			return &httpio.Error{Status: http.StatusBadRequest, Field: "topic",
				Msg: fmt.Sprintf("topic %q: a topic or selector must be valid UTF-8 without NUL", t)}
		}
	}
	return nil
}

// checkUpdate applies the limits to an update to publish.
func (a *API) checkUpdate(u *hub.Update) error {
	if max := a.cfg.Limits.MaxUpdateTopics; max > 0 && len(u.Topics) > max {
		return &httpio.Error{Status: http.StatusBadRequest, Field: "topic",
			Msg: fmt.Sprintf("%d topics: at most %d per update (-max-update-topics)", len(u.Topics), max)}
	}
	if max := a.cfg.Limits.MaxEventBytes; max > 0 && len(u.Data) > max {
		return &httpio.Error{Status: http.StatusRequestEntityTooLarge, Field: "data",
			Msg: fmt.Sprintf("data of %d bytes: at most %d per event", len(u.Data), max)}
	}
	for _, t := range u.Topics {
		if subscriptions.Reserved(t) {
			return &httpio.Error{Status: http.StatusBadRequest, Field: "topic",
				Msg: fmt.Sprintf("topic %q: the topics under %s are the hub's own subscription updates", t, subscriptions.Prefix)}
		}
		for _, p := range a.cfg.HubTopics {
			if strings.HasPrefix(t, p) {
				return &httpio.Error{Status: http.StatusBadRequest, Field: "topic",
					Msg: fmt.Sprintf("topic %q: the topics under %s are the hub's own (its LLM generations'); no client publishes there", t, p)}
			}
		}
	}
	return a.checkTopics(u.Topics, false)
}
