package sse

import (
	"bytes"
	"io"
	"testing"
)

// benchEvent is a typical event: an id, a type and 100 bytes of JSON.
var benchEvent = Event{
	ID:   "1732627200000-42",
	Type: "update",
	Data: `{"topic":"prices","symbol":"ACME","price":123.45,"volume":9001,"ts":"2024-11-26T13:47:00Z","ok":100}`,
}

func BenchmarkAppendEvent(b *testing.B) {
	if len(benchEvent.Data) != 100 {
		b.Fatalf("data is %d bytes, want 100", len(benchEvent.Data))
	}
	dst := make([]byte, 0, 256)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchEvent.Data)))
	for b.Loop() {
		var err error
		if dst, err = AppendEvent(dst[:0], benchEvent); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParser(b *testing.B) {
	b.Run("Next", func(b *testing.B) {
		benchParser(b, func(p *Parser) error { _, err := p.Next(); return err })
	})
	b.Run("NextData", func(b *testing.B) {
		benchParser(b, func(p *Parser) error { _, err := p.NextData(); return err })
	})
}

// benchParser parses a stream of 1,000 events with next.
func benchParser(b *testing.B, next func(*Parser) error) {
	const events = 1000
	var stream []byte
	for range events {
		stream, _ = AppendEvent(stream, benchEvent)
	}
	r := bytes.NewReader(stream)
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	for b.Loop() {
		r.Reset(stream)
		p := NewParser(r)
		n := 0
		for {
			err := next(p)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != events {
			b.Fatalf("parsed %d events, want %d", n, events)
		}
	}
}
