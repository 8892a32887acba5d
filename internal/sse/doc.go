// Package sse implements the server-sent events wire format exactly as the
// WHATWG HTML standard defines it (section 9.2, "Server-sent events":
// "Parsing an event stream" and "Interpreting an event stream").
//
// The encoder side ([AppendEvent], [Encode], [AppendComment], [AppendRetry])
// writes events that a conforming client decodes back to the same values;
// [Event.Validate] rejects events that cannot be written that way. The
// decoder side ([Parser]) reads a stream the way a browser's EventSource
// does, line endings, byte order mark, field rules and all, with a bound on
// the size of one event.
//
// The package knows nothing of HTTP, topics or storage.
package sse
