package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Bounds of TestMaximalPublishesStallNothing.
const (
	maximalTopics  = 100 // -max-update-topics' default
	maximalUpdates = 700 // a batch of them fits the default 1 MiB body
	sideMaxLatency = 1500 * time.Millisecond
)

// TestMaximalPublishesStallNothing is a hostile publisher against the real
// binary with its durable history: batches of 700 updates of 100 topics
// each (70,000 topic index entries a publish, the most the default limits
// let through) while another client publishes one-topic updates. Each side
// publish must be acknowledged within 1.5 s, its fsync included; before
// the commit loop was bounded and linear, an update of 40,000 topics held
// every other publish for 7 s, and 100,000 for over a minute. An update of
// 101 topics is refused with 400 naming the limit.
func TestMaximalPublishesStallNothing(t *testing.T) {
	p := startBinary(t, "-data-dir", t.TempDir(), "-publish-rate", "0")
	refused := maximalBatch(1, maximalTopics+1, 0)
	resp, err := http.Post(p.base+"/.well-known/mercure", "application/json", bytes.NewReader(refused))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("an update of %d topics: %s, want 400", maximalTopics+1, resp.Status)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var side []time.Duration
	var sideErr error
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond): // a steady side publisher
			}
			start := time.Now()
			resp, err := http.PostForm(p.base+"/.well-known/mercure", url.Values{"topic": {"side"}, "data": {fmt.Sprint(i)}})
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("side publish: %s", resp.Status)
				}
			}
			if err != nil {
				sideErr = err
				return
			}
			side = append(side, time.Since(start))
		}
	})
	var maximal []time.Duration
	for b := range 4 {
		body := maximalBatch(maximalUpdates, maximalTopics, b)
		start := time.Now()
		resp, err := http.Post(p.base+"/.well-known/mercure", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("maximal batch %d (%d bytes): %s", b, len(body), resp.Status)
		}
		maximal = append(maximal, time.Since(start))
	}
	close(stop)
	wg.Wait()
	if sideErr != nil {
		t.Fatal(sideErr)
	}
	slices.Sort(side)
	if len(side) == 0 {
		t.Fatal("no side publish completed")
	}
	worst := side[len(side)-1]
	t.Logf("maximal batches took %v; %d side publishes: p50 %v, max %v", maximal, len(side), side[len(side)/2], worst)
	if worst > sideMaxLatency {
		t.Errorf("a one-topic publish waited %v behind the maximal ones, over %v", worst, sideMaxLatency)
	}
}

// maximalBatch is a JSON batch of n updates of k distinct topics each, the
// b-th of its kind so that every batch writes new topics.
func maximalBatch(n, k, b int) []byte {
	var body bytes.Buffer
	body.WriteByte('[')
	for i := range n {
		if i > 0 {
			body.WriteByte(',')
		}
		topics := make([]string, k)
		for j := range topics {
			topics[j] = fmt.Sprintf(`"m%d/%d/%d"`, b, i, j)
		}
		fmt.Fprintf(&body, `{"topics":[%s],"data":"x"}`, strings.Join(topics, ","))
	}
	body.WriteByte(']')
	return body.Bytes()
}
