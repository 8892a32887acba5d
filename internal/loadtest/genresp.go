package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// The responses path (-gen-path responses): OpenAI's Responses API. The
// start request's answer is the stream; each event's id is its
// sequence_number, which a resume names in starting_after.

// errGenDropped ends a response's stream on purpose after ResumeAfter
// text deltas: the tool then resumes it where it was.
var errGenDropped = errors.New("dropped to resume")

// startResponse starts response i with a streamed POST /v1/responses and
// follows its answer.
func (g *genRun) startResponse(ctx context.Context, i int) {
	sent := time.Now()
	conn, chunked, first, err := dialStream(ctx, g.t, sourceAddr(i, g.sources), g.responseRequest(i), g.cfg.ConnectTimeout)
	s := g.counted(i, sent, err, func(s *genStream) {
		s.responses, s.dropAfter = true, int64(g.cfg.Gen.ResumeAfter)
		s.resume = func() { g.readers.Go(func() { g.resumeResponse(ctx, i, s) }) }
	})
	if s == nil {
		return
	}
	g.read(i, s, conn, chunked, first)
}

// resumeResponse reopens a dropped response's stream after the last event
// it read, and hands it to a reader.
func (g *genRun) resumeResponse(ctx context.Context, i int, s *genStream) {
	q := url.Values{"stream": {"true"}, "starting_after": {strconv.FormatUint(s.lastSeq, 10)}}
	u := g.t.url.ResolveReference(&url.URL{Path: "/v1/responses/" + s.responseID, RawQuery: q.Encode()})
	req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\nUser-Agent: ssehub-bench\r\n%s\r\n",
		u.RequestURI(), g.t.url.Host, g.authorization())
	s.resumeSent = time.Now().UnixNano()
	conn, chunked, first, err := dialStream(ctx, g.t, sourceAddr(i, g.sources), []byte(req), g.cfg.ConnectTimeout)
	if err != nil {
		s.stop(fmt.Errorf("resume: %w", err), false)
		return
	}
	s.dec = decoder{} // a new connection: read starts it afresh
	g.read(i, s, conn, chunked, first)
}

// responseRequest is response i's start request: the prompt with the
// number i, so that the answers differ.
func (g *genRun) responseRequest(i int) []byte {
	gc := g.cfg.Gen
	body := map[string]any{"model": "ssehub-sim", "input": fmt.Sprintf("%s (%d)", gc.Prompt, i), "stream": true}
	if gc.MaxTokens > 0 {
		body["max_output_tokens"] = gc.MaxTokens
	}
	return g.postStream("/v1/responses", body)
}

// postStream is the request that posts body, in JSON, to path and reads
// the answer as an event stream.
func (g *genRun) postStream(path string, body map[string]any) []byte {
	b, _ := json.Marshal(body) // strings, numbers, bools and their lists always encode
	var r bytes.Buffer
	fmt.Fprintf(&r, "POST %s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\nContent-Type: application/json\r\nContent-Length: %d\r\nUser-Agent: ssehub-bench\r\n%s\r\n",
		path, g.t.url.Host, len(b), g.authorization())
	r.Write(b)
	return r.Bytes()
}

// responseEvent is the part of a Responses stream event the tool reads.
type responseEvent struct {
	Type     string `json:"type"`
	Seq      uint64 `json:"sequence_number"`
	Delta    string `json:"delta"`
	Text     string `json:"text"`
	Response *struct {
		ID    string `json:"id"`
		Usage *struct {
			OutputTokens int64 `json:"output_tokens"`
		} `json:"usage"`
	} `json:"response"`
	Message string `json:"message"`
}

// resumed records, for the first delta after a resume, the delay the
// resume added: how much later than one model interval after the last
// delta before the drop it came (0 when on time). The resume request
// itself is no measure: with nothing missed, its first event waits for
// the model's next token.
func (s *genStream) resumed(now int64) {
	if s.resumeSent == 0 {
		return
	}
	s.shard.resume.Record(uint64(max(0, now-s.lastDelta-s.interval)) / 1000)
	s.resumeSent = 0
}

// responseEvent accounts for one event of a Responses stream, read at now;
// it returns errGenDropped when the stream is to be dropped now.
func (s *genStream) responseEvent(data []byte, now int64) error {
	var e responseEvent
	if err := json.Unmarshal(data, &e); err != nil {
		s.outcome, s.kind = genFailed, "malformed event"
		return nil
	}
	switch {
	case e.Seq <= s.lastSeq && s.seen:
		s.duplicates++
		return nil
	case s.seen && e.Seq != s.lastSeq+1:
		s.gaps++
	}
	s.lastSeq, s.seen = e.Seq, true
	switch e.Type {
	case "response.created":
		if e.Response != nil {
			s.responseID = e.Response.ID
		}
	case "response.output_text.delta":
		s.text.WriteString(e.Delta)
		s.token(nil, 1, now)
		s.resumed(now)
		s.lastDelta = now
		if s.dropAfter > 0 && s.tokens == s.dropAfter && s.responseID != "" {
			return errGenDropped
		}
	case "response.output_text.done":
		s.doneText = e.Text
	case "response.completed", "response.incomplete":
		s.outcome = genCompleted
		if e.Response != nil && e.Response.Usage != nil {
			s.outputTokens = e.Response.Usage.OutputTokens
		}
		s.mismatched = s.text.String() != s.doneText
	case "response.failed", "error":
		s.outcome, s.kind = genFailed, "event "+e.Type
	}
	return nil
}
