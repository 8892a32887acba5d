package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/ssehub/ssehub/internal/app/apptest"
)

// TestBatchPublish sends several updates in one JSON array: they are
// published in order, or, when one is invalid, none is.
func TestBatchPublish(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil)
	st := s.OpenStream(t, apptest.Query("/events", "topic", "b"), nil)
	ctx := context.Background()

	status, body, err := s.PublishJSON(ctx, "/publish", []map[string]any{
		{"topic": "b", "data": "one"}, {"topic": "b", "data": map[string]int{"n": 2}, "type": "t"}, {"topic": "b", "data": "three", "id": "x3"},
	})
	var got struct{ IDs []string }
	if err != nil || status != 200 || json.Unmarshal([]byte(body), &got) != nil || len(got.IDs) != 3 || got.IDs[2] != "x3" {
		t.Fatalf("batch: %d %s %v", status, body, err)
	}
	evs, err := st.Read(3)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(apptest.IDs(evs)) != fmt.Sprint(got.IDs) || evs[1].Data != `{"n":2}` || evs[1].Type != "t" {
		t.Fatalf("received %v, want %v", evs, got.IDs)
	}

	before := s.App.Hub().Stats().Published
	bad := []struct {
		name, body, field string
	}{
		{"an invalid element", `[{"topic":"b","data":"ok"},{"topic":"b","type":"a\nb"}]`, "[1].type"},
		{"an element without topic", `[{"topic":"b"},{"data":"x"}]`, "[1].topic"},
		{"an unknown key", `[{"topic":"b","colour":1}]`, "[0].body"},
		{"an empty batch", `[]`, "body"},
		{"too many", "[" + strings.Repeat(`{"topic":"b"},`, 1000) + `{"topic":"b"}]`, "body"},
		{"not objects", `[1,2]`, "[0].body"},
	}
	for _, c := range bad {
		status, body, err := s.Post(ctx, "/publish", "application/json", []byte(c.body))
		if err != nil || status != 400 || !strings.Contains(body, `"field":"`+c.field+`"`) {
			t.Errorf("%s: %d %s %v, want 400 naming %s", c.name, status, body, err, c.field)
		}
	}
	if after := s.App.Hub().Stats().Published; after != before {
		t.Fatalf("%d updates of refused batches were published", after-before)
	}
}
