package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ssehub/ssehub/client"
	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/auth/authtest"
)

// maxProxyLatency is the longest a published event may take to reach a
// subscriber through nginx: buffering would hold it for much longer.
const maxProxyLatency = 100 * time.Millisecond

// nginxMain wraps deploy/nginx.conf in a main configuration whose files all
// live in the test's directory.
const nginxMain = `%s
worker_processes 1;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path %[2]s/client_body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
    include %[2]s/ssehub.conf;
}
`

// nginxProxy is Debian's nginx running deploy/nginx.conf.
type nginxProxy struct {
	t    *testing.T
	bin  string
	dir  string
	addr string
	cmd  *exec.Cmd
	log  *bytes.Buffer
	done chan struct{}
}

// newNginx writes deploy/nginx.conf, with upstream as ssehub's address and
// addr as the address listened on, into a temporary prefix.
func newNginx(t *testing.T, upstream string) *nginxProxy {
	t.Helper()
	return newNginxFrom(t, "deploy/nginx.conf", map[string]string{"server 127.0.0.1:8080;": "server " + upstream + ";"})
}

// newNginxFrom writes the server block in file (relative to the repository
// root), with each key of replace (present once) replaced and the address
// listened on a free one, into a temporary prefix.
func newNginxFrom(t *testing.T, file string, replace map[string]string) *nginxProxy {
	t.Helper()
	bin := needProgram(t, "nginx")
	b, err := os.ReadFile(filepath.Join(repoRoot(t), file))
	if err != nil {
		t.Fatal(err)
	}
	n := &nginxProxy{t: t, bin: bin, dir: t.TempDir(), addr: freeAddr(t)}
	conf := string(b)
	replace["listen 80;"] = "listen " + n.addr + ";"
	for old, repl := range replace {
		if strings.Count(conf, old) != 1 {
			t.Fatalf("%s: want %q once", file, old)
		}
		conf = strings.Replace(conf, old, repl, 1)
	}
	user := "" // as root, workers would switch to nobody, who cannot enter the test's directory
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	for name, text := range map[string]string{"ssehub.conf": conf, "nginx.conf": fmt.Sprintf(nginxMain, user, n.dir)} {
		if err := os.WriteFile(filepath.Join(n.dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(n.stop)
	return n
}

// start runs nginx in the foreground and waits until it proxies /healthz.
func (n *nginxProxy) start(t *testing.T) {
	t.Helper()
	n.log = &bytes.Buffer{}
	n.cmd = exec.Command(n.bin, "-p", n.dir, "-c", filepath.Join(n.dir, "nginx.conf"), "-e", "stderr",
		"-g", "daemon off; pid "+filepath.Join(n.dir, "nginx.pid")+"; error_log stderr;")
	n.cmd.Stdout, n.cmd.Stderr = n.log, n.log
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n.done = make(chan struct{})
	go func() { _ = n.cmd.Wait(); close(n.done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + n.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-n.done:
			t.Fatalf("nginx exited:\n%s", n.log)
		case <-time.After(20 * time.Millisecond): // polling a process that is starting
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx does not proxy /healthz: %v\n%s", err, n.log)
		}
	}
}

// stop ends nginx at once (SIGTERM: streams are cut) and waits for it; it
// does nothing when nginx is not running.
func (n *nginxProxy) stop() {
	if n.cmd == nil {
		return
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(10 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.done
		n.t.Errorf("nginx did not stop on SIGTERM:\n%s", n.log)
	}
	n.cmd = nil
}

// url is the proxy's URL of path.
func (n *nginxProxy) url(path string) string { return "http://" + n.addr + path }

// proxy is ssehub behind nginx.
type proxy struct {
	nginx    *nginxProxy
	upstream string         // ssehub's own URL
	pub      *client.Client // publishes through nginx
	keys     *authtest.Keys
}

// proxied starts ssehub with a JWT key (behind a proxy every client is
// loopback, so open development mode would let anyone publish), and nginx
// in front.
func proxied(t *testing.T, configure func(*app.Config)) *proxy {
	keys := authtest.NewKeys(t)
	srv := startServer(t, serverOptions{configure: func(c *app.Config) {
		c.JWTKey, c.Heartbeat, c.Retry = string(keys.Secret), 200*time.Millisecond, 100
		if configure != nil {
			configure(c)
		}
	}})
	n := newNginx(t, strings.TrimPrefix(srv.URL, "http://"))
	n.start(t)
	pub, err := client.New(n.url("/.well-known/mercure"), client.WithToken(keys.HS256(t, authtest.Claims([]string{"*"}, nil, time.Time{}))))
	if err != nil {
		t.Fatal(err)
	}
	return &proxy{nginx: n, upstream: srv.URL, pub: pub, keys: keys}
}

// publishTo publishes data to topic r through c.
func publishTo(t *testing.T, c *client.Client, data string) string {
	t.Helper()
	id, err := c.Publish(context.Background(), client.Update{Topics: []string{"r"}, Data: data})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// line is one line of an event stream and when it arrived.
type line struct {
	text string
	at   time.Time
}

// openStream subscribes to topic through u, resuming after lastID when it
// is set, and returns the response and its lines as they arrive.
func openStream(t *testing.T, u, topic, lastID string) (*http.Response, <-chan line) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u+"?topic="+url.QueryEscape(topic), nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		cancel()
		t.Fatalf("subscribe through nginx: %s", resp.Status)
	}
	ch := make(chan line, 1000)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ch)
		r := bufio.NewReader(resp.Body)
		for {
			s, err := r.ReadString('\n')
			if err != nil {
				return
			}
			ch <- line{strings.TrimRight(s, "\r\n"), time.Now()}
		}
	}()
	t.Cleanup(func() { cancel(); resp.Body.Close(); <-done })
	return resp, ch
}

// nextID reads lines until the next "id:" line, returning its id and arrival.
func nextID(t *testing.T, lines <-chan line) (string, time.Time) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the stream ended")
			}
			if id, found := strings.CutPrefix(l.text, "id: "); found {
				return id, l.at
			}
		case <-timeout:
			t.Fatal("no event through nginx in 5s")
		}
	}
}

