package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ssehub/ssehub/client"
	"github.com/ssehub/ssehub/internal/app"
	"github.com/ssehub/ssehub/internal/auth/authtest"
)

// presenceLine is a line examples/node/presence.mjs prints.
type presenceLine struct {
	Event         string
	Topic         string
	Payload       map[string]string
	Online        int
	Subscriptions []struct {
		Topic   string
		Payload map[string]string
	}
}

// TestExamplePresence runs examples/node/presence.mjs (Node.js, fetch and
// the npm eventsource package) against a hub with active subscriptions:
// it lists who is subscribed to a topic, then sees someone join and leave.
func TestExamplePresence(t *testing.T) {
	node, script := nodeExample(t, "presence.mjs")
	keys := authtest.NewKeys(t)
	srv := startServer(t, serverOptions{configure: func(c *app.Config) {
		c.JWTKey, c.Subscriptions, c.HistoryMaxAge = string(keys.Secret), true, time.Hour
	}})
	user := func(name string) client.Option {
		claims := authtest.Claims(nil, []string{"books/{id}"}, time.Now().Add(time.Hour))
		claims["mercure"].(map[string]any)["payload"] = map[string]string{"user": name}
		return client.WithToken(keys.HS256(t, claims))
	}
	goSubscribe(t, srv.URL, []string{"books/1"}, user("alice"))
	goSubscribe(t, srv.URL, []string{"books/2"}, user("carol")) // another book: not listed

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script, "books/1")
	watch := keys.HS256(t, authtest.Claims(nil, []string{client.SubscriptionsTopic}, time.Now().Add(time.Hour)))
	cmd.Env = hermeticEnv("SSEHUB_URL="+srv.URL, "SSEHUB_TOKEN="+watch, "SSEHUB_COUNT=2")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	next := func() presenceLine {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("presence.mjs printed no more lines: %v\n%s", cmd.Wait(), stderr.String())
		}
		var l presenceLine
		if err := json.Unmarshal(lines.Bytes(), &l); err != nil {
			t.Fatalf("presence.mjs printed %q: %v", lines.Text(), err)
		}
		return l
	}
	if l := next(); l.Event != "list" || len(l.Subscriptions) != 1 || l.Subscriptions[0].Payload["user"] != "alice" {
		t.Fatalf("the list: %+v, want alice alone", l)
	}
	bob := goSubscribe(t, srv.URL, []string{"books/1"}, user("bob"))
	if l := next(); l.Event != "join" || l.Payload["user"] != "bob" || l.Topic != "books/1" || l.Online != 2 {
		t.Errorf("after bob subscribed: %+v", l)
	}
	bob.Close()
	if l := next(); l.Event != "leave" || l.Payload["user"] != "bob" || l.Online != 1 {
		t.Errorf("after bob left: %+v", l)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("presence.mjs: %v\n%s", err, stderr.String())
	}

	// Without a token the listing is refused, and the example says so.
	_, errOut, err := runProgram(t, []string{"SSEHUB_URL=" + srv.URL}, node, script)
	if err == nil || !strings.Contains(errOut, "401") {
		t.Errorf("without a token: %v\n%s", err, errOut)
	}
}
