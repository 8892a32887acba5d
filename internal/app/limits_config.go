package app

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"strings"

	"github.com/ssehub/ssehub/internal/httpapi"
	"github.com/ssehub/ssehub/internal/hub"
)

// LimitConfig bounds what clients may use. Zero means unlimited, except
// MaxConnections, where 0 means "as many as the open-file limit allows".
type LimitConfig struct {
	MaxConnections      int     // open streams; 0: the process's open-file limit less a reserve
	MaxConnectionsPerIP int     // open streams per client address
	PublishRate         float64 // publishes per second per client address
	PublishBurst        int     // publishes a client may make at once above the rate
	MaxTopics           int     // topic selectors per subscription
	MaxUpdateTopics     int     // topics per published update
	MaxTopicLength      int     // bytes of a topic or selector
	MaxEventBytes       int     // bytes of an event's data
	// TrustedProxies lists, comma-separated, the addresses or CIDR ranges
	// of reverse proxies whose X-Forwarded-For names the client.
	TrustedProxies string
}

// DefaultLimits are the limits ssehub runs with out of the box.
func DefaultLimits() LimitConfig {
	return LimitConfig{
		MaxConnectionsPerIP: 1000,
		PublishRate:         5000,
		PublishBurst:        10000,
		MaxTopics:           100,
		MaxUpdateTopics:     100,
		MaxTopicLength:      1024,
		MaxEventBytes:       512 << 10,
	}
}

// fdReserve is the open files kept for everything but streams: the
// listener, the history file, upstream connections, logs.
const fdReserve = 128

func limitFlags(fs *flag.FlagSet, l *LimitConfig) {
	fs.IntVar(&l.MaxConnections, "max-connections", l.MaxConnections, "open streams in all (more get 503); 0 means as many as the open-file limit allows")
	fs.IntVar(&l.MaxConnectionsPerIP, "max-connections-per-ip", l.MaxConnectionsPerIP, "open streams per client address, or IPv6 /64 (more get 429); 0 for no limit (behind a proxy every client has its address)")
	fs.Float64Var(&l.PublishRate, "publish-rate", l.PublishRate, "publishes per second per client address, or IPv6 /64 (more get 429 with Retry-After); 0 for no limit")
	fs.IntVar(&l.PublishBurst, "publish-burst", l.PublishBurst, "publishes a client may make at once above -publish-rate")
	fs.IntVar(&l.MaxTopics, "max-topics", l.MaxTopics, "topic selectors per subscription (more get 400)")
	fs.IntVar(&l.MaxUpdateTopics, "max-update-topics", l.MaxUpdateTopics, fmt.Sprintf("topics per published update, form or JSON (more get 400; at most %d)", hub.MaxUpdateTopics))
	fs.IntVar(&l.MaxTopicLength, "max-topic-length", l.MaxTopicLength, fmt.Sprintf("bytes of a topic or selector (longer get 400; at most %d)", hub.MaxTopicLength))
	fs.IntVar(&l.MaxEventBytes, "max-event-bytes", l.MaxEventBytes, "bytes of an event's data (more get 413)")
	fs.StringVar(&l.TrustedProxies, "trusted-proxies", l.TrustedProxies, "comma-separated addresses or CIDR ranges of reverse proxies (e.g. 127.0.0.1,10.0.0.0/8): for requests from them the client is the last address of X-Forwarded-For that is not a proxy, for the per-client limits, the open mode's loopback check and the logs; empty trusts no header")
}

// validate checks the limits.
func (l LimitConfig) validate() error {
	var errs []error
	for name, v := range map[string]float64{
		"max-connections": float64(l.MaxConnections), "max-connections-per-ip": float64(l.MaxConnectionsPerIP),
		"publish-rate": l.PublishRate, "publish-burst": float64(l.PublishBurst), "max-topics": float64(l.MaxTopics), "max-update-topics": float64(l.MaxUpdateTopics),
		"max-topic-length": float64(l.MaxTopicLength), "max-event-bytes": float64(l.MaxEventBytes),
	} {
		if v < 0 {
			errs = append(errs, fmt.Errorf("-%s must not be negative", name))
		}
	}
	if l.MaxUpdateTopics > hub.MaxUpdateTopics {
		errs = append(errs, fmt.Errorf("-max-update-topics must be at most %d", hub.MaxUpdateTopics))
	}
	if l.MaxTopicLength > hub.MaxTopicLength {
		errs = append(errs, fmt.Errorf("-max-topic-length must be at most %d", hub.MaxTopicLength))
	}
	if _, err := parsePrefixes(l.TrustedProxies); err != nil {
		errs = append(errs, fmt.Errorf("-trusted-proxies: %w", err))
	}
	return errors.Join(errs...)
}

// api converts the limits for the HTTP layer, resolving MaxConnections 0
// from the open-file limit.
func (l LimitConfig) api() httpapi.Limits {
	maxConns := l.MaxConnections
	if maxConns == 0 {
		if n, ok := openFileLimit(); ok {
			maxConns = streamsFor(n)
		}
	}
	return httpapi.Limits{
		MaxConnections: maxConns, MaxConnectionsPerIP: l.MaxConnectionsPerIP,
		PublishRate: l.PublishRate, PublishBurst: l.PublishBurst, MaxTopics: l.MaxTopics, MaxUpdateTopics: l.MaxUpdateTopics,
		MaxTopicLength: l.MaxTopicLength, MaxEventBytes: l.MaxEventBytes,
	}
}

// streamsFor is how many streams a process may hold with n open files:
// all but fdReserve of them, or half of a limit below twice the reserve.
func streamsFor(n uint64) int {
	return int(min(n-min(fdReserve, n/2), 1<<30))
}

// parsePrefixes parses a comma-separated list of addresses (each its own
// range) and CIDR ranges.
func parsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range strings.Split(list, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		if p, err := netip.ParsePrefix(item); err == nil {
			out = append(out, p.Masked())
			continue
		}
		addr, err := netip.ParseAddr(item)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a CIDR range such as 10.0.0.0/8", item)
		}
		out = append(out, netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen()))
	}
	return out, nil
}

// trustedProxies is TrustedProxies parsed; validate has checked it.
func (l LimitConfig) trustedProxies() []netip.Prefix {
	p, _ := parsePrefixes(l.TrustedProxies)
	return p
}
