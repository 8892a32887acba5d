package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/app/apptest"
	"github.com/ssehub/ssehub/internal/auth/authtest"
	"github.com/ssehub/ssehub/internal/redis/redistest"
)

// clusterConfig is a node of the cluster on srv, with JWT keys.
func clusterConfig(t *testing.T, srv *redistest.Server, keys *authtest.Keys) app.Config {
	cfg := apptest.TestConfig(t)
	cfg.Redis.URL = srv.URL()
	cfg.JWTKey = keys.SecretFile
	return cfg
}

// post publishes form values with a token and returns status, body and
// headers.
func (s *served) post(t *testing.T, token string, form url.Values) (int, string, http.Header) {
	t.Helper()
	return s.send(t, token, http.MethodPost, "/.well-known/mercure", "application/x-www-form-urlencoded", form.Encode())
}

// TestClusterOverHTTP: two nodes on one Redis. An update published on one
// node reaches the other node's subscribers with the id its publisher got;
// a client resumes on another node than the one it left; private updates
// follow the subscribers' tokens as on one node.
func TestClusterOverHTTP(t *testing.T) {
	srv := redistest.Start(t)
	keys := authtest.NewKeys(t)
	a := serve(t, clusterConfig(t, srv, keys), "http", &http.Transport{})
	b := serve(t, clusterConfig(t, srv, keys), "http", &http.Transport{})
	pub := keys.HS256(t, authtest.Claims([]string{"*"}, nil, time.Now().Add(time.Hour)))
	sub := keys.HS256(t, authtest.Claims(nil, []string{"orders/{id}"}, time.Now().Add(time.Hour)))

	_, plain := b.Open(t, "/.well-known/mercure?topic=orders/1")
	_, authorized := b.Open(t, "/.well-known/mercure?topic=orders/1&authorization="+sub)
	apptest.WaitHub(t, b.App, 2)

	status, id1, _ := a.post(t, pub, url.Values{"topic": {"orders/1"}, "data": {"public"}})
	if status != http.StatusOK {
		t.Fatalf("publish: %d %s", status, id1)
	}
	status, id2, _ := a.post(t, pub, url.Values{"topic": {"orders/1"}, "data": {"private"}, "private": {"on"}})
	if status != http.StatusOK {
		t.Fatalf("private publish: %d %s", status, id2)
	}
	a.post(t, pub, url.Values{"topic": {"orders/1"}, "data": {"third"}})

	ev, err := plain.Next()
	if err != nil || ev.ID != id1 || ev.Data != "public" {
		t.Fatalf("node b, plain subscriber: %+v %v, want id %s", ev, err, id1)
	}
	apptest.ExpectData(t, plain, "third") // not the private one
	ev, err = authorized.Next()
	if err != nil || ev.ID != id1 {
		t.Fatalf("node b, authorized: %+v %v", ev, err)
	}
	ev, err = authorized.Next()
	if err != nil || ev.ID != id2 || ev.Data != "private" {
		t.Fatalf("node b, authorized: %+v %v, want the private update %s", ev, err, id2)
	}

	// The client that read id1 on b resumes on a.
	resp, resumed := a.Open(t, "/.well-known/mercure?topic=orders/1&lastEventID="+url.QueryEscape(id1))
	if got := resp.Header.Get("Last-Event-ID"); got != id1 {
		t.Errorf("Last-Event-ID response header %q, want %q", got, id1)
	}
	apptest.ExpectData(t, resumed, "third")
}

// TestClusterRedisOutage: with Redis down a publish answers 503 naming
// Redis (never 200), /readyz says not ready, and open streams stay; once
// Redis is back, they receive what is published next on any node.
func TestClusterRedisOutage(t *testing.T) {
	srv := redistest.Start(t)
	keys := authtest.NewKeys(t)
	a := serve(t, clusterConfig(t, srv, keys), "http", &http.Transport{})
	b := serve(t, clusterConfig(t, srv, keys), "http", &http.Transport{})
	pub := keys.HS256(t, authtest.Claims([]string{"*"}, nil, time.Now().Add(time.Hour)))
	_, stream := b.Open(t, "/.well-known/mercure?topic=t")
	apptest.WaitHub(t, b.App, 1)

	srv.Stop()
	status, body, h := a.post(t, pub, url.Values{"topic": {"t"}, "data": {"lost?"}})
	var msg struct{ Error string }
	_ = json.Unmarshal([]byte(body), &msg)
	if status != http.StatusServiceUnavailable || !strings.Contains(msg.Error, "redis") || h.Get("Retry-After") == "" {
		t.Fatalf("publish with Redis down: %d %q (Retry-After %q), want 503 naming redis with Retry-After", status, body, h.Get("Retry-After"))
	}
	if resp, err := a.Client.Get(a.URL + "/readyz"); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz with Redis down: %v %v", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	if m := a.get(t, "/metrics"); !strings.Contains(m, "ssehub_redis_up 0") || strings.Contains(m, "ssehub_redis_errors_total 0\n") {
		t.Errorf("metrics during the outage do not show Redis down:\n%s", grepLines(m, "redis"))
	}
	if n := b.App.Hub().Stats().Subscribers; n != 1 {
		t.Fatalf("%d subscribers during the outage, want the stream kept", n)
	}
	srv.Restart()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		status, _, _ = a.post(t, pub, url.Values{"topic": {"t"}, "data": {"back"}})
		if status == http.StatusOK || ctx.Err() != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	apptest.ExpectData(t, stream, "back")
	if m := a.get(t, "/metrics"); !strings.Contains(m, "ssehub_redis_up 1") {
		t.Errorf("metrics after the outage:\n%s", grepLines(m, "redis"))
	}
}

