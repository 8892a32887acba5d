// Command upstream is a stand-in for a real model behind ssehub's
// -llm-base-url, as cheap as an OpenAI-compatible server can be: it answers
// POST /v1/chat/completions with a stream of chunks, one token each, paced
// at -tokens-per-second on an absolute schedule (token i due i/tps after
// the first), 100 to -max-tokens tokens long (as the simulated model's
// answers), then the usage chunk when asked for and `data: [DONE]`. With it
// the load tool's generations mode measures what a token costs the hub
// when it comes from an upstream's stream rather than from the simulated
// model (docs/benchmarks.md, "Measured: tokens from an upstream").
//
//	go run ./bench/upstream -addr 127.0.0.1:18560 -tokens-per-second 20
//	ssehub -llm-base-url http://127.0.0.1:18560/v1 -llm-api-key unused -llm-model upstream …
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18560", "address to listen on")
	tps := flag.Float64("tokens-per-second", 20, "the answers' pace")
	maxTokens := flag.Int("max-tokens", 300, "longest answer (the shortest is 100 tokens, or this when lower)")
	flag.Parse()
	if *tps <= 0 || *maxTokens < 1 {
		log.Fatal("upstream: -tokens-per-second > 0 and -max-tokens ≥ 1")
	}
	m := &model{interval: time.Duration(float64(time.Second) / *tps), max: *maxTokens}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", m.complete)
	mux.HandleFunc("POST /chat/completions", m.complete)
	log.Printf("upstream: %s, %g tokens/s, up to %d tokens", *addr, *tps, *maxTokens)
	log.Fatal(http.ListenAndServe(*addr, mux))
}

// model answers every request with paced tokens.
type model struct {
	interval time.Duration
	max      int
	answers  atomic.Int64
}

// request is what the model reads of a chat completion request.
type request struct {
	Stream        bool `json:"stream"`
	MaxTokens     int  `json:"max_tokens"`
	StreamOptions struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

// length is the number of tokens of the n-th answer: spread evenly over
// [min(100, max), max] whatever the order of the requests.
func (m *model) length(n int64, limit int) int {
	lo := min(100, m.max)
	length := lo + int(n*7919%int64(m.max-lo+1))
	if limit > 0 {
		length = min(length, limit)
	}
	return length
}

func (m *model) complete(w http.ResponseWriter, r *http.Request) {
	var req request
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil || !req.Stream {
		http.Error(w, `{"error":{"message":"a JSON body with \"stream\": true is needed"}}`, http.StatusBadRequest)
		return
	}
	n := m.answers.Add(1)
	id := "chatcmpl-" + strconv.FormatInt(n, 10)
	tokens := m.length(n, req.MaxTokens)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	rc := http.NewResponseController(w)
	start := time.Now()
	for i := range tokens {
		time.Sleep(time.Until(start.Add(time.Duration(i) * m.interval)))
		role := ""
		if i == 0 {
			role = `"role":"assistant",`
		}
		if _, err := fmt.Fprintf(w, "data: {\"id\":%q,\"object\":\"chat.completion.chunk\",\"created\":%d,\"model\":\"upstream\",\"choices\":[{\"index\":0,\"delta\":{%s\"content\":\"t%d \"},\"finish_reason\":null}]}\n\n",
			id, start.Unix(), role, i); err != nil {
			return // the hub went away: the generation was stopped
		}
		if rc.Flush() != nil {
			return
		}
	}
	fmt.Fprintf(w, "data: {\"id\":%q,\"object\":\"chat.completion.chunk\",\"created\":%d,\"model\":\"upstream\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n", id, start.Unix())
	if req.StreamOptions.IncludeUsage {
		fmt.Fprintf(w, "data: {\"id\":%q,\"object\":\"chat.completion.chunk\",\"created\":%d,\"model\":\"upstream\",\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":%d,\"total_tokens\":%d}}\n\n", id, start.Unix(), tokens, tokens+10)
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	_ = rc.Flush()
}
