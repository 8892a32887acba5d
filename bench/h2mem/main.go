// Command h2mem measures what an idle HTTP/2 stream over TLS costs in
// net/http itself (docs/benchmarks.md, "Measured: streams over TLS"):
//
//	h2mem serve -cert c.pem -key k.pem   # a server whose handler only waits
//	h2mem open -url https://127.0.0.1:18650/sse -n 2000
//	curl -k https://127.0.0.1:18650/mem  # Go's stacks and heap in use
//
// "open" holds n streams, each on a connection of its own (one transport
// per stream), or -per-conn of them on each connection; "serve" answers /sse with the headers and waits for the
// request's end, and /mem with its memory after three collections. Point
// "open" at ssehub (…/.well-known/mercure?topic=idle) and read its /metrics
// to compare.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"runtime"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		log.Fatal("usage: h2mem serve|open [flags]")
	}
	switch os.Args[1] {
	case "serve":
		serve(os.Args[2:])
	case "open":
		open(os.Args[2:])
	default:
		log.Fatalf("h2mem: unknown command %q: serve or open", os.Args[1])
	}
}

func serve(args []string) {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:18650", "address to listen on")
	cert := fs.String("cert", "", "TLS certificate (PEM)")
	key := fs.String("key", "", "TLS key (PEM)")
	_ = fs.Parse(args)
	mux := http.NewServeMux()
	mux.HandleFunc("/sse", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	mux.HandleFunc("/mem", func(w http.ResponseWriter, _ *http.Request) {
		for range 3 {
			runtime.GC()
		}
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		fmt.Fprintf(w, "stack %d heap %d goroutines %d\n", m.StackInuse, m.HeapInuse, runtime.NumGoroutine())
	})
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServeTLS(*cert, *key))
}

func open(args []string) {
	fs := flag.NewFlagSet("open", flag.ExitOnError)
	url := fs.String("url", "https://127.0.0.1:18650/sse", "stream URL")
	n := fs.Int("n", 1000, "streams to hold")
	perConn := fs.Int("per-conn", 1, "streams on each connection (a browser's tabs)")
	_ = fs.Parse(args)
	bodies := make([]any, 0, *n)
	var tr *http.Transport
	for i := range *n {
		if i%*perConn == 0 {
			tr = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true}
		}
		resp, err := (&http.Client{Transport: tr}).Get(*url)
		if err != nil {
			log.Fatalf("stream %d: %v", i, err)
		}
		if i == 0 {
			fmt.Println(resp.Proto, resp.Status)
		}
		bodies = append(bodies, resp.Body)
	}
	fmt.Println("open", len(bodies), "streams; interrupt to close them")
	select {}
}
