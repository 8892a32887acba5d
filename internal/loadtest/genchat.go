package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// The AI SDK chat path (-gen-path aisdk): the UI message stream of
// Vercel's AI SDK, as useChat reads it. A turn is a chat of its own,
// posted to POST /api/chat, whose answer is the stream; a resume is
// GET /api/chat/{id}/stream, which replays the running answer from its
// start (the AI SDK's resume), so the tool skips the deltas it had and
// checks they are the text it read.

// startChat posts chat i's turn and follows its answer.
func (g *genRun) startChat(ctx context.Context, i int) {
	sent := time.Now()
	id := fmt.Sprintf("b%x-%d", g.began, i)
	conn, chunked, first, err := dialStream(ctx, g.t, sourceAddr(i, g.sources), g.chatRequest(id, i), g.cfg.ConnectTimeout)
	s := g.counted(i, sent, err, func(s *genStream) {
		s.chat, s.responseID, s.dropAfter = true, id, int64(g.cfg.Gen.ResumeAfter)
		s.resume = func() { g.readers.Go(func() { g.resumeChat(ctx, i, s) }) }
	})
	if s == nil {
		return
	}
	g.read(i, s, conn, chunked, first)
}

// resumeChat reopens a dropped chat's stream, which replays the answer
// from its start, and hands it to a reader.
func (g *genRun) resumeChat(ctx context.Context, i int, s *genStream) {
	req := fmt.Sprintf("GET /api/chat/%s/stream HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\nUser-Agent: ssehub-bench\r\n%s\r\n",
		s.responseID, g.t.url.Host, g.authorization())
	s.resumeSent = time.Now().UnixNano()
	s.replaySkip, s.replayed = s.tokens, bytesBuilder{}
	conn, chunked, first, err := dialStream(ctx, g.t, sourceAddr(i, g.sources), []byte(req), g.cfg.ConnectTimeout)
	if err != nil {
		s.stop(fmt.Errorf("resume: %w", err), false)
		return
	}
	s.dec = decoder{}
	g.read(i, s, conn, chunked, first)
}

// chatRequest is chat id's turn: the prompt with the number i, so that the
// answers differ.
func (g *genRun) chatRequest(id string, i int) []byte {
	gc := g.cfg.Gen
	msg := map[string]any{"id": "u1", "role": "user", "parts": []any{map[string]any{"type": "text", "text": fmt.Sprintf("%s (%d)", gc.Prompt, i)}}}
	body := map[string]any{"id": id, "trigger": "submit-message", "messages": []any{msg}}
	if gc.MaxTokens > 0 {
		body["maxTokens"] = gc.MaxTokens
	}
	return g.postStream("/api/chat", body)
}

// chatChunk is the part of a UI message stream chunk the tool reads.
type chatChunk struct {
	Type  string `json:"type"`
	Delta string `json:"delta"`
}

// chatEvent accounts for one chunk of a chat's stream, read at now; it
// returns errGenDropped when the stream is to be dropped now.
func (s *genStream) chatEvent(data []byte, now int64) error {
	if string(data) == "[DONE]" {
		if s.outcome == genRunning {
			s.outcome, s.kind = genFailed, "[DONE] without finish"
		}
		return nil
	}
	var c chatChunk
	if err := json.Unmarshal(data, &c); err != nil {
		s.outcome, s.kind = genFailed, "malformed chunk"
		return nil
	}
	switch c.Type {
	case "text-delta":
		if s.replaySkip > 0 { // the replay of what was read before the drop
			s.replaySkip--
			s.replayed.WriteString(c.Delta)
			if s.replaySkip == 0 && s.replayed.String() != s.text.String() {
				s.mismatched = true
			}
			return nil
		}
		s.text.WriteString(c.Delta)
		s.token(nil, 1, now)
		s.resumed(now)
		s.lastDelta = now
		if s.dropAfter > 0 && s.tokens == s.dropAfter {
			return errGenDropped
		}
	case "finish":
		s.outcome = genCompleted
		s.outputTokens = s.tokens
	case "error", "abort":
		s.outcome, s.kind = genFailed, "chunk "+c.Type
	}
	return nil
}
