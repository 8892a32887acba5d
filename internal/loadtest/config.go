// Package loadtest is ssehub-bench's engine: it opens many subscriber
// streams on a Mercure-protocol hub (ssehub or another), publishes timed
// events, and measures delivery, loss, latency and the hub's memory and CPU.
// Subscribers may be spread over child processes of the same binary, each
// with its own file-descriptor budget; they report to the parent as JSON.
//
// It only ever talks to loopback addresses, and every run is bounded in
// events and in time.
package loadtest

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// Defaults of Config.
const (
	DefaultURL      = "http://127.0.0.1:8080/.well-known/mercure"
	DefaultPayload  = 100
	DefaultDialers  = 256
	ConnsPerProc    = 15000 // subscribers per process when Procs is automatic
	ConnsPerSource  = 20000 // subscribers per source address when SourceIPs is automatic
	maxSourceIPs    = 254   // 127.0.0.2 … 127.0.0.255
	maxPayload      = 512 << 10
	maxPublishers   = 1000
	maxSeenBytes    = 1 << 30 // memory of all subscribers' seen-sets together
	maxConnsPerProc = 19000   // the machine caps a process at 20,000 open files
	maxHubs         = 64      // URLs in -url, and pids in -server-pid
)

// Config is one run's settings; DefaultConfig gives the flags' defaults.
type Config struct {
	URLs           []string      // hub URLs (one per node of a cluster): subscribe with GET, publish with POST
	Subscribers    int           // streams to open
	Topics         int           // topics bench-0 … bench-(Topics-1), subscribers and events round-robin
	Events         int           // events to publish in all; 0 only connects (idle memory)
	Publishers     int           // concurrent publishers, each sending one event at a time
	Rate           float64       // events per second over all publishers; 0 is as fast as acknowledged
	Payload        int           // bytes of each event's data
	Procs          int           // processes holding subscribers; 0 is one per ConnsPerProc; 1 is this process
	SourceIPs      int           // local addresses 127.0.0.2… to dial from; 0 is one per ConnsPerSource
	ServerPIDs     []int         // the hubs' pids, to read their RSS and CPU from /proc; none for none
	Timeout        time.Duration // bound on the whole run
	Warmup         time.Duration // idle time after all subscribers connect, before RSS and publishing
	Drain          time.Duration // after publishing, how long without a delivery before the rest count as lost
	ConnectTimeout time.Duration // bound on one subscriber's dial, request and first bytes
	Dialers        int           // subscriber connections being set up at once (over all processes)
	JWT            string        // bearer token sent when publishing and subscribing (Centrifugo: the API key); empty for none
	Protocol       string        // ProtocolMercure or ProtocolCentrifugo
	JSON           bool          // print only the JSON line
	NoPoll         bool          // read each stream with a goroutine of its own rather than with epoll
	H2             bool          // speak HTTP/2 to https:// hubs
	Reconnect      bool          // a broken stream reconnects to the next hub with Last-Event-ID
	PublishVia     int           // publish through the first PublishVia hubs only; 0 is all
	Mode           string        // ModeFanout or ModeGenerations
	Gen            GenConfig     // the generations mode's settings

	child *childRange // set in a child process: the subscribers it serves
}

// DefaultConfig returns the settings of a run with no flags.
func DefaultConfig() Config {
	return Config{
		URLs:           []string{DefaultURL},
		Subscribers:    100,
		Topics:         1,
		Events:         1000,
		Publishers:     1,
		Payload:        DefaultPayload,
		Timeout:        120 * time.Second,
		Warmup:         2 * time.Second,
		Drain:          5 * time.Second,
		ConnectTimeout: 10 * time.Second,
		Dialers:        DefaultDialers,
		Protocol:       ProtocolMercure,
		Mode:           ModeFanout,
		Gen:            defaultGenConfig(),
	}
}

// ErrHelp is returned by ParseFlags when -h or -help was asked for.
var ErrHelp = flag.ErrHelp

