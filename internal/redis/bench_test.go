package redis_test

import (
	"fmt"
	"testing"

	"github.com/ssehub/ssehub/internal/history/historytest"
	"github.com/ssehub/ssehub/internal/redis"
	"github.com/ssehub/ssehub/internal/redis/redistest"
)

// BenchmarkClusterPublish measures acknowledged publishes through a node's
// hub into Redis (concurrent publishes share script calls) with 1, 16 and
// 64 concurrent publishers, while the node follows the log.
func BenchmarkClusterPublish(b *testing.B) {
	srv := redistest.Start(b)
	for _, publishers := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("publishers=%d", publishers), func(b *testing.B) {
			n := startNode(b, srv, redis.Options{Prefix: fmt.Sprint("bench", publishers), LogLength: 10000, MaxEvents: 1000})
			historytest.BenchPublish(b, n.hub, publishers)
		})
	}
}
