//go:build linux

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ssehub/ssehub/client"
	"github.com/ssehub/ssehub/internal/auth/authtest"
)

// goldenImage is the base image of deploy/Dockerfile's build stage, which
// scripts/golang-image.sh provides.
const goldenImage = "docker.io/library/golang:1.26"

// podman runs podman commands for the container test: with runc when it is
// installed (crun refuses hosts that mix cgroup v1 and v2; deps.sh installs
// runc), and with limits no higher than this process's, which a container
// may not raise where root lacks CAP_SYS_RESOURCE.
type podman struct {
	path    string
	global  []string // before the command
	limits  []string // for build and run
	timeout time.Duration
}

func newPodman(t *testing.T) *podman {
	t.Helper()
	p := &podman{path: needProgram(t, "podman"), timeout: 10 * time.Minute}
	needProgram(t, "slirp4netns") // publishes the hub's port without touching the host's firewall
	for _, runc := range []string{"/usr/sbin/runc", "/usr/bin/runc"} {
		if _, err := os.Stat(runc); err == nil {
			p.global = []string{"--runtime", runc}
			break
		}
	}
	// Lowering a limit is always allowed: the open files to this process's,
	// the processes to plenty for one hub.
	var files syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &files); err == nil {
		p.limits = append(p.limits, "--ulimit", fmt.Sprintf("nofile=%d:%d", files.Cur, files.Cur))
	}
	p.limits = append(p.limits, "--ulimit", "nproc=4096:4096")
	if _, _, err := p.run("image", "exists", goldenImage); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI (make deps makes it): %v", goldenImage, err)
		}
		t.Skipf("no %s (make deps makes it)", goldenImage)
	}
	return p
}

