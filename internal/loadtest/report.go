package loadtest

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"text/tabwriter"
)

// maxErrorKinds bounds the distinct error descriptions a report keeps; the
// rest are counted under "other".
const maxErrorKinds = 20

// Report is what a group of subscribers saw. Children send theirs to the
// parent as JSON, and the parent merges them.
type Report struct {
	Subscribers    int            `json:"subscribers"`                // streams attempted
	Connected      int            `json:"connected"`                  // streams opened (200 and first bytes)
	Failed         int            `json:"failed"`                     // streams that could not be opened
	StreamErrors   int            `json:"stream_errors"`              // opened streams that ended before the run did
	Reconnects     int            `json:"reconnects"`                 // streams reopened after a break (-reconnect)
	ConnectSeconds float64        `json:"connect_s"`                  // time to open them all
	Delivered      int64          `json:"delivered"`                  // the tool's events received, duplicates included
	Expected       int64          `json:"expected"`                   // events the open streams should have received
	Lost           int64          `json:"lost"`                       // expected events never received
	Duplicates     int64          `json:"duplicates"`                 // events received more than once by one stream
	OutOfOrder     int64          `json:"out_of_order"`               // events received after a later one of the same publisher
	Foreign        int64          `json:"foreign"`                    // events that were not the tool's or not the stream's topic
	FirstDelivery  int64          `json:"first_delivery"`             // Unix nanoseconds; 0 when none
	LastDelivery   int64          `json:"last_delivery"`              // Unix nanoseconds; 0 when none
	Latency        *Histogram     `json:"latency"`                    // publish → read by the tool, microseconds
	Arrival        *Histogram     `json:"arrival,omitempty"`          // publish → in the socket (kernel receive time), microseconds; nil when not measured
	Errors         map[string]int `json:"errors,omitempty"`           // failures by kind
	ConnectedByHub []int          `json:"connected_by_hub,omitempty"` // Connected by hub, in -url's order
	LostByHub      []int64        `json:"lost_by_hub,omitempty"`      // Lost by the hub of the stream
}

// Merge adds o to r.
func (r *Report) Merge(o Report) {
	r.Subscribers += o.Subscribers
	r.Connected += o.Connected
	r.Failed += o.Failed
	r.StreamErrors += o.StreamErrors
	r.Reconnects += o.Reconnects
	r.ConnectSeconds = max(r.ConnectSeconds, o.ConnectSeconds)
	r.Delivered += o.Delivered
	r.Expected += o.Expected
	r.Lost += o.Lost
	r.Duplicates += o.Duplicates
	r.OutOfOrder += o.OutOfOrder
	r.Foreign += o.Foreign
	if o.FirstDelivery != 0 && (r.FirstDelivery == 0 || o.FirstDelivery < r.FirstDelivery) {
		r.FirstDelivery = o.FirstDelivery
	}
	r.LastDelivery = max(r.LastDelivery, o.LastDelivery)
	if r.Latency == nil {
		r.Latency = &Histogram{}
	}
	r.Latency.Merge(o.Latency)
	mergeOptional(&r.Arrival, o.Arrival)
	for k, n := range o.Errors {
		if r.Errors == nil {
			r.Errors = map[string]int{}
		}
		addErrors(r.Errors, k, n)
	}
	r.ConnectedByHub = addEach(r.ConnectedByHub, o.ConnectedByHub)
	r.LostByHub = addEach(r.LostByHub, o.LostByHub)
}

// mergeOptional adds o to *h, making *h on first use: a histogram that
// stays nil while nothing was measured.
func mergeOptional(h **Histogram, o *Histogram) {
	if o == nil || o.Count() == 0 {
		return
	}
	if *h == nil {
		*h = &Histogram{}
	}
	(*h).Merge(o)
}

// addEach adds b to a element by element, growing a to b's length.
func addEach[T int | int64](a, b []T) []T {
	for len(a) < len(b) {
		a = append(a, 0)
	}
	for i, n := range b {
		a[i] += n
	}
	return a
}

// addError counts one error of kind k.
func addError(m map[string]int, k string) { addErrors(m, k, 1) }

func addErrors(m map[string]int, k string, n int) {
	if _, ok := m[k]; !ok && len(m) >= maxErrorKinds {
		k = "other"
	}
	m[k] += n
}