// TestClusterReplicas: a node told to wait for a Redis replica that does
// not exist answers a publish 503 naming the replicas, after
// -redis-replica-timeout, and the update is nonetheless delivered (it is
// stored on the primary).
func TestClusterReplicas(t *testing.T) {
	srv := redistest.Start(t)
	keys := authtest.NewKeys(t)
	cfg := clusterConfig(t, srv, keys)
	cfg.Redis.Replicas, cfg.Redis.ReplicaTimeout = 1, 200*time.Millisecond
	a := serve(t, cfg, "http", &http.Transport{})
	pub := keys.HS256(t, authtest.Claims([]string{"*"}, nil, time.Now().Add(time.Hour)))
	_, stream := a.Open(t, "/.well-known/mercure?topic=t")
	apptest.WaitHub(t, a.App, 1)

	status, body, _ := a.post(t, pub, url.Values{"topic": {"t"}, "data": {"unreplicated"}})
	var msg struct{ Error string }
	_ = json.Unmarshal([]byte(body), &msg)
	if status != http.StatusServiceUnavailable || !strings.Contains(msg.Error, "0 of 1 acknowledged") {
		t.Fatalf("publish without the replica: %d %q; want 503 saying 0 of 1 replicas acknowledged", status, body)
	}
	apptest.ExpectData(t, stream, "unreplicated")
	if m := a.get(t, "/metrics"); !strings.Contains(m, "ssehub_redis_unreplicated_commits_total 1\n") || !strings.Contains(m, "ssehub_redis_up 1") {
		t.Errorf("metrics after the unreplicated publish:\n%s", grepLines(m, "redis"))
	}
}

// get returns the body of a GET.
func (s *served) get(t *testing.T, path string) string {
	t.Helper()
	resp, err := s.Client.Get(s.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func grepLines(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestClusterGenerations: a generation started on one node is seen and
// stopped through another node by its owner (not by another user), its
// events stream from any node, and an unknown generation is 404 on every
// node.
func TestClusterGenerations(t *testing.T) {
	srv := redistest.Start(t)
	keys := authtest.NewKeys(t)
	slow := func() app.Config {
		cfg := clusterConfig(t, srv, keys)
		cfg.SimTokensPerSec = 20
		return cfg
	}
	a, b := serve(t, slow(), "http", &http.Transport{}), serve(t, slow(), "http", &http.Transport{})
	claims := authtest.Claims([]string{"llm/generations/{id}"}, []string{"llm/generations/{id}"}, time.Now().Add(time.Hour))
	claims["sub"] = "alice"
	pub := keys.HS256(t, claims)
	claims["sub"] = "bob"
	bob := keys.HS256(t, claims)

	status, body := a.do(t, pub, http.MethodPost, "/llm/generations", `{"messages":[{"role":"user","content":"write a long story"}],"max_tokens":400}`)
	var started struct{ ID, Topic string }
	if status != http.StatusCreated || json.Unmarshal([]byte(body), &started) != nil {
		t.Fatalf("start on a: %d %s", status, body)
	}
	_, events := b.Open(t, "/events?topic="+url.QueryEscape(started.Topic)+"&lastEventID=earliest&authorization="+pub)
	if ev, err := events.Next(); err != nil || ev.Type != "token" {
		t.Fatalf("first event through b: %+v %v", ev, err)
	}

	// The node running it checks nothing: the asking node checks its caller.
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		path := "/llm/generations/" + started.ID + map[string]string{http.MethodPost: "/stop"}[method]
		if status, body = b.do(t, bob, method, path, ""); status != http.StatusForbidden {
			t.Fatalf("%s %s by another user through b: %d %s", method, path, status, body)
		}
	}
	status, body = b.do(t, pub, http.MethodGet, "/llm/generations/"+started.ID, "")
	if status != http.StatusOK || !strings.Contains(body, `"status":"running"`) {
		t.Fatalf("snapshot through b: %d %s", status, body)
	}
	status, body = b.do(t, pub, http.MethodPost, "/llm/generations/"+started.ID+"/stop", "")
	if status != http.StatusOK || !strings.Contains(body, started.ID) {
		t.Fatalf("stop through b: %d %s", status, body)
	}
	for {
		ev, err := events.Next()
		if err != nil {
			t.Fatalf("waiting for done through b: %v", err)
		}
		if ev.Type == "done" {
			if !strings.Contains(ev.Data, "stopped") {
				t.Fatalf("done event %q, want stopped", ev.Data)
			}
			break
		}
	}
	if status, body = b.do(t, pub, http.MethodGet, "/llm/generations/nope", ""); status != http.StatusNotFound {
		t.Fatalf("unknown generation through b: %d %s", status, body)
	}
}

// do sends a request with a token and a JSON body (if any) and returns
// status and body.
func (s *served) do(t *testing.T, token, method, path, body string) (int, string) {
	t.Helper()
	status, b, _ := s.send(t, token, method, path, "application/json", body)
	return status, b
}

// send sends a request with a token and returns status, body and headers.
func (s *served) send(t *testing.T, token, method, path, contentType, body string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// TestClusterStartupErrors: a bad Redis URL is refused with the flag named,
// an unreachable Redis stops startup with its address.
func TestClusterStartupErrors(t *testing.T) {
	_, err := app.ParseFlags([]string{"-redis", "http://localhost:6379"}, env(nil), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "-redis") {
		t.Errorf("bad URL: %v, want an error naming -redis", err)
	}
	cfg := apptest.TestConfig(t)
	cfg.Redis.URL = "redis://127.0.0.1:1/0"
	if _, err := app.New(cfg, discard()); err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("unreachable Redis: %v, want an error naming its address", err)
	}
}
