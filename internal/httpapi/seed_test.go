package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/ssehub/ssehub/internal/app/apptest"
	"github.com/ssehub/ssehub/internal/sse"
)

// clock is the seed's "time" format, date('H:i:s').
var clock = regexp.MustCompile(`^\d\d:\d\d:\d\d$`)

// TestSeedSearch checks the seed's demo stream as the ThinkPHP controller
// sends it: the opening comment, then a notification with id 1 and a plain
// message with id 2 a second later, data encoded like PHP's json_encode.
func TestSeedSearch(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil)
	t.Run("fresh", func(t *testing.T) {
		t.Parallel()
		st := s.OpenStream(t, "/gbi/sse/search", nil)
		var raw bytes.Buffer
		st.Parser = sse.NewParser(teeReader{st.Resp.Body, &raw})

		first := st.Next(t)
		if i := strings.Index(raw.String(), ": SSE连接已建立\n\n"); i < 0 || i > strings.Index(raw.String(), "id: 1\n") {
			t.Errorf("stream does not open with the comment \": SSE连接已建立\": %q", raw.String())
		}
		if first.ID != "1" || first.Type != "notification" {
			t.Errorf("first event id %q type %q, want 1 notification", first.ID, first.Type)
		}
		// PHP escapes non-ASCII: 系统通知 is \u7cfb\u7edf\u901a\u77e5.
		if !strings.HasPrefix(first.Data, `{"message":"\u7cfb\u7edf\u901a\u77e5 #0","priority":"medium","time":"`) {
			t.Errorf("first event data %q is not PHP's json_encode of the notification", first.Data)
		}
		var n struct{ Message, Priority, Time string }
		if err := json.Unmarshal([]byte(first.Data), &n); err != nil || n.Message != "系统通知 #0" || n.Priority != "medium" || !clock.MatchString(n.Time) {
			t.Errorf("first event data %q decodes to %+v, %v", first.Data, n, err)
		}

		second := st.Next(t) // the ticker's real period: about a second
		if second.ID != "2" || second.Type != "" {
			t.Errorf("second event id %q type %q, want 2 message", second.ID, second.Type)
		}
		// 服务器时间 is \u670d\u52a1\u5668\u65f6\u95f4.
		if !strings.HasPrefix(second.Data, `{"message":"\u670d\u52a1\u5668\u65f6\u95f4: `) {
			t.Errorf("second event data %q is not PHP's json_encode of the message", second.Data)
		}
		var m struct {
			Message, Time string
			Counter       *int
		}
		if err := json.Unmarshal([]byte(second.Data), &m); err != nil || m.Counter == nil || *m.Counter != 1 || !clock.MatchString(m.Time) {
			t.Errorf("second event data %q decodes to %+v, %v", second.Data, m, err)
		}
	})
	t.Run("resumed", func(t *testing.T) {
		t.Parallel()
		st := s.OpenStream(t, "/gbi/sse/search", apptest.Header("Last-Event-ID", "41"))
		if ev := st.Next(t); ev.ID != "42" || ev.Type != "notification" {
			t.Errorf("first event after Last-Event-ID 41: id %q type %q, want 42 notification", ev.ID, ev.Type)
		}
	})
}

// teeReader copies what is read from r into w.
type teeReader struct {
	r io.Reader
	w *bytes.Buffer
}

func (t teeReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.w.Write(p[:n])
	return n, err
}

// TestSeedReceive posts events to /gbi/sse/receive as a form, as JSON and as
// a query, and checks the seed's answer and that every /gbi/sse/search
// client gets the event.
func TestSeedReceive(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil)
	clients := []*apptest.Stream{s.OpenStream(t, "/gbi/sse/search", nil), s.OpenStream(t, "/gbi/sse/search", nil)}
	s.WaitSubscribers(t, len(clients))

	tests := []struct {
		name        string
		send        func() (int, string, error)
		eventType   string
		message     string
		wantType    string // SSE event type; "" for message
		extra, want string // a field the payload has for the type, and its value
	}{
		{"form alert", func() (int, string, error) {
			return s.PublishForm(context.Background(), "/gbi/sse/receive", url.Values{"eventType": {"alert"}, "message": {"X"}})
		}, "alert", "X", "alert", "level", "warning"},
		{"JSON alert", func() (int, string, error) {
			return s.PublishJSON(context.Background(), "/gbi/sse/receive", map[string]string{"eventType": "alert", "message": "来自 JSON"})
		}, "alert", "来自 JSON", "alert", "level", "warning"},
		{"JSON notification", func() (int, string, error) {
			return s.PublishJSON(context.Background(), "/gbi/sse/receive", map[string]string{"eventType": "notification", "message": "N"})
		}, "notification", "N", "notification", "priority", "high"},
		{"JSON body with the type in the query", func() (int, string, error) {
			return s.PublishJSON(context.Background(), "/gbi/sse/receive?eventType=alert", map[string]string{"message": "Q"})
		}, "alert", "Q", "alert", "level", "warning"},
		{"query defaults", func() (int, string, error) {
			resp, err := s.Client.Get(s.URL + "/gbi/sse/receive")
			if err != nil {
				return 0, "", err
			}
			defer resp.Body.Close()
			var b bytes.Buffer
			_, err = b.ReadFrom(resp.Body)
			return resp.StatusCode, b.String(), err
		}, "message", "默认消息", "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body, err := tc.send()
			if err != nil || status != http.StatusOK {
				t.Fatalf("status %d, body %q, err %v", status, body, err)
			}
			var ans map[string]any
			if err := json.Unmarshal([]byte(body), &ans); err != nil {
				t.Fatalf("answer %q: %v", body, err)
			}
			for k, v := range map[string]any{"code": 200.0, "message": "事件已接收", "eventType": tc.eventType, "data": tc.message} {
				if ans[k] != v {
					t.Errorf("answer %s = %v, want %v (answer %s)", k, ans[k], v, body)
				}
			}
			for i, c := range clients {
				ev := nextPublished(t, c)
				var data map[string]any
				if err := json.Unmarshal([]byte(ev.Data), &data); err != nil {
					t.Fatalf("client %d: data %q: %v", i, ev.Data, err)
				}
				if ev.Type != tc.wantType || data["message"] != tc.message {
					t.Errorf("client %d got type %q data %s, want type %q message %q", i, ev.Type, ev.Data, tc.wantType, tc.message)
				}
				if tc.extra != "" && data[tc.extra] != tc.want {
					t.Errorf("client %d: %s = %v, want %q", i, tc.extra, data[tc.extra], tc.want)
				}
				if tm, _ := data["time"].(string); !clock.MatchString(tm) {
					t.Errorf("client %d: time %v", i, data["time"])
				}
			}
		})
	}
}

// nextPublished returns the next event that is not from the seed's ticker,
// whose ids are numbers.
func nextPublished(t *testing.T, st *apptest.Stream) sse.Event {
	t.Helper()
	for {
		ev := st.Next(t)
		if strings.Trim(ev.ID, "0123456789") != "" {
			return ev
		}
	}
}
