package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"

	"github.com/ssehub/ssehub/client"
	"github.com/ssehub/ssehub/internal/app"
)

// startHub runs an in-process hub on 127.0.0.1 for the examples and
// returns its URL and a function that stops it.
func startHub() (hubURL string, stop func()) {
	cfg := app.DefaultConfig()
	cfg.DataDir = ""
	a, err := app.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := a.Serve(ctx, ln); err != nil {
			log.Print(err)
		}
	}()
	return "http://" + ln.Addr().String() + "/.well-known/mercure", func() {
		cancel()
		<-done
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	}
}

func ExampleClient_Subscribe() {
	hubURL, stop := startHub()
	defer stop()
	ctx := context.Background()

	c, err := client.New(hubURL)
	if err != nil {
		log.Fatal(err)
	}
	sub, err := c.Subscribe(ctx, []string{"chat"})
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Close()

	for _, msg := range []string{"hello", "world"} {
		if _, err := c.Publish(ctx, client.Update{Topics: []string{"chat"}, Data: msg}); err != nil {
			log.Fatal(err)
		}
	}
	for range 2 {
		ev := <-sub.Events()
		fmt.Println(ev.Data)
	}
	// Output:
	// hello
	// world
}

func ExampleClient_Publish() {
	hubURL, stop := startHub()
	defer stop()
	ctx := context.Background()

	c, err := client.New(hubURL) // with a JWT key configured: client.WithToken(jwt)
	if err != nil {
		log.Fatal(err)
	}
	id, err := c.Publish(ctx, client.Update{
		Topics: []string{"https://example.com/books/1"},
		Data:   `{"title":"The Go Programming Language"}`,
		Type:   "book.updated",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("published, id generated:", id != "")

	_, err = c.Publish(ctx, client.Update{Topics: []string{"chat"}, ID: "#1"})
	var refused *client.Error
	if errors.As(err, &refused) {
		fmt.Println("refused:", refused.Status, "field", refused.Field)
	}
	// Output:
	// published, id generated: true
	// refused: 400 field id
}

// A subscriber that stops keeps LastEventID and later continues exactly
// where it left off.
func ExampleFromID() {
	hubURL, stop := startHub()
	defer stop()
	ctx := context.Background()
	c, err := client.New(hubURL)
	if err != nil {
		log.Fatal(err)
	}
	for _, msg := range []string{"one", "two", "three"} {
		if _, err := c.Publish(ctx, client.Update{Topics: []string{"t"}, Data: msg}); err != nil {
			log.Fatal(err)
		}
	}

	sub, err := c.Subscribe(ctx, []string{"t"}, client.FromEarliest())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("first run:", (<-sub.Events()).Data)
	sub.Close()
	saved := sub.LastEventID() // persist it

	sub, err = c.Subscribe(ctx, []string{"t"}, client.FromID(saved))
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Close()
	for range 2 {
		fmt.Println("second run:", (<-sub.Events()).Data)
	}
	// Output:
	// first run: one
	// second run: two
	// second run: three
}

// When the hub cannot resume after the id sent (it no longer holds it),
// the application learns that events may be lost.
func ExampleOnGap() {
	hubURL, stop := startHub()
	defer stop()
	c, err := client.New(hubURL)
	if err != nil {
		log.Fatal(err)
	}
	sub, err := c.Subscribe(context.Background(), []string{"t"},
		client.FromID("urn:example:forgotten"),
		client.OnGap(func(sent string) {
			fmt.Println("events after", sent, "may be lost: re-fetch the state")
		}))
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Close()
	// Output:
	// events after urn:example:forgotten may be lost: re-fetch the state
}
