package loadtest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseFlagsHubs(t *testing.T) {
	t.Parallel()
	const a, b = "http://127.0.0.1:18701/.well-known/mercure", "http://127.0.0.2:18702/.well-known/mercure"
	tests := []struct {
		args    []string
		urls    []string
		pids    []int
		wantErr string // empty for valid
	}{
		{nil, []string{DefaultURL}, nil, ""},
		{[]string{"-url", a}, []string{a}, nil, ""},
		{[]string{"-url", a + "," + b, "-server-pid", "41,42"}, []string{a, b}, []int{41, 42}, ""},
		{[]string{"-url", a + ", " + b, "-server-pid", "41, 42"}, []string{a, b}, []int{41, 42}, ""},
		{[]string{"-server-pid", "0"}, []string{DefaultURL}, nil, ""},
		{[]string{"-server-pid", "7"}, []string{DefaultURL}, []int{7}, ""},
		{[]string{"-url", a + "," + a}, nil, nil, "listed twice"},
		{[]string{"-url", a + ",http://10.0.0.1:80/"}, nil, nil, "loopback"},
		{[]string{"-url", a + ","}, nil, nil, "-url"},
		{[]string{"-url", strings.Repeat(a+",", maxHubs) + b}, nil, nil, "1 to 64 URLs"},
		{[]string{"-server-pid", "41,41"}, nil, nil, "listed twice"},
		{[]string{"-server-pid", "41,0"}, nil, nil, "above 0"},
		{[]string{"-server-pid", "-3"}, nil, nil, "above 0"},
		{[]string{"-server-pid", "x"}, nil, nil, "above 0"},
	}
	for _, tt := range tests {
		cfg, err := ParseFlags(tt.args, noenv, io.Discard)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%q: %v", tt.args, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%q: err = %v, want one mentioning %q", tt.args, err, tt.wantErr)
		case tt.wantErr == "" && (!reflect.DeepEqual(cfg.URLs, tt.urls) || !reflect.DeepEqual(cfg.ServerPIDs, tt.pids)):
			t.Errorf("%q: URLs %q, pids %v; want %q, %v", tt.args, cfg.URLs, cfg.ServerPIDs, tt.urls, tt.pids)
		}
	}
}

func TestHubOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		topics, hubs int
		want         []int // hubs of indexes 0, 1, 2, …
	}{
		{1, 1, []int{0, 0, 0, 0}},
		{1, 3, []int{0, 1, 2, 0, 1, 2, 0}},
		{2, 2, []int{0, 0, 1, 1, 0, 0, 1, 1}}, // topic 0 and topic 1 on both hubs
		{3, 2, []int{0, 0, 0, 1, 1, 1, 0}},
	}
	for _, tt := range tests {
		for i, want := range tt.want {
			if got := hubOf(i, tt.topics, tt.hubs); got != want {
				t.Errorf("hubOf(%d, %d topics, %d hubs) = %d, want %d", i, tt.topics, tt.hubs, got, want)
			}
		}
	}
}

func TestMergeByHub(t *testing.T) {
	t.Parallel()
	var r Report
	r.Merge(Report{ConnectedByHub: []int{3, 4}, LostByHub: []int64{0, 1}})
	r.Merge(Report{ConnectedByHub: []int{1, 1}, LostByHub: []int64{2, 0}})
	r.Merge(Report{}) // a failed child's report has none
	if !reflect.DeepEqual(r.ConnectedByHub, []int{4, 5}) || !reflect.DeepEqual(r.LostByHub, []int64{2, 1}) {
		t.Errorf("connected by hub %v, lost by hub %v; want [4 5], [2 1]", r.ConnectedByHub, r.LostByHub)
	}
}

// TestServerProbeSums checks that several processes' figures are summed.
func TestServerProbeSums(t *testing.T) {
	t.Parallel()
	pids := []int{os.Getpid(), os.Getppid()}
	var p serverProbe
	if err := p.start(pids); err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	p.idle()
	p.done()
	res := &Result{Connections: 10, Published: 1, Delivered: 10}
	p.fill(res)
	if p.err != nil || len(res.ServerRSSEachKiB) != 2 {
		t.Fatalf("err %v, RSS each %v", p.err, res.ServerRSSEachKiB)
	}
	if s := res.ServerRSSEachKiB[0] + res.ServerRSSEachKiB[1]; s != res.ServerRSSAfterKiB || s <= 0 {
		t.Errorf("RSS after %d KiB, each %v", res.ServerRSSAfterKiB, res.ServerRSSEachKiB)
	}
	p.pids, res = pids[:1], &Result{}
	p.before, p.idleS, p.endS = p.before[:1], p.idleS[:1], p.endS[:1]
	if p.fill(res); res.ServerRSSEachKiB != nil {
		t.Errorf("one process: RSS each %v, want none", res.ServerRSSEachKiB)
	}
}

// countingHub is a fake hub that counts the streams and publishes it gets.
type countingHub struct {
	mu        sync.Mutex
	streams   map[string]int // by topic
	publishes map[string]int // by topic
}

func (h *countingHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	if r.Method == http.MethodPost {
		_ = r.ParseForm()
		h.publishes[r.PostForm.Get("topic")]++
		h.mu.Unlock()
		_, _ = io.WriteString(w, "urn:uuid:1")
		return
	}
	h.streams[r.URL.Query().Get("topic")]++
	h.mu.Unlock()
	w.Header().Set("Content-Type", "text/event-stream")
	_, _ = io.WriteString(w, ": hello\n\n")
	w.(http.Flusher).Flush()
	<-r.Context().Done()
}

// TestRunSpreadsOverHubs checks the round-robin: every hub gets its share
// of the streams and of the publishes, of every topic.
func TestRunSpreadsOverHubs(t *testing.T) {
	var hubs [2]*countingHub
	var urls []string
	for i := range hubs {
		hubs[i] = &countingHub{streams: map[string]int{}, publishes: map[string]int{}}
		srv := httptest.NewServer(hubs[i])
		t.Cleanup(srv.Close)
		urls = append(urls, srv.URL)
	}
	cfg := testConfig(urls...)
	cfg.ServerPIDs = nil
	cfg.Subscribers, cfg.Topics, cfg.Events, cfg.Publishers, cfg.Drain = 8, 2, 40, 3, 100*time.Millisecond
	res, err := Run(t.Context(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if res.Hubs != 2 || res.URL != urls[0]+","+urls[1] || !reflect.DeepEqual(res.ConnByHub, []int{4, 4}) {
		t.Errorf("hubs %d, url %q, connections by hub %v; want 2, both URLs, [4 4]", res.Hubs, res.URL, res.ConnByHub)
	}
	// The fake hubs deliver nothing: every stream loses its topic's 20 events.
	if res.Published != 40 || !reflect.DeepEqual(res.LostByHub, []int64{80, 80}) {
		t.Errorf("published %d, lost by hub %v; want 40, [80 80]", res.Published, res.LostByHub)
	}
	for i, h := range hubs {
		h.mu.Lock()
		defer h.mu.Unlock()
		want := map[string]int{"bench-0": 2, "bench-1": 2}
		if !reflect.DeepEqual(h.streams, want) {
			t.Errorf("hub %d: streams by topic %v, want %v", i, h.streams, want)
		}
		if want := map[string]int{"bench-0": 10, "bench-1": 10}; !reflect.DeepEqual(h.publishes, want) {
			t.Errorf("hub %d: publishes by topic %v, want %v", i, h.publishes, want)
		}
	}
}
