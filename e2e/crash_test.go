package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/sse"
)

// buildBinary builds cmd/ssehub once per test binary run.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "ssehub-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "ssehub")
	root, err := findRoot()
	if err != nil {
		return "", err
	}
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/ssehub")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

func findRoot() (string, error) {
	dir, err := os.Getwd()
	for err == nil {
		if _, serr := os.Stat(filepath.Join(dir, "go.mod")); serr == nil {
			return dir, nil
		}
		if parent := filepath.Dir(dir); parent != dir {
			dir = parent
			continue
		}
		err = fmt.Errorf("no go.mod above the working directory")
	}
	return "", err
}

// process is the real ssehub binary running on a loopback port.
type process struct {
	cmd    *exec.Cmd
	base   string
	stderr *lockedBuffer
}

// lockedBuffer is a process's stderr, readable while the process writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startBinary(t testing.TB, args ...string) *process {
	t.Helper()
	return startBinaryEnv(t, nil, args...)
}

// startBinaryEnv starts the binary with args and, when env is not nil,
// that environment ("NAME=value") instead of the test's.
func startBinaryEnv(t testing.TB, env []string, args ...string) *process {
	t.Helper()
	return startBinaryOn(t, freeAddr(t), env, args...)
}

// freeAddr returns a loopback address no one listens on, now.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startBinaryOn starts the binary listening on addr (e.g. again on the
// address of one that ended), as startBinaryEnv.
func startBinaryOn(t testing.TB, addr string, env []string, args ...string) *process {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{base: "http://" + addr, stderr: &lockedBuffer{}}
	p.cmd = exec.Command(bin, append([]string{"-addr", addr, "-log-level", "warn"}, args...)...)
	p.cmd.Stderr = p.stderr
	p.cmd.Env = env
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.cmd.Process.Kill(); _ = p.cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(p.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("ssehub did not start: %v\n%s", err, p.stderr)
		}
		time.Sleep(20 * time.Millisecond) // polling a process that is starting
	}
}

// ack is one acknowledged publish.
type ack struct{ id, data string }

// publishUntilKilled publishes from several goroutines until the process
// dies, returning the acknowledged publishes.
func publishUntilKilled(p *process, round int, killAfter time.Duration) []ack {
	var mu sync.Mutex
	var acks []ack
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				data := fmt.Sprintf("r%d-w%d-%d", round, w, i)
				resp, err := client.PostForm(p.base+"/.well-known/mercure", url.Values{"topic": {"crash"}, "data": {data}})
				if err != nil {
					return
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					return
				}
				mu.Lock()
				acks = append(acks, ack{string(body), data})
				mu.Unlock()
			}
		})
	}
	time.Sleep(killAfter) // the random moment of the crash
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
	wg.Wait()
	return acks
}

// readHistory subscribes to topic after lastID and reads until it has seen
// the id stop, returning the events.
func readHistory(t *testing.T, base, topic, lastID, stop string) []sse.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/events?topic="+url.QueryEscape(topic)+"&lastEventID="+url.QueryEscape(lastID), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []sse.Event
	p := sse.NewParser(resp.Body)
	for {
		ev, err := p.Next()
		if err != nil {
			t.Fatalf("after %d events: %v", len(out), err)
		}
		out = append(out, ev)
		if ev.ID == stop {
			return out
		}
	}
}

func seqOf(t *testing.T, id string) uint64 {
	t.Helper()
	seq, err := strconv.ParseUint(id[strings.LastIndexByte(id, ':')+1:], 10, 64)
	if err != nil {
		t.Fatalf("id %q: %v", id, err)
	}
	return seq
}

