package httpapi

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ssehub/ssehub/internal/httpio"
	"github.com/ssehub/ssehub/internal/hub"
	"github.com/ssehub/ssehub/internal/sse"
	"github.com/ssehub/ssehub/internal/stream"
)

// SeedTopic is the topic behind the seed demo's endpoints: what
// /gbi/sse/receive publishes and /gbi/sse/search delivers.
const SeedTopic = "gbi/sse"

// handleSeedSearch serves the seed's demo stream: its once-a-second ticker,
// exactly as the seed's controller sends it, merged with every event that
// /gbi/sse/receive publishes. A numeric Last-Event-ID continues the ticker's
// ids; a hub id resumes the published events after it.
func (a *API) handleSeedSearch(w http.ResponseWriter, r *http.Request) {
	claims, renew, err := a.subscriber(r, []string{SeedTopic})
	if err != nil {
		writeErr(w, r, err)
		return
	}
	last := lastEventID(r)
	start, numeric := strconv.ParseInt(last, 10, 64)
	resume := last
	if numeric == nil {
		resume = ""
	} else {
		start = 0
	}
	release, ok := a.admitStream(w, r)
	if !ok {
		return
	}
	private, err := claims.Selectors(claims.Subscribe)
	var sub *hub.Subscriber
	if err == nil {
		sub, err = a.hub.Subscribe(r.Context(), hub.SubscribeOptions{Topics: []string{SeedTopic}, PrivateSelectors: private, LastEventID: resume})
	}
	if err != nil {
		release()
		writeErr(w, r, err)
		return
	}
	t := newTicker(time.Second, start)
	opening := sse.AppendComment(nil, "SSE连接已建立")
	opening = t.Next(opening, time.Now())
	a.serveStream(w, r, stream.Options{Sub: sub, Expiry: claims.Expiry, Renew: renew, Release: release, Opening: opening, Ticker: t})
}

// ticker produces the seed's demo events: counter%10 a notification,
// else %7 an alert, else %5 an update, else a plain message.
type ticker struct {
	t       *time.Ticker
	id      int64
	counter int
}

func newTicker(every time.Duration, lastID int64) *ticker {
	return &ticker{t: time.NewTicker(every), id: lastID}
}

// C delivers the ticks.
func (t *ticker) C() <-chan time.Time { return t.t.C }

// Stop releases the timer.
func (t *ticker) Stop() { t.t.Stop() }

// Next appends the next demo event to dst.
func (t *ticker) Next(dst []byte, now time.Time) []byte {
	t.id++
	n := t.counter
	t.counter++
	clock := now.Format("15:04:05")
	ev := sse.Event{ID: strconv.FormatInt(t.id, 10)}
	switch {
	case n%10 == 0:
		ev.Type, ev.Data = "notification", phpJSON(struct {
			Message  string `json:"message"`
			Priority string `json:"priority"`
			Time     string `json:"time"`
		}{fmt.Sprintf("系统通知 #%d", n), "medium", clock})
	case n%7 == 0:
		ev.Type, ev.Data = "alert", phpJSON(struct {
			Message string `json:"message"`
			Level   string `json:"level"`
			Time    string `json:"time"`
		}{fmt.Sprintf("系统警报 #%d", n), "warning", clock})
	case n%5 == 0:
		ev.Type, ev.Data = "update", phpJSON(struct {
			Message string `json:"message"`
			ID      int    `json:"id"`
			Time    string `json:"time"`
		}{fmt.Sprintf("数据已更新 #%d", n), 1000 + rand.IntN(9000), clock})
	default:
		ev.Data = phpJSON(struct {
			Message string `json:"message"`
			Time    string `json:"time"`
			Counter int    `json:"counter"`
		}{"服务器时间: " + now.Format("2006-01-02 15:04:05"), clock, n})
	}
	out, _ := sse.AppendEvent(dst, ev) // fixed types and ids: always valid
	return out
}

// phpJSON encodes v the way PHP's json_encode does by default: non-ASCII
// characters as \uXXXX escapes and "/" as "\/".
func phpJSON(v any) string {
	b, _ := json.Marshal(v)
	var sb strings.Builder
	for _, r := range string(b) {
		switch {
		case r == '/':
			sb.WriteString(`\/`)
		case r < utf8.RuneSelf:
			sb.WriteRune(r)
		case r > 0xFFFF:
			r -= 0x10000
			fmt.Fprintf(&sb, `\u%04x\u%04x`, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
		default:
			fmt.Fprintf(&sb, `\u%04x`, r)
		}
	}
	return sb.String()
}

// handleSeedReceive publishes what a client sends to every client of the
// seed's stream and answers the seed's JSON shape.
func (a *API) handleSeedReceive(w http.ResponseWriter, r *http.Request) {
	if !a.admitPublish(w, r) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, a.cfg.MaxBodyBytes)
	eventType, message, err := seedParams(r)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	u := &hub.Update{Topics: []string{SeedTopic}, Data: seedData(eventType, message, time.Now())}
	if eventType != "message" {
		u.Type = eventType
	}
	if err := a.checkUpdate(u); err != nil {
		writeErr(w, r, err)
		return
	}
	id, err := a.hub.Publish(r.Context(), u)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpio.WriteJSON(w, http.StatusOK, map[string]any{
		"code": 200, "message": "事件已接收", "eventType": eventType, "data": message, "id": id,
	})
}

// seedParams reads eventType and message from the query, a form or JSON,
// like ThinkPHP's $request->param().
func seedParams(r *http.Request) (eventType, message string, err error) {
	var body struct {
		EventType string `json:"eventType"`
		Message   string `json:"message"`
	}
	if err := parseForm(r); err != nil { // the query, and a form body
		return "", "", err
	}
	if ct := r.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/json") {
		if err := httpio.DecodeJSON(r, &body, false); err != nil {
			return "", "", err
		}
	}
	eventType = firstNonEmpty(body.EventType, r.Form.Get("eventType"), "message")
	message = firstNonEmpty(body.Message, r.Form.Get("message"), "默认消息")
	if !utf8.ValidString(eventType) || !utf8.ValidString(message) {
		return "", "", httpio.BadRequest("message", "eventType and message must be valid UTF-8")
	}
	if strings.ContainsAny(eventType, "\r\n\x00") {
		return "", "", httpio.BadRequest("eventType", "eventType must not contain a line break or NUL")
	}
	return eventType, message, nil
}

// seedData shapes the payload as the seed page expects for each type.
func seedData(eventType, message string, now time.Time) string {
	data := map[string]any{"message": message, "time": now.Format("15:04:05")}
	switch eventType {
	case "notification":
		data["priority"] = "high"
	case "alert":
		data["level"] = "warning"
	case "update":
		data["id"] = 1000 + rand.IntN(9000)
	}
	b, _ := json.Marshal(data)
	return string(b)
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
