package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/ssehub/ssehub/internal/hub"
)

// StatsTopic is the reserved topic of the hub's stats feed. Subscribe to it
// by its exact name: wildcards never match reserved topics.
const StatsTopic = hub.ReservedPrefix + "stats"

// Defaults for FeedConfig.
const (
	DefaultFeedInterval = time.Second
	DefaultFeedTopics   = 10
)

// FeedConfig configures a Feed. The zero value takes the defaults.
type FeedConfig struct {
	Interval time.Duration // between snapshots; default one second
	Topics   int           // busiest topics in a snapshot; default DefaultFeedTopics
	// Private publishes the snapshots as private updates, so that only
	// subscribers whose token allows StatsTopic see the topic names. Set
	// it whenever subscribers are authorized by tokens.
	Private bool
	Logger  *slog.Logger
}

// Snapshot is one event of the stats feed, its data as JSON.
type Snapshot struct {
	Time          time.Time       `json:"time"`
	Interval      float64         `json:"interval"`             // seconds the rates are measured over
	Connections   int             `json:"connections"`          // event streams open
	Subscribers   int             `json:"subscribers"`          // subscriptions in the hub
	Published     uint64          `json:"published"`            // updates published since start
	Delivered     uint64          `json:"delivered"`            // updates written to streams since start
	PublishedRate float64         `json:"published_per_second"` // events in
	DeliveredRate float64         `json:"delivered_per_second"` // events out
	SlowCut       uint64          `json:"slow_cut"`             // slow subscribers cut off since start
	Topics        []TopicSnapshot `json:"topics"`               // the busiest topics
	OtherTopics   int             `json:"other_subscriptions"`  // subscriptions to the other topics
	TopicCount    int             `json:"topic_count"`          // topics with subscriptions
	LLMRunning    int             `json:"llm_running"`          // generations running
	// LLMLatenessP99 is the p99 of how late token events were published
	// over the last seconds, in milliseconds (see llm.Stats.LatenessP99).
	LLMLatenessP99 float64 `json:"llm_token_lateness_p99_ms"`
	// LLMLimit is how many generations admission lets run at once now
	// (see llm.Stats.Limit); 0 with admission off.
	LLMLimit int `json:"llm_admission_limit"`
	// Webhooks are the webhooks' queue on this node; absent when they
	// are off.
	Webhooks *WebhookSnapshot `json:"webhooks,omitempty"`
}

// WebhookSnapshot is the webhooks' part of a Snapshot.
type WebhookSnapshot struct {
	Queued  int    `json:"queued"`  // events waiting on this node
	Failing bool   `json:"failing"` // the last request to the application failed
	Dropped uint64 `json:"dropped"` // events lost since start: dropped from a full queue or given up
}

// TopicSnapshot is one topic of a Snapshot.
type TopicSnapshot struct {
	Topic       string `json:"topic"`
	Subscribers int    `json:"subscribers"`
}

// Feed publishes a Snapshot to StatsTopic once per interval, through the
// hub, as an internal update: it is not stored in history, not counted as
// published or delivered, and reaches only subscriptions naming the topic
// exactly. While nobody listens it reads a few counters per tick and
// publishes nothing.
type Feed struct {
	cfg FeedConfig
	src Sources
}

// NewFeed returns a feed of src's activity.
func NewFeed(cfg FeedConfig, src Sources) *Feed {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultFeedInterval
	}
	if cfg.Topics <= 0 {
		cfg.Topics = DefaultFeedTopics
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Feed{cfg: cfg, src: src}
}

// counts are the totals a rate is computed from.
type counts struct {
	at                   time.Time
	published, delivered uint64
}

func (f *Feed) counts(now time.Time) counts {
	c := counts{at: now, published: f.src.Hub.Stats().Published}
	if f.src.Streams != nil {
		c.delivered = f.src.Streams.StreamStats().Delivered
	}
	return c
}

// Run publishes snapshots until ctx is done. Its owner runs it in a
// goroutine, cancels ctx on shutdown and waits for it to return.
func (f *Feed) Run(ctx context.Context) {
	t := time.NewTicker(f.cfg.Interval)
	defer t.Stop()
	prev := f.counts(time.Now())
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			prev = f.tick(ctx, prev, now)
		}
	}
}

// tick publishes the snapshot of now if anyone listens, and returns the
// counts the next tick's rates start from.
func (f *Feed) tick(ctx context.Context, prev counts, now time.Time) counts {
	cur := f.counts(now)
	if f.src.Hub.Listeners(StatsTopic) > 0 {
		f.publish(ctx, f.snapshot(prev, cur))
	}
	return cur
}

// snapshot describes the hub now, with the rates since prev.
func (f *Feed) snapshot(prev, cur counts) Snapshot {
	st := f.src.Hub.Stats()
	secs := cur.at.Sub(prev.at).Seconds()
	s := Snapshot{
		Time: cur.at.UTC(), Interval: secs, Subscribers: st.Subscribers,
		Published: cur.published, Delivered: cur.delivered, SlowCut: st.SlowCut,
	}
	if secs > 0 {
		s.PublishedRate = float64(cur.published-prev.published) / secs
		s.DeliveredRate = float64(cur.delivered-prev.delivered) / secs
	}
	if f.src.Streams != nil {
		s.Connections = f.src.Streams.StreamStats().Open
	}
	if f.src.LLM != nil {
		ls := f.src.LLM.Stats()
		s.LLMRunning, s.LLMLatenessP99, s.LLMLimit = ls.Running, float64(ls.LatenessP99)/float64(time.Millisecond), ls.Limit
	}
	if f.src.Webhooks != nil {
		ws := f.src.Webhooks.Stats()
		s.Webhooks = &WebhookSnapshot{Queued: ws.Queued, Failing: ws.Failing, Dropped: ws.Dropped + ws.Expired}
	}
	tc := f.src.Hub.TopTopics(f.cfg.Topics)
	s.Topics = make([]TopicSnapshot, len(tc.Top))
	for i, t := range tc.Top {
		s.Topics[i] = TopicSnapshot{Topic: t.Topic, Subscribers: t.Subscribers}
	}
	s.OtherTopics, s.TopicCount = tc.Other, tc.Topics
	return s
}

func (f *Feed) publish(ctx context.Context, s Snapshot) {
	data, err := json.Marshal(s)
	if err != nil {
		f.cfg.Logger.Error("encode stats snapshot", slog.Any("err", err)) // plain values: unreachable
		return
	}
	u := &hub.Update{Topics: []string{StatsTopic}, Type: "stats", Data: string(data), Private: f.cfg.Private, Internal: true}
	if _, err := f.src.Hub.Publish(ctx, u); err != nil && !errors.Is(err, hub.ErrClosed) && ctx.Err() == nil {
		f.cfg.Logger.Warn("publish stats snapshot", slog.Any("err", err))
	}
}
