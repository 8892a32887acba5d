package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ssehub/ssehub/internal/redis/redistest"
	"github.com/ssehub/ssehub/internal/sse"
)

// respCall sends a request to a node and decodes its JSON answer.
func respCall(t *testing.T, method, u, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %s: %d %q", method, u, resp.StatusCode, b)
	}
	return resp.StatusCode, m
}

// respEvents reads a Responses stream: all of it, or until n text deltas
// (then the stream stays open, its body returned).
func respEvents(t *testing.T, u string, n int) ([]string, io.ReadCloser) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	var raw []string
	p := sse.NewParser(resp.Body)
	for n != 0 {
		ev, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read %s: %v", u, err)
		}
		raw = append(raw, ev.Data)
		if ev.Type == "response.output_text.delta" {
			n--
		}
	}
	return raw, resp.Body
}

// TestResponsesAcrossACluster: a response started on one node is read,
// streamed, cancelled and deleted through another, which asks the node
// that runs it to stop it; both nodes replay the same events.
func TestResponsesAcrossACluster(t *testing.T) {
	r := redistest.Start(t)
	var nodes []*process
	for range 2 {
		nodes = append(nodes, startBinary(t, "-redis", r.URL(), "-sim-tokens-per-second", "20", "-sim-ttft", "10ms", "-llm-max-lateness", "0"))
	}
	a, b := nodes[0].base, nodes[1].base
	status, obj := respCall(t, http.MethodPost, a+"/v1/responses", `{"input":"Explain streaming","background":true}`)
	if status != http.StatusOK || obj["status"] != "queued" {
		t.Fatalf("create on A: %d %v", status, obj)
	}
	id := obj["id"].(string)
	first, body := respEvents(t, b+"/v1/responses/"+id+"?stream=true", 2)
	defer body.Close()
	status, cancelled := respCall(t, http.MethodPost, b+"/v1/responses/"+id+"/cancel", "")
	if status != http.StatusOK || cancelled["status"] != "cancelled" {
		t.Fatalf("cancel through B: %d %v", status, cancelled)
	}
	rest, _ := io.ReadAll(body)
	if !bytes.Contains(rest, []byte("event: response.incomplete")) {
		t.Errorf("B's stream did not end cancelled: %s", rest)
	}
	fromA, _ := respEvents(t, a+"/v1/responses/"+id+"?stream=true", -1)
	fromB, _ := respEvents(t, b+"/v1/responses/"+id+"?stream=true", -1)
	if strings.Join(fromA, "\n") != strings.Join(fromB, "\n") || len(fromA) <= len(first) || strings.Join(fromA[:len(first)], "\n") != strings.Join(first, "\n") {
		t.Errorf("the nodes replay differently:\nA %d events\nB %d events", len(fromA), len(fromB))
	}
	if _, got := respCall(t, http.MethodGet, a+"/v1/responses/"+id, ""); got["status"] != "cancelled" {
		t.Errorf("A reads %v", got["status"])
	}
	if status, del := respCall(t, http.MethodDelete, b+"/v1/responses/"+id, ""); status != http.StatusOK || del["deleted"] != true {
		t.Errorf("delete through B: %d %v", status, del)
	}
	if status, _ := respCall(t, http.MethodGet, a+"/v1/responses/"+id, ""); status != http.StatusNotFound {
		t.Errorf("A after the delete: %d", status)
	}
}
