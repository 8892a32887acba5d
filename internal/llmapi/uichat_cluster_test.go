package llmapi_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/ssehub/ssehub/internal/app/apptest"
	"github.com/ssehub/ssehub/internal/auth/authtest"
	"github.com/ssehub/ssehub/internal/redis/redistest"
)

// TestUIChatOnACluster: two nodes on one Redis. A chat turn posted to one
// node is listed and resumed through the other, which replays it from its
// start exactly as the first streams it; a stop through the other node
// stops it where it runs, and both nodes then answer 204 to a resume and
// list the partial answer.
func TestUIChatOnACluster(t *testing.T) {
	srv := redistest.Start(t)
	k := authtest.NewKeys(t)
	node := func() *chatEnv {
		cfg := apptest.TestConfig(t)
		cfg.Redis.URL, cfg.JWTKey, cfg.SimTokensPerSec, cfg.SimTTFT = srv.URL(), k.SecretFile, 20, time.Millisecond
		s := apptest.Serve(t, cfg, "http", &http.Transport{})
		return &chatEnv{base: s.URL, client: s.Client, k: k, alice: token(t, k, "alice", "llm/generations/{id}")}
	}
	a, b := node(), node()

	ctx, drop := context.WithCancel(context.Background())
	defer drop()
	st := a.stream(t, ctx, http.MethodPost, "/api/chat", a.alice, chatBody("spread", "Write about distributed systems", `,"maxTokens":300`))
	defer st.close()
	first, _ := st.next(t)
	if v := b.getChat(t, http.MethodGet, "/api/chat/spread"); !v.Running || len(v.Messages) != 2 || v.Messages[1].ID != first.MessageID {
		t.Fatalf("GET through b: %+v, want the running answer %s", v, first.MessageID)
	}
	re := b.stream(t, within(t, 20*time.Second), http.MethodGet, "/api/chat/spread/stream", b.alice, "")
	defer re.close()
	var resumed []chunk
	for len(resumed) < 5 {
		c, ok := re.next(t)
		if !ok {
			t.Fatalf("the resume through b ended early: %v", chunkTypes(resumed))
		}
		resumed = append(resumed, c)
	}
	if resumed[0].MessageID != first.MessageID {
		t.Errorf("resumed through b as %q, want %q", resumed[0].MessageID, first.MessageID)
	}

	stopped := b.getChat(t, http.MethodPost, "/api/chat/spread/stop")
	resumed = append(resumed, re.rest(t)...)
	posted := append([]chunk{first}, st.rest(t)...)
	if !slices.Equal(chunkTypes(resumed), chunkTypes(posted)) || deltas(resumed) != deltas(posted) {
		t.Errorf("b replayed %v %q, a streamed %v %q: want the same", chunkTypes(resumed), deltas(resumed), chunkTypes(posted), deltas(posted))
	}
	if got := chunkTypes(posted); got[len(got)-1] != "abort" || stopped.Finish != "stopped" || stopped.text() != deltas(posted) {
		t.Errorf("stopped through b: %+v, a's stream %v: want abort and the partial answer", stopped, got)
	}
	for _, n := range []*chatEnv{a, b} {
		if status, _ := n.call(t, http.MethodGet, "/api/chat/spread/stream", n.alice, ""); status != http.StatusNoContent {
			t.Errorf("resume through %s after the stop: %d, want 204", n.base, status)
		}
		if v := n.getChat(t, http.MethodGet, "/api/chat/spread"); v.Finish != "stopped" || v.text() != deltas(posted) {
			t.Errorf("GET through %s after the stop: %+v", n.base, v)
		}
	}
}