// Result is the outcome of a run: its one JSON line. Server fields are
// present only with -server-pid.
type Result struct {
	URL         string  `json:"url"`
	Subscribers int     `json:"subscribers"`
	Topics      int     `json:"topics"`
	Events      int     `json:"events"`
	Publishers  int     `json:"publishers"`
	Rate        float64 `json:"rate,omitempty"`
	Payload     int     `json:"payload"`
	Procs       int     `json:"procs"`
	SourceIPs   int     `json:"source_ips"`
	Hubs        int     `json:"hubs"` // URLs in -url: the nodes of a cluster

	Connections    int     `json:"connections"`
	Failed         int     `json:"failed"`
	StreamErrors   int     `json:"stream_errors"`
	Reconnects     int     `json:"reconnects,omitempty"`
	ConnectSeconds float64 `json:"connect_s"`
	ConnByHub      []int   `json:"connections_by_hub,omitempty"` // with several hubs, in -url's order

	Published     int64   `json:"published"`
	PublishErrors int64   `json:"publish_errors"`
	PublishPerSec float64 `json:"publish_per_s"`
	PublishP50ms  float64 `json:"publish_p50_ms"` // request → acknowledgement
	PublishP99ms  float64 `json:"publish_p99_ms"`
	PublishMaxms  float64 `json:"publish_max_ms"`

	Delivered      int64   `json:"delivered"`
	Expected       int64   `json:"expected"`
	Lost           int64   `json:"lost"`
	Duplicates     int64   `json:"duplicates"`
	OutOfOrder     int64   `json:"out_of_order"`
	Foreign        int64   `json:"foreign,omitempty"`
	LostByHub      []int64 `json:"lost_by_hub,omitempty"` // with several hubs: lost by the streams of each
	PhaseSeconds   float64 `json:"phase_s"`               // first publish → last delivery
	DeliveriesPerS float64 `json:"deliveries_per_s"`
	LatencyP50ms   float64 `json:"p50_ms"`
	LatencyP90ms   float64 `json:"p90_ms"`
	LatencyP99ms   float64 `json:"p99_ms"`
	LatencyMaxms   float64 `json:"max_ms"`
	// The same latency up to the moment the event's bytes reached the
	// subscriber's socket (the kernel's receive timestamp), leaving out how
	// long the tool took to be scheduled and read them; 0 and left out when
	// not measured (TLS and goroutine readers, other systems than Linux).
	// With several events in one read it is that of the last one's bytes.
	ArrivalCount int64   `json:"arrival_count,omitempty"`
	ArrivalP50ms float64 `json:"arrival_p50_ms,omitempty"`
	ArrivalP90ms float64 `json:"arrival_p90_ms,omitempty"`
	ArrivalP99ms float64 `json:"arrival_p99_ms,omitempty"`
	ArrivalMaxms float64 `json:"arrival_max_ms,omitempty"`

	ServerRSSBeforeKiB int64   `json:"server_rss_before_kib,omitempty"`
	ServerRSSAfterKiB  int64   `json:"server_rss_after_kib,omitempty"`
	ServerRSSEachKiB   []int64 `json:"server_rss_after_kib_each,omitempty"` // with several pids, in -server-pid's order
	RSSPerConnKiB      float64 `json:"rss_per_conn_kib,omitempty"`
	ServerCPUSeconds   float64 `json:"server_cpu_s,omitempty"`
	DeliveriesPerCPUS  float64 `json:"deliveries_per_cpu_s,omitempty"`
	BenchCPUSeconds    float64 `json:"bench_cpu_s"`
	// BenchPublishCPUSeconds is the tool's CPU over the span server_cpu_s
	// covers (from the first publish until the streams are closed), when
	// all its subscribers are in this process.
	BenchPublishCPUSeconds float64 `json:"bench_cpu_publishing_s,omitempty"`

	// HostTracked is how many connections the host's firewall tracked
	// once the streams were open: as many as the streams or more means
	// every packet of the run went through connection tracking, which
	// costs both sides CPU (docs/loadtest.md); 0 and left out when none.
	HostTracked int64 `json:"host_conntrack_entries,omitempty"`
	// HostStolenSeconds is the CPU time the hypervisor took from the
	// machine's CPUs over the span of server_cpu_s ("steal" in /proc/stat,
	// summed over the CPUs): on a virtual machine, time the hub and the
	// tool were ready to run and could not. 0 and left out when none.
	HostStolenSeconds float64 `json:"host_steal_s,omitempty"`

	Seconds  float64        `json:"duration_s"`
	TimedOut bool           `json:"timed_out"`
	Errors   map[string]int `json:"errors,omitempty"`
}

