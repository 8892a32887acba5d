// Command mercure is the Mercure 0.24 library hub the benchmarks compare
// ssehub with (docs/benchmarks.md, "Head to head"). It is a module of its
// own so that ssehub does not depend on Mercure; the sum database does not
// know this version, so build it with GOFLAGS=-mod=mod GOSUMDB=off.
//
// Anonymous subscribers,
// HS256 publishers, local (in-memory) transport, plain HTTP on loopback,
// or HTTPS (and HTTP/2) with -cert and -key.
package main

import (
	"context"
	"flag"
	"log"
	"log/slog"
	"net/http"
	"os"

	"github.com/dunglas/mercure"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18600", "listen address")
	cert := flag.String("cert", "", "TLS certificate (PEM): serve HTTPS, with net/http's HTTP/2")
	keyFile := flag.String("key", "", "TLS key (PEM)")
	flag.Parse()
	key := []byte(os.Getenv("MERCURE_JWT_KEY"))
	h, err := mercure.NewHub(context.Background(),
		mercure.WithAnonymous(),
		mercure.WithPublisherJWT(key, "HS256"),
		mercure.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))),
	)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/.well-known/mercure", h)
	srv := &http.Server{Addr: *addr, Handler: mux}
	if *cert != "" {
		log.Fatal(srv.ListenAndServeTLS(*cert, *keyFile))
	}
	log.Fatal(srv.ListenAndServe())
}
