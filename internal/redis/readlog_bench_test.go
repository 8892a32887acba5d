package redis

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/redis/redistest"
)

// BenchmarkReadLog measures what a follower's read costs Redis: a batch
// of 1, 4 or 16 entries read with their payloads, the topic guessed (one
// round trip) or not (two), against one XREAD of the same entries had the
// log held the payloads (as before the payloads were stored once). It
// reports Redis's own time per read (INFO commandstats) as
// redis-µs/read.
func BenchmarkReadLog(b *testing.B) {
	srv := redistest.Start(b)
	ctx := context.Background()
	s, err := Open(ctx, Options{URL: srv.URL()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var us []*hub.Update
	for i := range 1024 {
		us = append(us, &hub.Update{Topics: []string{"t"}, Data: strings.Repeat("x", 100) + strconv.Itoa(i)})
	}
	if err := s.Add(ctx, us); err != nil {
		b.Fatal(err)
	}
	copyLog(b, s) // ssehub:full: the log with its payloads, as XREAD would read it
	for _, n := range []int{1, 4, 16} {
		for name, guess := range map[string][]string{"guessed": {"t"}, "unguessed": nil} {
			b.Run(fmt.Sprintf("%s/batch=%d", name, n), func(b *testing.B) {
				resetStats(b, s)
				for i := range b.N {
					at := entryID(us[(i*n)%(1024-n)].Seq)
					es, _, err := s.readLog(ctx, logRead{start: "(" + at, end: "+", count: n, guess: guess, wake: at})
					if err != nil || len(es) != n || es[0].gone {
						b.Fatal(len(es), err)
					}
				}
				b.ReportMetric(redisMicros(b, s)/float64(b.N), "redis-µs/read")
			})
		}
		b.Run(fmt.Sprintf("payload-in-log/batch=%d", n), func(b *testing.B) {
			resetStats(b, s)
			for i := range b.N {
				at := us[(i*n)%(1024-n)].Seq
				if err := s.rdb.XRead(ctx, &goredis.XReadArgs{Streams: []string{"ssehub:full", entryID(at)}, Count: int64(n), Block: time.Second}).Err(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(redisMicros(b, s)/float64(b.N), "redis-µs/read")
		})
	}
}

func copyLog(b *testing.B, s *Store) {
	ctx := context.Background()
	es, _, err := s.readLog(ctx, logRead{start: "-", end: "+", count: 2000})
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range es {
		if err := s.rdb.XAdd(ctx, &goredis.XAddArgs{Stream: "ssehub:full", ID: e.id, Values: []any{"e", e.epoch, "c", e.count, "u", e.payload}}).Err(); err != nil {
			b.Fatal(err)
		}
	}
}

func resetStats(b *testing.B, s *Store) {
	if err := s.rdb.ConfigResetStat(context.Background()).Err(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
}

// redisMicros reads the microseconds Redis spent in XREAD and XRANGE
// since the reset.
func redisMicros(b *testing.B, s *Store) float64 {
	b.StopTimer()
	info, err := s.rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		b.Fatal(err)
	}
	var sum float64
	for _, cmd := range []string{"xread", "xrange"} {
		_, rest, _ := strings.Cut(infoField(info, "cmdstat_"+cmd), "usec=")
		usec, _, _ := strings.Cut(rest, ",")
		f, _ := strconv.ParseFloat(usec, 64)
		sum += f
	}
	return sum
}
