package llm_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/llm"
)

// TestAdmissionFollowsLateness refuses new generations while a slow store
// publishes tokens later than MaxLateness, and admits them again once the
// window has moved past it; the generation running meanwhile is not cut.
func TestAdmissionFollowsLateness(t *testing.T) {
	model := &scripted{tokens: []string{"a", "b", "c", "d", "e", "f"}}
	cfg := llm.ManagerConfig{MaxLateness: 50 * time.Millisecond, LatenessWindow: 400 * time.Millisecond}
	p, m := slowSetup(t, model, cfg, 120*time.Millisecond)
	g, err := m.Start(llm.Request{Messages: userMsg})
	if err != nil {
		t.Fatal(err)
	}
	if _, end := allEvents(t, p.Hub, g.Topic(), hub.Earliest); end.Type != llm.EventDone {
		t.Fatalf("the running generation ended with %s %s", end.Type, end.Data)
	}
	_, err = m.Start(llm.Request{Messages: userMsg})
	if !errors.Is(err, llm.ErrBehind) || !strings.Contains(err.Error(), "token lateness p99") || !strings.Contains(err.Error(), "-llm-max-lateness (50ms)") {
		t.Fatalf("start while behind: %v, want ErrBehind naming the figures", err)
	}
	st := m.Stats()
	if st.LatenessP99 <= 50*time.Millisecond || sum64(st.Lateness.Counts) == 0 || st.Lateness.Sum <= 0 {
		t.Fatalf("stats while behind: p99 %v, histogram %+v", st.LatenessP99, st.Lateness)
	}
	p.delay.Store(0)
	deadline := time.Now().Add(5 * time.Second)
	for m.Admit() != nil {
		if time.Now().After(deadline) {
			t.Fatal("still refusing after the lateness fell")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := m.Start(llm.Request{Messages: userMsg}); err != nil {
		t.Fatalf("start after recovery: %v", err)
	}
}

// TestAdmissionOff admits whatever the lateness when MaxLateness is 0.
func TestAdmissionOff(t *testing.T) {
	p, m := slowSetup(t, &scripted{tokens: []string{"a", "b"}}, llm.ManagerConfig{}, 100*time.Millisecond)
	g, err := m.Start(llm.Request{Messages: userMsg})
	if err != nil {
		t.Fatal(err)
	}
	allEvents(t, p.Hub, g.Topic(), hub.Earliest)
	if err := m.Admit(); err != nil {
		t.Fatalf("admission is off, got %v", err)
	}
	if m.LatencyObserver() != nil {
		t.Fatal("admission is off, yet the streams' writers would observe for it")
	}
}

func sum64(c []uint64) uint64 {
	var n uint64
	for _, v := range c {
		n += v
	}
	return n
}

// TestAdmissionCountsDelivery refuses new generations while the streams
// write what is published late, though tokens are published on time, and
// admits them again once the window has moved past it.
func TestAdmissionCountsDelivery(t *testing.T) {
	cfg := llm.ManagerConfig{MaxLateness: 50 * time.Millisecond, LatenessWindow: 200 * time.Millisecond}
	_, m := setup(t, &scripted{tokens: []string{"a"}}, cfg)
	observe := m.LatencyObserver()
	for range 100 {
		observe(120 * time.Millisecond)
	}
	err := m.Admit()
	if !errors.Is(err, llm.ErrBehind) || !strings.Contains(err.Error(), "written 1") || !strings.Contains(err.Error(), "-llm-max-lateness (50ms)") {
		t.Fatalf("admit while the streams write late: %v, want ErrBehind naming the write latency", err)
	}
	if _, err := m.Start(llm.Request{Messages: userMsg}); !errors.Is(err, llm.ErrBehind) {
		t.Fatalf("start while the streams write late: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for m.Admit() != nil {
		if time.Now().After(deadline) {
			t.Fatal("still refusing after the window passed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	observe(10 * time.Millisecond) // on time
	if err := m.Admit(); err != nil {
		t.Fatalf("admit with the streams on time: %v", err)
	}
}

// TestAdmissionLimitsRunning: with admission on, no more generations run
// at once than the node has shown it serves on time; the next start gets
// ErrBehind naming the count, and once one ends another is admitted.
func TestAdmissionLimitsRunning(t *testing.T) {
	release := make(chan struct{})
	model := &scripted{tokens: []string{"a", "b"}, pauseAt: 1, release: release}
	// A bound no token reaches, even when the hundreds released at the end
	// publish at once on a busy machine: only the limit refuses here.
	cfg := llm.ManagerConfig{MaxConcurrent: 10000, MaxLateness: 10 * time.Second}
	_, m := setup(t, model, cfg)
	var gens []*llm.Generation
	for {
		g, err := m.Start(llm.Request{Messages: userMsg})
		if err != nil {
			if !errors.Is(err, llm.ErrBehind) || !strings.Contains(err.Error(), "generations running") {
				t.Fatalf("start %d: %v, want ErrBehind naming the running count", len(gens)+1, err)
			}
			break
		}
		if gens = append(gens, g); len(gens) > 5000 {
			t.Fatal("5,000 generations admitted at once before any showed its load")
		}
	}
	limit := m.Stats().Limit
	if len(gens) != limit || limit < 100 {
		t.Fatalf("%d admitted, limit %d", len(gens), limit)
	}
	if _, off := setup(t, model, llm.ManagerConfig{}); off.Stats().Limit != 0 {
		t.Fatal("a limit with admission off")
	}
	close(release)
	for _, g := range gens {
		finished(t, g)
	}
	if _, err := m.Start(llm.Request{Messages: userMsg}); err != nil {
		t.Fatalf("start once the generations ended: %v", err)
	}
}
