// Keeps a live list of who is subscribed, with ssehub's active subscriptions
// (start the hub with -subscriptions): it lists the subscriptions, then
// follows the updates announcing each one that starts or ends, from the
// list's lastEventID so that no change is missed. Prints one JSON line for
// the list, then one per change ("join" or "leave").
//
//   npm ci                            # in this directory: eventsource 4.1.1, as locked (Node.js 20 or later)
//   node presence.mjs 'books/1'       # who is subscribed to exactly this topic selector
//   node presence.mjs                 # every subscription
//
// Environment:
//   SSEHUB_URL     the hub's root URL (default http://localhost:8080)
//   SSEHUB_TOKEN   a subscriber JWT whose mercure.subscribe allows
//                  /.well-known/mercure/subscriptions{/topic}{/subscriber}
//                  (ssehub token -key "$SECRET" -subscribe '/.well-known/mercure/subscriptions{/topic}{/subscriber}')
//   SSEHUB_COUNT   stop after this many changes (default: run until Ctrl-C)
//
// Each subscriber's mercure.payload (what its token carries, such as a user
// id) comes with it: that is who is online.
import { EventSource } from 'eventsource';

const env = process.env;
const base = env.SSEHUB_URL || 'http://localhost:8080';
const headers = env.SSEHUB_TOKEN ? { Authorization: `Bearer ${env.SSEHUB_TOKEN}` } : {};
const selector = process.argv[2] || '';
const count = Number(env.SSEHUB_COUNT || 0);

// RFC 6570's encoding of a variable: everything but letters, digits and -._~
const escape = (s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const prefix = '/.well-known/mercure/subscriptions';
const brief = (s) => ({ topic: s.topic, subscriber: s.subscriber, payload: s.payload ?? null });

const res = await fetch(new URL(prefix + (selector ? `/${escape(selector)}` : ''), base), { headers });
if (!res.ok) {
  console.error(`listing the subscriptions: ${res.status} ${await res.text()}`);
  process.exit(1);
}
const list = await res.json();
const online = new Map(); // subscription id → document
for (const s of list.subscriptions) online.set(s.id, s);
console.log(JSON.stringify({ event: 'list', subscriptions: [...online.values()].map(brief) }));

// The updates of exactly this selector's subscriptions, or of all of them.
const url = new URL('/.well-known/mercure', base);
url.searchParams.append('topic', selector ? `${prefix}/${escape(selector)}{/subscriber}` : `${prefix}{/topic}{/subscriber}`);
url.searchParams.set('lastEventID', list.lastEventID);
const es = new EventSource(url, {
  fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, ...headers } }),
});
let changes = 0;
es.addEventListener('message', (event) => {
  if (count > 0 && changes >= count) return;
  const s = JSON.parse(event.data);
  // An update may repeat what the list already said: apply it as it comes.
  if (s.active === online.has(s.id)) return;
  if (s.active) online.set(s.id, s);
  else online.delete(s.id);
  console.log(JSON.stringify({ event: s.active ? 'join' : 'leave', ...brief(s), online: online.size }));
  if (count > 0 && ++changes >= count) es.close();
});
es.addEventListener('error', (event) => {
  if (es.readyState === EventSource.CLOSED) {
    console.error(`subscription ended: ${event.message ?? 'closed'} (status ${event.code ?? 'none'})`);
    process.exitCode = 1;
  }
});
process.on('SIGINT', () => es.close());
