package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestCrashEndsAResponseFailed kills the real binary (SIGKILL) in the
// middle of a response and restarts it on the same data directory: the
// response, read back from history, has failed with the text published
// before the crash, and its stream ends with response.failed; a GET never
// waits for an end that would not come.
func TestCrashEndsAResponseFailed(t *testing.T) {
	dir := t.TempDir()
	args := []string{"-data-dir", dir, "-sim-tokens-per-second", "20", "-sim-ttft", "10ms"}
	p := startBinary(t, args...)
	status, obj := respCall(t, http.MethodPost, p.base+"/v1/responses", `{"input":"A long story","background":true}`)
	if status != http.StatusOK {
		t.Fatalf("create: %d %v", status, obj)
	}
	id := obj["id"].(string)
	_, body := respEvents(t, p.base+"/v1/responses/"+id+"?stream=true", 3)
	body.Close()
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()

	p = startBinary(t, args...)
	status, got := respCall(t, http.MethodGet, p.base+"/v1/responses/"+id, "")
	errObj, _ := got["error"].(map[string]any)
	if status != http.StatusOK || got["status"] != "failed" || errObj == nil || !strings.Contains(errObj["message"].(string), "stopped in the middle") {
		t.Fatalf("after the crash: %d %v", status, got)
	}
	evs, _ := respEvents(t, p.base+"/v1/responses/"+id+"?stream=true", -1)
	var last struct {
		Type     string
		Response struct{ Status string }
	}
	if err := json.Unmarshal([]byte(evs[len(evs)-1]), &last); err != nil || last.Type != "response.failed" || last.Response.Status != "failed" {
		t.Errorf("the stream ends with %s", evs[len(evs)-1])
	}
	if !strings.Contains(strings.Join(evs, "\n"), "response.output_text.done") {
		t.Error("the text published before the crash is not closed with output_text.done")
	}
}
