package llmapi

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/ssehub/ssehub/internal/auth"
	"github.com/ssehub/ssehub/internal/sse"
)

// responseStream writes the events of a response after a sequence number
// as OpenAI does: "event: <type>" and "data: <json>", plus
// "id: <sequence_number>", so that a browser's Last-Event-ID is the
// starting_after of a resume.
type responseStream struct {
	w       http.ResponseWriter
	k       *keepAlive // writes to w once the head is written
	after   int        // events up to this sequence number are skipped
	last    int        // the last sequence number seen, written or not
	started bool       // the headers are written
	buf     []byte
}

// write writes the events after s.after, then flushes.
func (s *responseStream) write(evs []responseEvent) error {
	s.buf = s.buf[:0]
	for _, ev := range evs {
		s.last = ev.Seq
		if ev.Seq <= s.after {
			continue
		}
		var err error
		s.buf, err = sse.AppendEvent(s.buf, sse.Event{ID: strconv.Itoa(ev.Seq), Type: ev.Type, Data: string(ev.Data)})
		if err != nil {
			return err
		}
	}
	if len(s.buf) == 0 {
		return nil
	}
	if !s.started {
		writeStreamHead(s.w)
		s.started = true
		s.k.begin()
	}
	_, err := s.k.Write(s.buf)
	return err
}

// streamResponse streams response id's events after sequence number
// after (-1: all), from history, then live to its end, to a caller with
// claims (nil: its creator). Errors found
// before the first byte are answered as such: an unknown response (404),
// and starting_after beyond the end of a finished response (400).
func (a *API) streamResponse(w http.ResponseWriter, r *http.Request, claims *auth.Claims, id string, after int) {
	s := &responseStream{w: w, k: startKeepAlive(w, a.cfg.KeepAlive), after: after, last: -1}
	each := func(_ *responseBuilder, evs []responseEvent) error { return s.write(evs) }
	_, err := a.readResponse(r.Context(), claims, id, "", false, each)
	s.k.stop()
	switch {
	case err == nil && s.started:
	case err == nil && after > s.last:
		writeOpenAIError(w, invalid("starting_after %d: the response ended with sequence number %d", after, s.last))
	case err == nil: // nothing after starting_after: an empty stream
		s.started = true
		writeStreamHead(w)
	case !s.started:
		writeOpenAIError(w, err)
	case errors.Is(err, r.Context().Err()):
	default: // cut mid-stream: the client resumes from its last id
		slog.Warn("a response stream ended early", slog.String("id", id), slog.Any("err", err))
	}
}
