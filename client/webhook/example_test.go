package webhook_test

import (
	"context"
	"log"
	"net/http"
	"os"
	"sync"

	"github.com/ssehub/ssehub/client/webhook"
)

// Receive the hub's webhooks (started with -webhook-url
// http://app:8080/ssehub/webhook -webhook-secret "$SSEHUB_WEBHOOK_SECRET").
func ExampleHandler() {
	secret := []byte(os.Getenv("SSEHUB_WEBHOOK_SECRET"))
	var mu sync.Mutex
	seen := map[string]bool{} // the hub sends at least once: skip what was seen
	http.Handle("/ssehub/webhook", webhook.Handler(secret, func(_ context.Context, events []webhook.Event) error {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range events {
			if seen[e.ID] {
				continue
			}
			seen[e.ID] = true
			switch e.Type {
			case webhook.SubscriptionStarted:
				log.Printf("%s (%s) subscribed to %v", e.User, e.Subscriber, e.Topics)
			case webhook.SubscriptionEnded:
				log.Printf("%s left: %s", e.Subscriber, e.Reason)
			}
		}
		return nil // an error makes the hub send the batch again
	}))
}
