package historytest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ssehub/ssehub/internal/hub"
)

// BenchPayload is the data of the updates BenchPublish publishes: a
// typical notification of about a hundred bytes.
const BenchPayload = `{"message":"a typical notification payload of about a hundred bytes","n":12345}`

// BenchPublish publishes b.N updates through h from publishers goroutines
// (over 8 topics), each waiting for its acknowledgement, and reports
// acknowledged publishes per second.
func BenchPublish(b *testing.B, h *hub.Hub, publishers int) {
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	for p := range publishers {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				u := &hub.Update{Topics: []string{fmt.Sprint("topic-", p%8)}, Data: BenchPayload}
				if _, err := h.Publish(context.Background(), u); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "publishes/s")
}
