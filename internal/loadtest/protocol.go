package loadtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// Protocols the tool speaks to a hub.
const (
	// ProtocolMercure subscribes with GET URL?topic=T and publishes a form
	// to URL: ssehub, Mercure and any hub of the Mercure protocol.
	ProtocolMercure = "mercure"
	// ProtocolCentrifugo drives Centrifugo at its root URL: subscribers
	// open its unidirectional SSE endpoint, /connection/uni_sse, with the
	// topic as a server-side subscription of the connect request (the
	// server must allow it, as with client.insecure); publishers POST to
	// its HTTP API, /api/publish, with the key of -jwt as X-API-Key. Its
	// events wrap the data: the tool reads the stamp inside.
	ProtocolCentrifugo = "centrifugo"
)

// subscribePath returns the path and query of a subscription to topic k of
// the hub at u.
func subscribePath(protocol string, u *url.URL, k int) string {
	v := *u
	q := v.Query()
	if protocol == ProtocolCentrifugo {
		v.Path = strings.TrimSuffix(v.Path, "/") + "/connection/uni_sse"
		connect, _ := json.Marshal(map[string]any{"subs": map[string]any{topic(k): struct{}{}}})
		q.Set("cf_connect", string(connect))
	} else {
		q.Add("topic", topic(k))
	}
	v.RawQuery = q.Encode()
	return v.RequestURI()
}

// publishRequest returns the URL, content type and body of a publish of
// data to topic at the hub u, and the header carrying the key (-jwt).
func publishRequest(protocol string, u *url.URL, topic, data, key string) (target, ctype, body, header, value string) {
	if protocol == ProtocolCentrifugo {
		v := *u
		v.Path = strings.TrimSuffix(v.Path, "/") + "/api/publish"
		b, _ := json.Marshal(struct {
			Channel string          `json:"channel"`
			Data    json.RawMessage `json:"data"`
		}{topic, json.RawMessage(data)})
		return v.String(), "application/json", string(b), "X-API-Key", key
	}
	body = "topic=" + url.QueryEscape(topic) + "&data=" + url.QueryEscape(data)
	if key != "" {
		key = "Bearer " + key
	}
	return u.String(), "application/x-www-form-urlencoded", body, "Authorization", key
}

// stampOf returns the part of an event's data that holds the tool's stamp:
// all of it, or for Centrifugo the publication's data inside its envelope
// ({"channel":…,"pub":{"data":{"t":…}}}).
func stampOf(protocol string, data []byte) []byte {
	if protocol == ProtocolCentrifugo {
		if i := bytes.Index(data, []byte(`{"t":`)); i >= 0 {
			return data[i:]
		}
	}
	return data
}

// answerError returns the error a hub's 200 answer to a publish reports:
// Centrifugo's API answers {"error":{"code":…,"message":…}} with a 200.
func answerError(protocol string, answer []byte) error {
	if protocol != ProtocolCentrifugo {
		return nil
	}
	var a struct {
		Error *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(answer, &a); err != nil {
		return fmt.Errorf("centrifugo answer %.100q: %w", answer, err)
	}
	if a.Error != nil {
		return fmt.Errorf("centrifugo error %d: %s", a.Error.Code, a.Error.Message)
	}
	return nil
}

// checkProtocol validates -protocol.
func checkProtocol(p string) error {
	if p != ProtocolMercure && p != ProtocolCentrifugo {
		return fmt.Errorf("-protocol %q: want %s or %s", p, ProtocolMercure, ProtocolCentrifugo)
	}
	return nil
}