// TestCrashKeepsAcknowledgedEvents kills the real binary with SIGKILL at
// random moments while 8 clients publish, restarts it on the same data
// directory, and checks that every acknowledged event is there exactly once,
// in order, from any acknowledged resume point, with ids still increasing.
func TestCrashKeepsAcknowledgedEvents(t *testing.T) {
	dir := t.TempDir()
	var all []ack
	rounds := 6
	if os.Getenv("CI") == "true" {
		rounds = 10
	}
	for round := range rounds {
		p := startBinary(t, "-data-dir", dir, "-heartbeat", "1s")
		seen := watchLive(t, p.base)
		acks := publishUntilKilled(p, round, time.Duration(50+rand.IntN(250))*time.Millisecond)
		if len(acks) == 0 {
			t.Fatalf("round %d: nothing acknowledged", round)
		}
		all = append(all, acks...)

		p = startBinary(t, "-data-dir", dir, "-heartbeat", "1s")
		checkNoIDReused(t, p.base, <-seen)
		last := all[0].id
		for _, a := range all {
			if seqOf(t, a.id) > seqOf(t, last) {
				last = a.id
			}
		}
		history := readHistory(t, p.base, "crash", "earliest", last)
		pos := map[string]int{}
		for i, ev := range history {
			if i > 0 && seqOf(t, ev.ID) <= seqOf(t, history[i-1].ID) {
				t.Fatalf("round %d: ids out of order: %s after %s", round, ev.ID, history[i-1].ID)
			}
			if _, dup := pos[ev.ID]; dup {
				t.Fatalf("round %d: %s twice", round, ev.ID)
			}
			pos[ev.ID] = i
		}
		for _, a := range all {
			i, ok := pos[a.id]
			if !ok || history[i].Data != a.data {
				t.Fatalf("round %d: acknowledged %s (%s) missing after the crash", round, a.id, a.data)
			}
		}
		for range 3 { // resume from acknowledged ids: exactly the rest
			from := all[rand.IntN(len(all))].id
			if from == last {
				continue // nothing follows it: readHistory would wait for an event that never comes
			}
			got := readHistory(t, p.base, "crash", from, last)
			want := history[pos[from]+1:]
			if len(got) != len(want) || (len(got) > 0 && got[0].ID != want[0].ID) {
				t.Fatalf("round %d: resume after %s gave %d events, want %d", round, from, len(got), len(want))
			}
		}
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
	}
	t.Logf("%d rounds, %d acknowledged events survived", rounds, len(all))
}

// watchLive subscribes to the crash topic and, once the stream ends,
// sends the ids it received: those delivered before the crash, acknowledged
// or not.
func watchLive(t *testing.T, base string) <-chan []string {
	t.Helper()
	resp, err := http.Get(base + "/events?topic=crash")
	if err != nil {
		t.Fatal(err)
	}
	seen := make(chan []string, 1)
	go func() {
		defer resp.Body.Close()
		var ids []string
		p := sse.NewParser(resp.Body)
		for {
			ev, err := p.Next()
			if err != nil {
				seen <- ids
				return
			}
			if ev.ID != "" {
				ids = append(ids, ev.ID)
			}
		}
	}()
	return seen
}

// checkNoIDReused publishes after a restart and checks that the new event
// gets an id past every one delivered before the crash, and that a client
// resuming from the last id it was delivered (stored or lost with the
// crash) gets the new event.
func checkNoIDReused(t *testing.T, base string, seen []string) {
	t.Helper()
	if len(seen) == 0 {
		return
	}
	resp, err := http.PostForm(base+"/.well-known/mercure", url.Values{"topic": {"crash"}, "data": {"after the crash"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	id := string(body)
	last := seen[len(seen)-1]
	if resp.StatusCode != http.StatusOK || seqOf(t, id) <= seqOf(t, last) {
		t.Fatalf("after the crash a new event got %s (status %d), but %s was delivered before it", id, resp.StatusCode, last)
	}
	got := readHistory(t, base, "crash", last, id)
	if got[len(got)-1].Data != "after the crash" {
		t.Fatalf("resuming after %s ends with %+v", last, got[len(got)-1])
	}
}

// TestCorruptDataDirStopsStartup checks a clear startup error instead of a
// silently empty history.
func TestCorruptDataDirStopsStartup(t *testing.T) {
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ssehub.db"), bytes.Repeat([]byte("garbage!"), 2048), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-addr", "127.0.0.1:0", "-data-dir", dir).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "corrupt") || !strings.Contains(string(out), dir) {
		t.Fatalf("started on a corrupt data dir: err %v, output %s", err, out)
	}
}
