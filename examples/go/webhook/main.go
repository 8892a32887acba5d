// Command webhook receives ssehub's webhooks with the Go package
// github.com/ssehub/ssehub/client/webhook, which checks each request's
// signature, and keeps who is online in memory, which GET /online
// answers. Start the hub with
//
//	-webhook-url http://this-host:3000/webhook -webhook-secret "$SECRET"
//
// and this with
//
//	SSEHUB_WEBHOOK_SECRET=... go run ./examples/go/webhook
//
// Environment: SSEHUB_WEBHOOK_SECRET, the hub's -webhook-secret
// (required); PORT, where to listen (default 3000; 0 for any free port);
// HOST, the address to listen on (default: every interface). It prints one
// JSON line when listening, then one per event recorded.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/ssehub/ssehub/client/webhook"
)

// subscriber is what /online says of one.
type subscriber struct {
	Subscriber string          `json:"subscriber"`
	User       string          `json:"user,omitempty"`
	Payload    json.RawMessage `json:"payload,omitempty"`
	Topics     []string        `json:"topics"`
	ClientIP   string          `json:"client_ip,omitempty"`
	Since      *time.Time      `json:"since,omitempty"`
}

// presence is who is online, from the events recorded once each.
type presence struct {
	mu          sync.Mutex
	subscribers map[string]subscriber
	topics      map[string]time.Time
	seen        map[string]time.Time // event id → when received: the hub delivers at least once
	pruned      time.Time            // when seen last lost its day-old ids
}

func (p *presence) record(_ context.Context, events []webhook.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range events {
		if _, ok := p.seen[e.ID]; ok {
			continue
		}
		p.seen[e.ID] = time.Now()
		switch e.Type {
		case webhook.SubscriptionStarted:
			p.subscribers[e.Subscriber] = subscriber{e.Subscriber, e.User, e.Payload, e.Topics, e.ClientIP, e.Since}
		case webhook.SubscriptionEnded:
			delete(p.subscribers, e.Subscriber)
		case webhook.TopicOccupied:
			p.topics[e.Topic] = e.Time
		case webhook.TopicVacated:
			delete(p.topics, e.Topic)
		}
		line, _ := json.Marshal(map[string]string{"event": e.Type, "id": e.ID, "subscriber": e.Subscriber, "topic": e.Topic, "reason": e.Reason})
		fmt.Println(string(line))
	}
	if time.Since(p.pruned) > time.Minute { // the hub stops retrying long before a day
		p.pruned = time.Now()
		for id, at := range p.seen {
			if time.Since(at) > 24*time.Hour {
				delete(p.seen, id)
			}
		}
	}
	return nil
}

func (p *presence) online(w http.ResponseWriter, _ *http.Request) {
	p.mu.Lock()
	answer := struct {
		Subscribers []subscriber `json:"subscribers"`
		Topics      []string     `json:"topics"`
	}{Subscribers: []subscriber{}, Topics: []string{}}
	for _, s := range p.subscribers {
		answer.Subscribers = append(answer.Subscribers, s)
	}
	for t := range p.topics {
		answer.Topics = append(answer.Topics, t)
	}
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(answer)
}

func main() {
	secret := os.Getenv("SSEHUB_WEBHOOK_SECRET")
	if secret == "" {
		log.Fatal("set SSEHUB_WEBHOOK_SECRET to the hub's -webhook-secret")
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "3000"
	}
	p := &presence{subscribers: map[string]subscriber{}, topics: map[string]time.Time{}, seen: map[string]time.Time{}}
	mux := http.NewServeMux()
	mux.Handle("POST /webhook", webhook.Handler([]byte(secret), p.record))
	mux.HandleFunc("GET /online", p.online)
	ln, err := net.Listen("tcp", net.JoinHostPort(os.Getenv("HOST"), port))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("{\"listening\":\"http://%s/webhook\"}\n", ln.Addr())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.Serve(ln))
}
