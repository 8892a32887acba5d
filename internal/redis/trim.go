package redis

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ssehub/ssehub/internal/hub"
)

// Trimmed reports whether retention may have dropped updates after q.After
// from the streams q reads (hub.TrimReporter): a stream that was trimmed
// now starts after the resume point (so the resume point itself, or what
// followed it, is gone), or a topic's stream expired whole while the
// resume point is older than MaxAge. Redis does not record the last entry
// trimmed, so this errs on the side of reporting a loss.
func (s *Store) Trimmed(ctx context.Context, q hub.Query) (bool, error) {
	keys := []string{s.keys.log}
	if q.Topics != nil {
		keys = keys[:0]
		for _, t := range hub.DistinctTopics(q.Topics) {
			keys = append(keys, s.keys.topic(t))
		}
	}
	for _, key := range keys {
		trimmed, err := s.trimmedAfter(ctx, key, q.After)
		if err != nil || trimmed {
			return trimmed, err
		}
	}
	return false, nil
}

func (s *Store) trimmedAfter(ctx context.Context, key string, after uint64) (bool, error) {
	info, err := s.rdb.XInfoStream(ctx, key).Result()
	if err != nil && strings.Contains(err.Error(), "no such key") {
		resumedAt := time.UnixMilli(int64(after >> seqBits))
		return s.opts.MaxAge > 0 && time.Since(resumedAt) > s.opts.MaxAge, nil
	}
	if err := s.note(err); err != nil {
		return false, fmt.Errorf("redis trim check %s: %w", key, err)
	}
	if info.EntriesAdded <= info.Length || info.Length == 0 {
		return info.EntriesAdded > 0 && info.Length == 0, nil // never trimmed, or trimmed empty
	}
	first, err := seqOf(info.FirstEntry.ID)
	if err != nil {
		return false, fmt.Errorf("redis trim check %s: %w", key, err)
	}
	return first > after, nil
}
