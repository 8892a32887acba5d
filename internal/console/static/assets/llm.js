// llm: the hub's LLM endpoints (start, look up and stop a generation, list
// the models) and follow, which reads a generation's events from its topic.

import { eventsURL, backoff } from './connection.js';

// APIError is a refused request: the hub's {"error", "field"} answer.
export class APIError extends Error {
  constructor(message, { status = 0, field = '', retryAfter = 0 } = {}) {
    super(message);
    this.name = 'APIError';
    this.status = status;
    this.field = field;
    this.retryAfter = retryAfter; // seconds, from a 429's Retry-After
  }
}

async function call(method, url, body) {
  const init = { method, headers: { 'Accept': 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(url, init);
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch (e) { /* not JSON: keep the text */ }
  if (res.ok && json && typeof json === 'object') return json;
  const message = json && typeof json.error === 'string' ? json.error : text.trim() || `HTTP ${res.status}`;
  throw new APIError(message, {
    status: res.status,
    field: json && typeof json.field === 'string' ? json.field : '',
    retryAfter: parseInt(res.headers.get('Retry-After'), 10) || 0,
  });
}

const generation = (id) => '/llm/generations/' + encodeURIComponent(id);

// startGeneration starts answering {messages, model}; it resolves to {id, topic}.
export function startGeneration(req) { return call('POST', '/llm/generations', req); }

// getGeneration resolves to a generation's snapshot: {status, text, last_event_id, …}.
export function getGeneration(id) { return call('GET', generation(id)); }

// stopGeneration asks a generation to stop; it then ends with done "stopped".
export function stopGeneration(id) { return call('POST', generation(id) + '/stop'); }

// listModels resolves to the ids of the models the hub serves, default first.
export async function listModels() {
  const list = await call('GET', '/v1/models');
  return Array.isArray(list.data) ? list.data.map((m) => String(m && m.id || '')).filter(Boolean) : [];
}

function parse(data) {
  try {
    const v = JSON.parse(data);
    return v && typeof v === 'object' ? v : {};
  } catch (e) { return {}; }
}

// follow subscribes to a generation's topic after the event id `after`
// ('earliest' for all of it). It calls onToken(text) for every token in
// order, then once onDone(reason, usage) or onError(message, kind), and
// closes. A stream the browser gave up on is opened again after the last
// event seen. follow returns a function that stops following.
export function follow(topic, after, { onToken, onDone, onError }) {
  let lastId = after || 'earliest';
  let es = null;
  let timer = 0;
  let attempt = 0;
  let ended = false;

  function end() {
    ended = true;
    clearTimeout(timer);
    if (es) es.close();
    es = null;
  }

  function open() {
    const src = new EventSource(eventsURL([topic], lastId));
    es = src;
    const current = () => src === es && !ended;
    src.addEventListener('open', () => { if (current()) attempt = 0; });
    src.addEventListener('token', (e) => {
      if (!current()) return;
      if (e.lastEventId) lastId = e.lastEventId;
      const text = parse(e.data).text;
      if (typeof text === 'string') onToken(text);
    });
    src.addEventListener('done', (e) => {
      if (!current()) return;
      end();
      const d = parse(e.data);
      onDone(String(d.reason || ''), d.usage && typeof d.usage === 'object' ? d.usage : null);
    });
    // "error" is both the generation's error event (a MessageEvent with
    // data) and EventSource's own signal of a broken stream (a plain Event).
    src.addEventListener('error', (e) => {
      if (!current()) return;
      if (e instanceof MessageEvent) {
        end();
        const d = parse(e.data);
        onError(String(d.error || e.data || ''), String(d.kind || ''));
        return;
      }
      // While CONNECTING the browser retries by itself, sending Last-Event-ID.
      if (src.readyState !== EventSource.CLOSED) return;
      src.close();
      es = null;
      timer = setTimeout(() => {
        timer = 0;
        if (!ended) open();
      }, backoff(attempt++));
    });
  }

  open();
  return end;
}
