package loadtest

import (
	"io"
	"reflect"
	"testing"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/redis/redistest"
)

// TestRunCluster runs the tool against two ssehub nodes sharing a real
// redis-server: every event, published through either node, reaches every
// subscriber of its topic on both nodes once, in order.
func TestRunCluster(t *testing.T) {
	tests := []struct {
		name                      string
		topics, publishers, procs int
	}{
		{"one topic, one process", 1, 4, 1},
		{"three topics, two child processes", 3, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := redistest.Start(t)
			node := func(c *app.Config) { c.Redis.URL = srv.URL() }
			cfg := testConfig(startHub(t, node), startHub(t, node))
			cfg.Subscribers, cfg.Events = 60, 300
			cfg.Topics, cfg.Publishers, cfg.Procs = tt.topics, tt.publishers, tt.procs
			res, err := Run(t.Context(), cfg, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			want := expectedDeliveries(cfg)
			if res.Hubs != 2 || !reflect.DeepEqual(res.ConnByHub, []int{30, 30}) || res.Failed != 0 || res.StreamErrors != 0 ||
				res.Published != 300 || res.PublishErrors != 0 {
				t.Fatalf("hubs %d, connections by hub %v, failed %d, stream errors %d, published %d, publish errors %d; errors %v",
					res.Hubs, res.ConnByHub, res.Failed, res.StreamErrors, res.Published, res.PublishErrors, res.Errors)
			}
			if res.Lost != 0 || res.Duplicates != 0 || res.OutOfOrder != 0 || res.Delivered != want || res.Expected != want ||
				!reflect.DeepEqual(res.LostByHub, []int64{0, 0}) {
				t.Errorf("delivered %d of %d expected (want %d): lost %d %v, duplicates %d, out of order %d",
					res.Delivered, res.Expected, want, res.Lost, res.LostByHub, res.Duplicates, res.OutOfOrder)
			}
			if res.TimedOut || res.LatencyP50ms <= 0 {
				t.Errorf("timed out %v, p50 %v ms", res.TimedOut, res.LatencyP50ms)
			}
		})
	}
}
