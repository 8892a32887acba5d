package redis

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// minMajor is the oldest Redis the store works with: 7.0 reports the
// entries ever added to a stream, which tells a trimmed one.
const minMajor = 7

// checkVersion refuses a Redis older than minMajor, naming its version.
func (s *Store) checkVersion(ctx context.Context) error {
	info, err := s.rdb.Info(ctx, "server").Result()
	if err != nil {
		return fmt.Errorf("read the server's version: %w", err)
	}
	version := infoField(info, "redis_version")
	if major, ok := majorOf(version); ok && major < minMajor {
		return fmt.Errorf("redis %s is too old: ssehub needs Redis %d.0 or later", version, minMajor)
	}
	return nil
}

// infoField returns a field of an INFO reply ("name:value" lines).
func infoField(info, name string) string {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}

// majorOf reads the major number of a version such as "7.0.15"; an
// unreadable version (a compatible server reporting something else) is
// let through.
func majorOf(version string) (int, bool) {
	major, _, _ := strings.Cut(version, ".")
	n, err := strconv.Atoi(major)
	return n, err == nil
}
