// Receives ssehub's webhooks with Node's own http module (no package
// needed): checks each request's signature, then keeps who is online in
// memory, which GET /online answers. Start the hub with
//   -webhook-url http://this-host:3000/webhook -webhook-secret "$SECRET"
//
//   SSEHUB_WEBHOOK_SECRET=... node webhook.mjs    # Node.js 20 or later
//
// Environment:
//   SSEHUB_WEBHOOK_SECRET  the hub's -webhook-secret (required)
//   PORT                   where to listen (default 3000; 0 for any free port)
//   HOST                   the address to listen on (default: every interface)
//
// Prints one JSON line when listening, then one per event recorded.
import crypto from 'node:crypto';
import http from 'node:http';

const secret = process.env.SSEHUB_WEBHOOK_SECRET;
if (!secret) {
  console.error("set SSEHUB_WEBHOOK_SECRET to the hub's -webhook-secret");
  process.exit(1);
}
const toleranceSeconds = 300; // how old a signature may be: a replayed request is refused
const maxBody = 4 << 20; // the hub's batches stay under 1 MiB, unless one event is larger

// verifySignature checks "Ssehub-Signature: t=<unix seconds>,v1=<hex
// HMAC-SHA256 of "<t>.<body>">" (more than one v1 may come while the
// secret changes).
function verifySignature(body, header, key, now = Date.now()) {
  let t = '';
  const signatures = [];
  for (const part of String(header ?? '').split(',')) {
    const [k, v = ''] = part.trim().split('=');
    if (k === 't') t = v;
    else if (k === 'v1') signatures.push(v);
  }
  if (!/^\d+$/.test(t) || Math.abs(now / 1000 - Number(t)) > toleranceSeconds) return false;
  const expected = Buffer.from(crypto.createHmac('sha256', key).update(`${t}.`).update(body).digest('hex'));
  return signatures.some((s) => s.length === expected.length && crypto.timingSafeEqual(Buffer.from(s), expected));
}

const subscribers = new Map(); // subscriber id → { user, payload, topics, client_ip, since }
const topics = new Map(); // topic selector → since when it is occupied
const seen = new Map(); // event id → when received: the hub delivers at least once

function record(events) {
  for (const e of events) {
    if (!e?.id || seen.has(e.id)) continue;
    seen.set(e.id, Date.now());
    switch (e.type) {
      case 'subscription.started':
        subscribers.set(e.subscriber, { user: e.user ?? null, payload: e.payload ?? null, topics: e.topics ?? [], client_ip: e.client_ip ?? null, since: e.since ?? e.time });
        break;
      case 'subscription.ended':
        subscribers.delete(e.subscriber);
        break;
      case 'topic.occupied':
        topics.set(e.topic, e.time);
        break;
      case 'topic.vacated':
        topics.delete(e.topic);
        break;
    }
    console.log(JSON.stringify({ event: e.type, id: e.id, subscriber: e.subscriber, user: e.user, topic: e.topic, reason: e.reason }));
  }
  const dayAgo = Date.now() - 86400e3; // the hub stops retrying long before
  for (const [id, at] of seen) {
    if (at >= dayAgo) break; // oldest first
    seen.delete(id);
  }
}

function answer(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > maxBody) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (req.method === 'POST' && url.pathname === '/webhook') {
    const body = await readBody(req);
    if (body === null) return answer(res, 413, { error: 'body too large' });
    if (!verifySignature(body, req.headers['ssehub-signature'], secret)) {
      return answer(res, 401, { error: 'invalid or missing Ssehub-Signature' });
    }
    let batch;
    try {
      batch = JSON.parse(body);
    } catch {
      return answer(res, 400, { error: 'body is not JSON' });
    }
    if (!Array.isArray(batch?.events)) return answer(res, 400, { error: 'expected {"events": [...]}' });
    record(batch.events);
    return answer(res, 200, { received: batch.events.length });
  }
  if (req.method === 'GET' && url.pathname === '/online') {
    const topic = url.searchParams.get('topic');
    const list = [...subscribers].filter(([, s]) => !topic || s.topics.includes(topic)).map(([id, s]) => ({ subscriber: id, ...s }));
    return answer(res, 200, { subscribers: list, topics: [...topics.keys()] });
  }
  return answer(res, 404, { error: 'POST /webhook or GET /online' });
});
server.listen(Number(process.env.PORT ?? 3000), process.env.HOST, () => {
  const { address, port } = server.address();
  console.log(JSON.stringify({ listening: `http://${address.includes(':') ? `[${address}]` : address}:${port}/webhook` }));
});
process.on('SIGINT', () => server.close());
process.on('SIGTERM', () => server.close());
