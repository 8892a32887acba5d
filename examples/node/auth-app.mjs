// A Node.js app (plain http, no dependency) whose own login session says who
// may subscribe to ssehub: nothing to mint. It serves a live page of the
// logged-in user's orders, and ssehub's authorization callback, /sse/auth.
//
//   node auth-app.mjs                       # http://127.0.0.1:8000/
//   ssehub -auth-url http://127.0.0.1:8000/sse/auth -cors-origins http://127.0.0.1:8000
//
// Environment:
//   PORT               where the app listens (default 8000; 0 picks a free port)
//   SSEHUB_PUBLIC_URL  the hub's URL as browsers reach it (default http://127.0.0.1:8080)
//
// The page's EventSource, opened withCredentials, carries the app's session
// cookie to the hub (same site: another port or subdomain), which asks
// /sse/auth with it before the stream opens. Publish with a token from the
// server side, e.g. `ssehub pub -topic orders/alice -private -data …`.
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';

const hub = (process.env.SSEHUB_PUBLIC_URL || 'http://127.0.0.1:8080').replace(/\/$/, '');
const sessions = new Map(); // session id → user name; a real app keeps them in a store

// sessionOf returns the session id of the request's sid cookie, if it is one.
function sessionOf(req) {
  for (const part of (req.headers.cookie || '').split(';')) {
    const [name, value] = part.trim().split('=');
    if (name === 'sid' && sessions.has(value)) return value;
  }
  return '';
}

async function readBody(req, limit = 64 << 10) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > limit) throw new Error('body too large');
  }
  return body;
}

function send(res, status, type, body, headers = {}) {
  res.writeHead(status, { 'Content-Type': type, ...headers });
  res.end(body);
}

const json = (res, status, value) => send(res, status, 'application/json', JSON.stringify(value));
const redirect = (res, headers = {}) => send(res, 303, 'text/plain', '', { Location: '/', ...headers });

// auth is ssehub's authorization callback. Before a browser's stream opens,
// the hub POSTs here, with the browser's own Cookie header, the JSON
// {"action": "subscribe" or "publish", "topics": [...], "client_ip",
// "origin", "query": {...}}, and grants what this answers, as a Mercure
// token would. A 401 or 403 is passed on to the browser with its "error".
async function auth(req, res) {
  const { action } = JSON.parse(await readBody(req)); // and topics, client_ip, origin, query
  const user = sessions.get(sessionOf(req));
  if (!user) return json(res, 401, { error: 'not logged in' });
  if (action !== 'subscribe') return json(res, 403, { error: 'only the server publishes' });
  json(res, 200, {
    user,                          // who owns the LLM generations this user starts
    subscribe: [`orders/${user}`], // topics whose private updates this user gets
    payload: { name: user },       // shown to others in active subscriptions
    expires_in: 300,               // asked again then; a logged-out stream ends
  });
}

async function login(req, res) {
  const name = new URLSearchParams(await readBody(req)).get('name') || '';
  if (!/^[a-z0-9_]{1,32}$/.test(name)) return json(res, 400, { error: 'name: 1 to 32 lower-case letters, digits or _' });
  // A real app checks a password here. A new session id at every login.
  const sid = randomBytes(18).toString('base64url');
  sessions.set(sid, name);
  redirect(res, { 'Set-Cookie': `sid=${sid}; Path=/; HttpOnly; SameSite=Lax` });
}

function logout(req, res) {
  sessions.delete(sessionOf(req));
  redirect(res, { 'Set-Cookie': 'sid=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0' });
}

const html = (s) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const js = (v) => JSON.stringify(v).replace(/</g, '\\u003c');

function page(req, res) {
  const user = sessions.get(sessionOf(req)) || '';
  const topic = new URL(req.url, 'http://app').searchParams.get('topic') || (user ? `orders/${user}` : 'orders/nobody');
  const who = user
    ? `<form id="logout" method="post" action="/logout">Logged in as <b id="user">${html(user)}</b> <button>Log out</button></form>`
    : '<form id="login" method="post" action="/login"><input id="name" name="name" placeholder="alice"> <button>Log in</button></form>';
  send(res, 200, 'text/html; charset=utf-8', `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Orders, live</title><link rel="icon" href="data:,"></head>
<body>
${who}
<p id="status" data-state="connecting">connecting…</p>
<ul id="events"></ul>
<script>
const url = ${js(hub)} + '/.well-known/mercure?topic=' + encodeURIComponent(${js(topic)});
const status = document.getElementById('status');
const show = (state, text) => { status.dataset.state = state; status.textContent = text; };
// withCredentials: the browser sends this site's cookies to the hub, which
// asks /sse/auth with them.
const es = new EventSource(url, { withCredentials: true });
es.onopen = () => show('open', 'live');
es.onmessage = (e) => {
  const li = document.createElement('li');
  li.textContent = e.data;
  document.getElementById('events').append(li);
};
es.onerror = async () => {
  if (es.readyState !== EventSource.CLOSED) return show('connecting', 'reconnecting…');
  // Refused: EventSource does not say why, the hub's answer does.
  const r = await fetch(url, { credentials: 'include' });
  const json = r.headers.get('Content-Type')?.startsWith('application/json');
  const body = json ? await r.json() : (r.body?.cancel(), {});
  show('refused', r.status + ' ' + (body.error || ''));
};
</script>
</body>
</html>
`);
}

const routes = {
  'GET /': page,
  'POST /login': login,
  'POST /logout': logout,
  'POST /sse/auth': auth,
};

const server = createServer(async (req, res) => {
  const route = routes[`${req.method} ${new URL(req.url, 'http://app').pathname}`];
  if (!route) return json(res, 404, { error: 'no such page' });
  try {
    await route(req, res);
  } catch (err) {
    json(res, 400, { error: String(err.message || err) });
  }
});
server.listen(Number(process.env.PORT ?? 8000), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}/`);
});
