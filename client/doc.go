// Package client is a Go client of ssehub, and of any hub speaking the
// Mercure protocol: it publishes updates and subscribes to topics with
// automatic, gap-free resumption.
//
// A [Client] is created once per hub and is safe for concurrent use:
//
//	c, err := client.New("http://localhost:8080/.well-known/mercure",
//		client.WithToken(jwt))
//	if err != nil {
//		return err
//	}
//	id, err := c.Publish(ctx, client.Update{Topics: []string{"chat"}, Data: "hello"})
//
// [Client.Subscribe] opens an event stream and returns once the hub has
// accepted it. The [Subscription] then reconnects by itself whenever the
// stream ends or fails, waiting as the hub asks (its retry field and
// Retry-After headers) with exponential backoff and jitter, and resumes
// with the Last-Event-ID header after the last event it delivered, so that
// events arrive exactly once and in order across reconnections as long as
// the hub still holds them in its history. When the hub answers that it
// could not resume where asked (its Last-Event-ID response header differs
// from the id sent), the next event has [Event.Gap] set and the [OnGap]
// handler, if any, is called: events may have been lost and the application
// should re-fetch the state it mirrors.
//
//	sub, err := c.Subscribe(ctx, []string{"chat"}, client.FromID(saved))
//	if err != nil {
//		return err
//	}
//	defer sub.Close()
//	for ev := range sub.Events() {
//		fmt.Println(ev.ID, ev.Data)
//	}
//	return sub.Err() // why it stopped: nil after Close, ctx's error, or a refusal
//
// A hub answering a (re)connection with a client error other than 408 or 429
// (a bad topic, a missing or refused token) ends the subscription with an
// [*Error]; so does a failing token function. Everything else (network
// errors, 408, 429, 5xx, streams ending) is retried until the context ends
// or [Subscription.Close] is called.
//
// On a hub with active subscriptions (presence: who is subscribed to
// what), [Client.ActiveSubscriptions] lists them and the id to follow
// their changes from:
//
//	subs, last, err := c.ActiveSubscriptions(ctx, "")
//	if err != nil {
//		return err
//	}
//	changes, err := c.Subscribe(ctx, []string{client.SubscriptionsTopic}, client.FromID(last))
//	// each event's data: client.ParseActiveSubscription(ev.Data)
package client