// ParseFlags reads a Config from the command line; usage receives the help
// text and flag errors. getenv supplies SSEHUB_BENCH_JWT, the token's
// default (a child gets its token that way, not on its command line).
func ParseFlags(args []string, getenv func(string) string, usage io.Writer) (Config, error) {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("ssehub-bench", flag.ContinueOnError)
	fs.SetOutput(usage)
	fs.Var((*urlList)(&cfg.URLs), "url", "hub `URL` (loopback only: 127.0.0.0/8, ::1 or localhost); several URLs, comma-separated, one per node of a cluster, share the subscribers and the publishes round-robin")
	fs.IntVar(&cfg.Subscribers, "subscribers", cfg.Subscribers, "subscriber streams to open")
	fs.IntVar(&cfg.Topics, "topics", cfg.Topics, "topics bench-0…bench-K-1; subscribers and events are spread over them round-robin")
	fs.IntVar(&cfg.Events, "events", cfg.Events, "events to publish in all; 0 only connects and measures idle memory")
	fs.IntVar(&cfg.Publishers, "publishers", cfg.Publishers, "concurrent publishers, each sending one event at a time")
	fs.Float64Var(&cfg.Rate, "rate", cfg.Rate, "paced publishing: events per second over all publishers; 0 publishes as fast as the hub acknowledges")
	fs.IntVar(&cfg.Payload, "payload", cfg.Payload, "bytes of each event's data (at least the timestamp's ~50)")
	fs.IntVar(&cfg.Procs, "procs", cfg.Procs, fmt.Sprintf("processes holding subscribers; 0 picks one per %d subscribers, 1 keeps them in this process", ConnsPerProc))
	fs.IntVar(&cfg.SourceIPs, "source-ips", cfg.SourceIPs, fmt.Sprintf("local addresses 127.0.0.2…127.0.0.(N+1) subscribers dial from; 0 picks one per %d subscribers (none for an IPv6 hub)", ConnsPerSource))
	fs.Var((*pidList)(&cfg.ServerPIDs), "server-pid", "the hub's process id (`PID`), to report its RSS and CPU time from /proc; several pids, comma-separated (a cluster's nodes), are summed; 0 for none")
	fs.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "bound on the whole run; what was measured by then is printed")
	fs.DurationVar(&cfg.Warmup, "warmup", cfg.Warmup, "idle time after all subscribers connect, before reading the hub's RSS and publishing")
	fs.DurationVar(&cfg.Drain, "drain", cfg.Drain, "after publishing, how long without any delivery before missing events count as lost")
	fs.DurationVar(&cfg.ConnectTimeout, "connect-timeout", cfg.ConnectTimeout, "bound on one subscriber's dial, request and first bytes")
	fs.IntVar(&cfg.Dialers, "dialers", cfg.Dialers, "subscriber connections being set up at once")
	fs.StringVar(&cfg.JWT, "jwt", "", "bearer token for publishing and subscribing, for hubs that require one; empty takes $"+jwtEnv)
	fs.StringVar(&cfg.Protocol, "protocol", cfg.Protocol, "how to subscribe and publish: mercure (ssehub, Mercure; -url is the hub's endpoint) or centrifugo (-url is Centrifugo's root; subscribers use /connection/uni_sse with a server-side subscription, publishers /api/publish with -jwt as the API key)")
	fs.BoolVar(&cfg.JSON, "json", cfg.JSON, "print only the JSON line")
	fs.BoolVar(&cfg.Reconnect, "reconnect", cfg.Reconnect, "a subscriber whose stream breaks before the run ends reconnects to the next hub with the Last-Event-ID of the last event it read (-protocol mercure), so that a run with a node killed counts what the cluster lost, not what the kill cut")
	fs.IntVar(&cfg.PublishVia, "publish-via", cfg.PublishVia, "publish through the first N hubs of -url only (0: all), for example to kill the others mid-run")
	fs.BoolVar(&cfg.H2, "h2", cfg.H2, "speak HTTP/2 (ALPN h2) to the https:// hubs: each subscriber on a connection of its own, the publishers' requests multiplexed on theirs")
	fs.BoolVar(&cfg.NoPoll, "goroutine-readers", cfg.NoPoll, "read each stream with a goroutine of its own (as before ssehub-bench read them with epoll, one reader per CPU); TLS streams always are")
	addGenFlags(fs, &cfg)
	fs.Func(childFlag, "internal: serve subscribers FIRST…FIRST+COUNT-1 of a parent run (FIRST:COUNT)", func(s string) error {
		r, err := parseChildRange(s)
		cfg.child = &r
		return err
	})
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if cfg.JWT == "" {
		cfg.JWT = getenv(jwtEnv) // after parsing, so that -h never shows it
	}
	return cfg, cfg.Validate()
}