// TestNginxStreamsUnbuffered checks that events and heartbeats pass
// through deploy/nginx.conf at once: the latency from publish to receipt.
func TestNginxStreamsUnbuffered(t *testing.T) {
	p := proxied(t, nil)
	resp, lines := openStream(t, p.nginx.url("/.well-known/mercure"), "n", "")
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" || resp.ContentLength != -1 {
		t.Errorf("through nginx: Content-Type %q, length %d", ct, resp.ContentLength)
	}
	heartbeat := time.After(3 * time.Second) // they come every 200ms
	for beat := false; !beat; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the stream ended")
			}
			beat = strings.HasPrefix(l.text, ":")
		case <-heartbeat:
			t.Fatal("no heartbeat through nginx in 3s")
		}
	}

	var latencies []time.Duration
	for i := range 10 {
		start := time.Now()
		id, err := p.pub.Publish(context.Background(), client.Update{Topics: []string{"n"}, Data: fmt.Sprint("event ", i)})
		if err != nil {
			t.Fatal(err)
		}
		got, at := nextID(t, lines)
		if got != id {
			t.Fatalf("received %q, published %q", got, id)
		}
		latencies = append(latencies, at.Sub(start))
	}
	slices.Sort(latencies)
	t.Logf("publish → receive through nginx, 10 events: min %v, median %v, max %v", latencies[0], latencies[5], latencies[9])
	if latencies[9] > maxProxyLatency {
		t.Errorf("slowest event took %v through nginx, want under %v (buffered?)", latencies[9], maxProxyLatency)
	}
}

// TestNginxHonoursAccelBuffering streams a chat completion through the
// buffered location /: ssehub's X-Accel-Buffering: no keeps it live.
func TestNginxHonoursAccelBuffering(t *testing.T) {
	p := proxied(t, func(c *app.Config) { c.SimTTFT, c.SimTokensPerSec = 10*time.Millisecond, 40 })
	body := `{"model":"ssehub-sim","stream":true,"max_tokens":40,"messages":[{"role":"user","content":"hi"}]}`
	req, _ := http.NewRequest(http.MethodPost, p.nginx.url("/v1/chat/completions"), strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+p.keys.HS256(t, authtest.Claims([]string{"*"}, nil, time.Time{})))
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	var first time.Duration
	for first == 0 {
		s, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("%s: no data: %v", resp.Status, err)
		}
		if strings.HasPrefix(s, "data: ") {
			first = time.Since(start)
		}
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		t.Fatal(err)
	}
	total := time.Since(start)
	t.Logf("40 tokens at 40/s through nginx: first chunk after %v, end after %v", first, total)
	if first > total/3 {
		t.Errorf("the first chunk came after %v of %v: nginx buffered the stream", first, total)
	}
}

// TestNginxResume reconnects through nginx with Last-Event-ID, by hand and
// with the Go client across a restart of nginx: no event is lost or repeated.
func TestNginxResume(t *testing.T) {
	p := proxied(t, nil)
	n := p.nginx

	t.Run("Last-Event-ID", func(t *testing.T) {
		resp, lines := openStream(t, n.url("/events"), "r", "")
		ids := []string{publishTo(t, p.pub, "1"), publishTo(t, p.pub, "2"), publishTo(t, p.pub, "3")}
		var got []string
		for range 3 {
			id, _ := nextID(t, lines)
			got = append(got, id)
		}
		resp.Body.Close() // disconnect
		ids = append(ids, publishTo(t, p.pub, "4"), publishTo(t, p.pub, "5"), publishTo(t, p.pub, "6"))
		resp, lines = openStream(t, n.url("/events"), "r", got[2])
		if h := resp.Header.Get("Last-Event-ID"); h != got[2] {
			t.Errorf("resumed after %q, asked %q", h, got[2])
		}
		ids = append(ids, publishTo(t, p.pub, "7"))
		for range 4 {
			id, _ := nextID(t, lines)
			got = append(got, id)
		}
		if !slices.Equal(got, ids) {
			t.Errorf("received %v\npublished %v", got, ids)
		}
	})

	t.Run("client across an nginx restart", func(t *testing.T) {
		c, err := client.New(n.url("/.well-known/mercure"), client.WithBackoff(50*time.Millisecond, 500*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		sub, err := c.Subscribe(ctx, []string{"r"})
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		direct, err := client.New(p.upstream+"/.well-known/mercure",
			client.WithToken(p.keys.HS256(t, authtest.Claims([]string{"*"}, nil, time.Time{}))))
		if err != nil {
			t.Fatal(err)
		}
		want := []string{publishTo(t, p.pub, "a")}
		if ev := nextClientEvent(t, sub); ev.ID != want[0] {
			t.Fatalf("got %+v, want %s", ev, want[0])
		}
		n.stop()                                                                  // the stream breaks; the client retries
		want = append(want, publishTo(t, direct, "b"), publishTo(t, direct, "c")) // straight to ssehub
		n.start(t)
		want = append(want, publishTo(t, p.pub, "d"))
		for _, id := range want[1:] {
			if ev := nextClientEvent(t, sub); ev.ID != id || ev.Gap {
				t.Errorf("got %+v, want %s without gap", ev, id)
			}
		}
	})
}