// WriteJSON writes r as one line of JSON.
func (r *Result) WriteJSON(w io.Writer) error { return writeJSONLine(w, r) }

// writeJSONLine writes v as one line of JSON: a run's result.
func writeJSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteTable writes r for people to read.
func (r *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, format string, a ...any) { fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, a...)...) }
	row("hub", "%s", r.URL)
	row("run", "%d subscribers, %d topics, %d events of %d bytes, %d publisher(s)%s, %d proc(s), %d source IP(s)",
		r.Subscribers, r.Topics, r.Events, r.Payload, r.Publishers, rateText(r.Rate), r.Procs, r.SourceIPs)
	row("connections", "%d made, %d failed, %d streams broke, in %.2fs; %d reconnected", r.Connections, r.Failed, r.StreamErrors, r.ConnectSeconds, r.Reconnects)
	if r.Hubs > 1 {
		row("by hub", "%d hubs: connections %v, lost %v (in -url's order)", r.Hubs, r.ConnByHub, r.LostByHub)
	}
	row("published", "%d acknowledged, %d errors, %.0f/s; acknowledged in p50 %.2f ms, p99 %.2f ms, max %.2f ms",
		r.Published, r.PublishErrors, r.PublishPerSec, r.PublishP50ms, r.PublishP99ms, r.PublishMaxms)
	row("delivered", "%d of %d expected: %d lost, %d duplicates, %d out of order", r.Delivered, r.Expected, r.Lost, r.Duplicates, r.OutOfOrder)
	row("throughput", "%.0f deliveries/s over %.2fs (first publish → last delivery)", r.DeliveriesPerS, r.PhaseSeconds)
	row("latency", "p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms (publish → read)", r.LatencyP50ms, r.LatencyP90ms, r.LatencyP99ms, r.LatencyMaxms)
	if r.ArrivalCount > 0 {
		row("arrival", "p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms (publish → in the socket, %d deliveries)",
			r.ArrivalP50ms, r.ArrivalP90ms, r.ArrivalP99ms, r.ArrivalMaxms, r.ArrivalCount)
	}
	if r.ServerRSSBeforeKiB > 0 {
		row("server RSS", "%d KiB before, %d KiB with the streams idle: %.1f KiB per connection%s",
			r.ServerRSSBeforeKiB, r.ServerRSSAfterKiB, r.RSSPerConnKiB, eachText(r.ServerRSSEachKiB))
		row("server CPU", "%.2f s while publishing: %.0f deliveries per CPU second", r.ServerCPUSeconds, r.DeliveriesPerCPUS)
	}
	if r.BenchPublishCPUSeconds > 0 {
		row("bench CPU", "%.2f s, %.2f s of it while publishing", r.BenchCPUSeconds, r.BenchPublishCPUSeconds)
	} else {
		row("bench CPU", "%.2f s", r.BenchCPUSeconds)
	}
	if r.HostTracked > 0 && r.HostTracked >= int64(r.Connections) {
		row("host", "the firewall tracks %d connections: every packet pays for connection tracking (docs/loadtest.md)", r.HostTracked)
	}
	if r.HostStolenSeconds > 0 {
		row("host", "%.2f s of CPU taken by the hypervisor while publishing (steal)", r.HostStolenSeconds)
	}
	row("duration", "%.2f s%s", r.Seconds, map[bool]string{true: " (TIMED OUT: partial results)"}[r.TimedOut])
	for _, k := range slices.Sorted(maps.Keys(r.Errors)) {
		row("error", "%d × %s", r.Errors[k], k)
	}
	return tw.Flush()
}

func rateText(rate float64) string {
	if rate <= 0 {
		return ""
	}
	return fmt.Sprintf(" paced at %g/s", rate)
}

// eachText lists the RSS of each of several server processes.
func eachText(each []int64) string {
	if len(each) < 2 {
		return ""
	}
	return fmt.Sprintf(" (summed over %d processes: %v KiB)", len(each), each)
}