// run runs podman with args, returning its standard output and error.
func (p *podman) run(args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.path, append(append([]string{}, p.global...), args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return strings.TrimSpace(stdout.String()), stderr.String(), err
}

// must runs podman with args and fails the test if it fails.
func (p *podman) must(t *testing.T, args ...string) string {
	t.Helper()
	out, stderr, err := p.run(args...)
	if err != nil {
		t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return out
}

// TestContainerImage builds deploy/Dockerfile with podman and runs the
// image: a small image without a shell, running as 65532, configured by
// SSEHUB_* variables, healthy by its own HEALTHCHECK, serving publishes and
// subscriptions with a JWT, stopping cleanly on SIGTERM, and keeping its
// history in the /data volume across a restart.
func TestContainerImage(t *testing.T) {
	t.Parallel()
	p := newPodman(t)
	root := repoRoot(t)
	name := fmt.Sprintf("ssehub-e2e-%d", time.Now().UnixNano())
	tag := "localhost/" + name
	// The host's Go caches spare the build stage most of its downloads and
	// compiling; the Dockerfile's steps are the same.
	caches := goCacheMounts(t)
	build := append([]string{"build", "--pull=never", "--layers=false", "--network", "host", "--format", "docker",
		"-f", filepath.Join(root, "deploy", "Dockerfile"), "-t", tag, "--build-arg", "VERSION=e2e-1"}, p.limits...)
	p.must(t, append(append(build, caches...), root)...)
	t.Cleanup(func() { _, _, _ = p.run("rmi", "-f", tag) })

	if size, _ := strconv.ParseInt(p.must(t, "image", "inspect", "--format", "{{.Size}}", tag), 10, 64); size <= 0 || size > 64<<20 {
		t.Errorf("image size %d bytes, want under 64 MiB", size)
	}
	if out, _, err := p.run(append(append([]string{"run", "--rm", "--network", "none"}, p.limits...), "--entrypoint", "/bin/sh", tag, "-c", "true")...); err == nil {
		t.Errorf("the image has a shell: %q", out)
	}
	if got := p.must(t, append(append([]string{"run", "--rm", "--network", "none"}, p.limits...), tag, "version")...); !strings.HasPrefix(got, "ssehub e2e-1 ") {
		t.Errorf("version: %q, want the build argument e2e-1", got)
	}

	keys := authtest.NewKeys(t)
	// The image's port 8080 is published on addr by slirp4netns, in user
	// space: podman's default bridge would add NAT rules to the host's
	// firewall, which stay after the test and put every loopback packet
	// through connection tracking, 8–22 % more CPU per delivery for the
	// benchmarks run next (docs/benchmarks.md).
	addr := freeAddr(t)
	run := append([]string{"run", "-d", "--name", name, "-p", addr + ":8080",
		"--network", "slirp4netns:port_handler=slirp4netns",
		"-v", name + ":/data", "-e", "SSEHUB_JWT_KEY=" + string(keys.Secret)}, p.limits...)
	p.must(t, append(run, tag)...)
	t.Cleanup(func() {
		_, _, _ = p.run("rm", "-f", "-t", "0", name)
		_, _, _ = p.run("volume", "rm", "-f", name)
	})
	base := "http://" + addr
	waitHealthy(t, p, name, base)
	if user := p.must(t, "top", name, "user"); !strings.Contains(user, "65532") {
		t.Errorf("the hub runs as %q, want 65532", user)
	}

	token := keys.HS256(t, authtest.Claims([]string{"*"}, []string{"*"}, time.Now().Add(time.Hour)))
	c, err := client.New(base+"/.well-known/mercure", client.WithToken(token))
	if err != nil {
		t.Fatal(err)
	}
	sub := subscribeWith(t, c)
	id, err := c.Publish(context.Background(), client.Update{Topics: []string{"boxed"}, Data: "from the host"})
	if err != nil {
		t.Fatal(err)
	}
	if ev := nextClientEvent(t, sub); ev.Data != "from the host" || ev.ID != id {
		t.Fatalf("got %q (%s), want %q (%s)", ev.Data, ev.ID, "from the host", id)
	}
	resp, err := http.Post(base+"/.well-known/mercure", "application/x-www-form-urlencoded", strings.NewReader("topic=boxed&data=x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("publish without a token: %s, want 401", resp.Status)
	}

	// SIGTERM (podman stop) ends it cleanly. A new container on the same
	// volume, as after an upgrade, has the history.
	p.must(t, "stop", "-t", "10", name)
	if code := p.must(t, "inspect", "--format", "{{.State.ExitCode}}", name); code != "0" {
		t.Errorf("exit code after SIGTERM %s, want 0\n%s", code, p.must(t, "logs", name))
	}
	p.must(t, "rm", name)
	p.must(t, append(run, tag)...)
	waitHealthy(t, p, name, base)
	again := subscribeWith(t, c, client.FromEarliest())
	if ev := nextClientEvent(t, again); ev.Data != "from the host" || ev.ID != id {
		t.Errorf("after the restart: %q (%s), want %q (%s) from the volume", ev.Data, ev.ID, "from the host", id)
	}
}

// subscribeWith subscribes to topic "boxed" with c.
func subscribeWith(t *testing.T, c *client.Client, opts ...client.SubscribeOption) *client.Subscription {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	sub, err := c.Subscribe(ctx, []string{"boxed"}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Close)
	return sub
}

// waitHealthy waits for the hub in container name to answer at base, then
// runs the image's HEALTHCHECK.
func waitHealthy(t *testing.T, p *podman, name, base string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			logs, _, _ := p.run("logs", name)
			t.Fatalf("the container's hub did not answer in 30 s: %v\n%s", err, logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if out, stderr, err := p.run("healthcheck", "run", name); err != nil {
		t.Errorf("HEALTHCHECK: %v %s %s", err, out, stderr)
	}
}

// goCacheMounts mounts this machine's Go module and build caches where the
// golang image keeps them.
func goCacheMounts(t *testing.T) []string {
	t.Helper()
	var mounts []string
	for env, dir := range map[string]string{"GOMODCACHE": "/go/pkg/mod", "GOCACHE": "/root/.cache/go-build"} {
		out, err := exec.Command("go", "env", env).Output()
		if path := strings.TrimSpace(string(out)); err == nil && path != "" {
			if err := os.MkdirAll(path, 0o755); err == nil {
				mounts = append(mounts, "-v", path+":"+dir)
			}
		}
	}
	return mounts
}
