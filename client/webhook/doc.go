// Package webhook is the application's side of ssehub's webhooks: the
// events the hub POSTs (Batch, Event), the check of their signature
// (Verify) and an http.Handler that does both and hands the events to the
// application's function (Handler).
//
// The hub sends each event at least once, in order, in batches; a batch
// is sent again, with the same events and ids, until the application
// answers 2xx. De-duplicate by Event.ID. See docs/api.md, "Webhooks".
package webhook
