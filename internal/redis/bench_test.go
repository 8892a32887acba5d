package redis_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/redis"
	"github.com/ssehub/ssehub/internal/redis/redistest"
)

// BenchmarkClusterPublish measures acknowledged publishes through a node's
// hub into Redis (one script per publish, or per batch of concurrent ones)
// with 1, 16 and 64 concurrent publishers, while the node follows the log.
func BenchmarkClusterPublish(b *testing.B) {
	data := `{"message":"a typical notification payload of about a hundred bytes","n":12345}`
	srv := redistest.Start(b)
	for _, publishers := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("publishers=%d", publishers), func(b *testing.B) {
			n := startNode(b, srv, redis.Options{Prefix: fmt.Sprint("bench", publishers), LogLength: 10000, MaxEvents: 1000})
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ReportAllocs()
			b.ResetTimer()
			for p := range publishers {
				wg.Go(func() {
					for next.Add(1) <= int64(b.N) {
						u := &hub.Update{Topics: []string{fmt.Sprint("topic-", p%8)}, Data: data}
						if _, err := n.hub.Publish(context.Background(), u); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "publishes/s")
		})
	}
}