// Validate checks the settings, the target's loopback address included.
func (c Config) Validate() error {
	var errs []error
	check := func(bad bool, format string, a ...any) {
		if bad {
			errs = append(errs, fmt.Errorf(format, a...))
		}
	}
	errs = append(errs, c.validateHubs()...)
	errs = append(errs, c.validateGen()...)
	if err := checkProtocol(c.Protocol); err != nil {
		errs = append(errs, err)
	}
	check(c.Subscribers < 1, "-subscribers must be at least 1")
	check(c.Topics < 1, "-topics must be at least 1")
	check(c.Events < 0 || c.Events > math.MaxInt32, "-events must be between 0 and %d", math.MaxInt32)
	check(c.Publishers < 1 || c.Publishers > maxPublishers, "-publishers must be between 1 and %d", maxPublishers)
	check(c.Rate < 0, "-rate must not be negative")
	check(c.Payload < 0 || c.Payload > maxPayload, "-payload must be between 0 and %d bytes", maxPayload)
	check(c.Procs < 0, "-procs must not be negative")
	check(c.SourceIPs < 0 || c.SourceIPs > maxSourceIPs, "-source-ips must be between 0 (automatic) and %d", maxSourceIPs)
	check(c.Timeout <= 0, "-timeout must be positive")
	check(c.Warmup < 0, "-warmup must not be negative")
	check(c.Drain <= 0, "-drain must be positive")
	check(c.ConnectTimeout <= 0, "-connect-timeout must be positive")
	check(c.Dialers < 1, "-dialers must be at least 1")
	check(c.Reconnect && c.Protocol != ProtocolMercure, "-reconnect needs -protocol mercure (Last-Event-ID)")
	check(c.H2 && !allHTTPS(c.URLs), "-h2 needs https:// hubs (HTTP/2 over TLS)")
	check(c.PublishVia < 0 || c.PublishVia > len(c.URLs), "-publish-via must be between 0 (all) and the %d hubs of -url", len(c.URLs))
	if c.Subscribers >= 1 && c.Procs >= 0 {
		per := ceilDiv(c.Subscribers, c.procs())
		check(per > maxConnsPerProc, "%d subscribers in %d process(es) is %d open files each, over the %d a process may have here: raise -procs",
			c.Subscribers, c.procs(), per, maxConnsPerProc)
	}
	if c.Subscribers >= 1 && c.Topics >= 1 && c.Events >= 0 {
		seen := int64(c.Subscribers) * int64(ceilDiv(c.Events, c.Topics)+63) / 8
		check(seen > maxSeenBytes, "%d subscribers × %d events per topic need %d MiB to detect duplicates: use more -topics or fewer -events",
			c.Subscribers, ceilDiv(c.Events, c.Topics), seen>>20)
	}
	if c.child != nil {
		check(c.child.First < 0 || c.child.Count < 1 || c.child.First+c.child.Count > c.Subscribers, "-%s %d:%d is outside the run's %d subscribers",
			childFlag, c.child.First, c.child.Count, c.Subscribers)
	}
	return errors.Join(errs...)
}

// procs returns the number of processes holding subscribers.
func (c Config) procs() int {
	if c.Procs > 0 {
		return min(c.Procs, c.Subscribers)
	}
	return max(1, ceilDiv(c.Subscribers, ConnsPerProc))
}

// sourceIPs returns the number of local addresses to dial from for a hub
// at ip: none for an IPv6 hub.
func (c Config) sourceIPs(ipv4 bool) int {
	switch {
	case !ipv4:
		return 0
	case c.SourceIPs > 0:
		return c.SourceIPs
	}
	return max(1, ceilDiv(c.Subscribers, ConnsPerSource))
}

// topic returns the name of topic k.
func topic(k int) string { return fmt.Sprintf("bench-%d", k) }

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// allHTTPS reports whether every URL is an https:// one.
func allHTTPS(urls []string) bool {
	for _, u := range urls {
		if !strings.HasPrefix(u, "https://") {
			return false
		}
	}
	return true
}
