package openai_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/ssehub/ssehub/internal/llm"
	"github.com/ssehub/ssehub/internal/openai"
)

func TestModels(t *testing.T) {
	list := func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"object":"list","data":[`+
			`{"id":"deepseek-chat","object":"model","created":0,"owned_by":"deepseek"},`+
			`{"id":"qwen-plus","object":"model","created":0,"owned_by":"system"}]}`)
	}
	tests := []struct {
		name     string
		handle   func(http.ResponseWriter, *http.Request, int)
		want     []string
		wantKind llm.ErrorKind
	}{
		{name: "list", handle: list, want: []string{"deepseek-chat", "qwen-plus"}},
		{name: "401", handle: fail(401, "Incorrect API key provided", "invalid_request_error", "invalid_api_key"), wantKind: llm.KindAuth},
		{name: "502", handle: plain(502, "text/html", "<html>Bad Gateway</html>"), wantKind: llm.KindUpstream},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newUpstream(t, tt.handle)
			got, err := newModel(u, openai.Config{APIKey: "sk-test"}).Models(context.Background())
			if tt.wantKind != "" {
				if llm.KindOf(err) != tt.wantKind {
					t.Fatalf("err %v, want kind %s", err, tt.wantKind)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("Models() = %v, %v; want %v", got, err, tt.want)
			}
			r := u.requests()[0]
			if r.Method != http.MethodGet || r.Path != "/v1/models" || r.Auth != "Bearer sk-test" {
				t.Errorf("request %s %s with Authorization %q", r.Method, r.Path, r.Auth)
			}
		})
	}
}
