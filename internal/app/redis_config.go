package app

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/ssehub/ssehub/internal/redis"
	"github.com/ssehub/ssehub/internal/webhook"
)

// RedisConfig switches a node to the Redis engine, sharing history, ids
// and fan-out with the other nodes on the same Redis and prefix.
type RedisConfig struct {
	URL       string // redis://host:port/db; empty runs a single node
	Prefix    string // starts every key this cluster uses
	LogLength int    // entries of the shared log kept in Redis
	// Replicas must have each commit before its publishes are answered
	// (0: the primary is enough), within ReplicaTimeout.
	Replicas       int
	ReplicaTimeout time.Duration
	// NodeTimeout is how long a node may fail to renew its lease before
	// the others presume it dead (and, with webhooks, end its subscribers).
	NodeTimeout time.Duration
}

// DefaultRedis runs a single node; the other values apply once URL is set.
func DefaultRedis() RedisConfig {
	return RedisConfig{Prefix: redis.DefaultPrefix, LogLength: redis.DefaultLogLength, ReplicaTimeout: redis.DefaultReplicaTimeout,
		NodeTimeout: webhook.DefaultNodeTimeout}
}

func redisFlags(fs *flag.FlagSet, c *RedisConfig) {
	fs.StringVar(&c.URL, "redis", c.URL, "Redis URL (redis://[user:pass@]host:port/db, rediss:// for TLS; Sentinel: the sentinels' host:port with ?master_name=NAME&addr=host2:port) of a cluster: every node on the same Redis and prefix shares history, ids and fan-out; replaces -data-dir")
	fs.StringVar(&c.Prefix, "redis-prefix", c.Prefix, "prefix of every Redis key, so several clusters can share one Redis")
	fs.IntVar(&c.LogLength, "redis-log-length", c.LogLength, "entries of the shared log kept in Redis: how far a node may fall behind and how far back a wildcard subscription can resume")
	fs.IntVar(&c.Replicas, "redis-replicas", c.Replicas, "answer a publish only once this many Redis replicas have it (WAIT), so that a failover cannot take back an acknowledged update; 0: once the primary has it")
	fs.DurationVar(&c.ReplicaTimeout, "redis-replica-timeout", c.ReplicaTimeout, "how long a publish waits for -redis-replicas (at most 2s); past it the publish answers 503, though the update is stored and delivered")
	fs.DurationVar(&c.NodeTimeout, "redis-node-timeout", c.NodeTimeout, "a node that has not renewed its lease in Redis for this long (it renews every third of it) is presumed dead: with webhooks, the others send its subscribers' subscription.ended and the topics vacated (at least 1s)")
}

// envAliases names the environment variables that are not SSEHUB_ and the
// flag's name.
var envAliases = map[string]string{"redis": "SSEHUB_REDIS_URL"}

func (c RedisConfig) validate() error {
	if c.URL == "" {
		return nil
	}
	if err := redis.CheckURL(c.URL); err != nil {
		return fmt.Errorf("-redis %q: %w", c.URL, err)
	}
	if c.Prefix == "" {
		return fmt.Errorf("-redis-prefix must not be empty")
	}
	if c.LogLength <= 0 {
		return fmt.Errorf("-redis-log-length must be positive")
	}
	if c.Replicas < 0 {
		return fmt.Errorf("-redis-replicas must not be negative")
	}
	if c.NodeTimeout < time.Second {
		return fmt.Errorf("-redis-node-timeout %v: must be at least 1s", c.NodeTimeout)
	}
	if c.ReplicaTimeout <= 0 || c.ReplicaTimeout > redis.MaxReplicaTimeout {
		return fmt.Errorf("-redis-replica-timeout %v: must be above 0 and at most %v", c.ReplicaTimeout, redis.MaxReplicaTimeout)
	}
	return nil
}

// redisTimeout bounds connecting to Redis at startup.
const redisTimeout = 10 * time.Second

// openRedis connects a node to its cluster's Redis.
func openRedis(cfg Config, log *slog.Logger) (*redis.Store, error) {
	ctx, cancel := context.WithTimeout(context.Background(), redisTimeout)
	defer cancel()
	st, err := redis.Open(ctx, redis.Options{
		URL: cfg.Redis.URL, Prefix: cfg.Redis.Prefix, LogLength: cfg.Redis.LogLength,
		MaxEvents: cfg.HistoryEvents, MaxAge: cfg.HistoryMaxAge, Logger: log,
		Replicas: cfg.Redis.Replicas, ReplicaTimeout: cfg.Redis.ReplicaTimeout,
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	if cfg.DataDir != "" && cfg.DataDir != DefaultConfig().DataDir {
		log.Warn("-data-dir is ignored with -redis: the history lives in Redis", "data-dir", cfg.DataDir)
	}
	log.Info("cluster mode: history, ids and fan-out shared through Redis",
		"prefix", cfg.Redis.Prefix, "epoch", st.Epoch())
	return st, nil
}
