// Subscribes to ssehub with the npm `eventsource` package, the WHATWG
// EventSource for Node.js, and prints every event as one JSON line.
//
//   npm ci                           # in this directory: eventsource 4.1.1, as locked (Node.js 20 or later)
//   node subscribe.mjs chat          # topics (exact, "*" or URI templates) as arguments
//
// Environment:
//   SSEHUB_URL            the hub's root URL (default http://localhost:8080)
//   SSEHUB_TOKEN          a subscriber JWT, for private updates or a hub that wants one
//   SSEHUB_LAST_EVENT_ID  start after this event id, or "earliest" for the history the hub holds
//   SSEHUB_TYPES          event types to print, comma-separated (default message,notification,alert,update)
//   SSEHUB_COUNT          stop after this many events (default: run until Ctrl-C)
//
// EventSource reconnects by itself and sends the Last-Event-ID header, which
// ssehub honours: events published while it was away arrive after the
// reconnection, without gap or repeat.
import { EventSource } from 'eventsource';

const topics = process.argv.slice(2);
if (topics.length === 0) {
  console.error('usage: node subscribe.mjs TOPIC [TOPIC...]');
  process.exit(2);
}
const env = process.env;
const url = new URL('/.well-known/mercure', env.SSEHUB_URL || 'http://localhost:8080');
for (const topic of topics) url.searchParams.append('topic', topic);
if (env.SSEHUB_LAST_EVENT_ID) url.searchParams.set('lastEventID', env.SSEHUB_LAST_EVENT_ID);

const token = env.SSEHUB_TOKEN;
const es = new EventSource(url, token ? {
  // Browsers' EventSource cannot send headers; this package can.
  fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, Authorization: `Bearer ${token}` } }),
} : undefined);

const types = (env.SSEHUB_TYPES || 'message,notification,alert,update').split(',');
const count = Number(env.SSEHUB_COUNT || 0);
let seen = 0;
for (const type of types) {
  es.addEventListener(type, (event) => {
    if (count > 0 && seen >= count) return; // events after the last one wanted, in the same chunk
    console.log(JSON.stringify({ id: event.lastEventId, type: event.type, data: event.data }));
    if (count > 0 && ++seen >= count) es.close();
  });
}
es.addEventListener('open', () => console.error(`subscribed to ${url}`));
es.addEventListener('error', (event) => {
  if (es.readyState === EventSource.CLOSED) {
    // A refusal (4xx) or a response that is not an event stream: no retry.
    console.error(`subscription ended: ${event.message ?? 'closed'} (status ${event.code ?? 'none'})`);
    process.exitCode = 1;
  } else {
    console.error(`connection lost, reconnecting: ${event.message ?? ''}`);
  }
});
process.on('SIGINT', () => es.close());
