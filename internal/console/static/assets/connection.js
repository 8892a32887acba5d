// connection: one EventSource subscription that survives drops and reloads.
// The topics, the last event id and whether the user wants to be connected are
// kept in sessionStorage, so a reload reconnects with lastEventID and the hub
// replays what was missed.

const STORAGE_KEY = 'ssehub.console.conn';
const MIN_DELAY = 1000;
const MAX_DELAY = 15000;

// BASE_TYPES are the event types the console always listens to.
export const BASE_TYPES = ['message', 'notification', 'alert', 'update'];

// parseTopics splits a topic field on commas and white space.
export function parseTopics(text) { return String(text).split(/[\s,]+/).filter(Boolean); }

// eventsURL is the subscription URL for topics, resuming after lastId if set.
export function eventsURL(topics, lastId) {
  let url = '/events?' + topics.map((t) => 'topic=' + encodeURIComponent(t)).join('&');
  if (lastId) url += '&lastEventID=' + encodeURIComponent(lastId);
  return url;
}

// backoff is the delay before retry number attempt (0-based): doubling from
// 1s up to 15s, with ±25% jitter so that many consoles do not retry in step.
export function backoff(attempt) {
  const base = Math.min(MAX_DELAY, MIN_DELAY * 2 ** attempt);
  return Math.round(Math.min(MAX_DELAY, base * (0.75 + Math.random() * 0.5)));
}

function loadState() {
  try {
    const s = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || '{}');
    return {
      topics: Array.isArray(s.topics) ? s.topics.map(String) : [],
      lastId: typeof s.lastId === 'string' ? s.lastId : '',
      wants: s.wants === true,
      types: Array.isArray(s.types) ? s.types.map(String) : [],
    };
  } catch (e) {
    return { topics: [], lastId: '', wants: false, types: [] };
  }
}

function sameTopics(a, b) { return a.length === b.length && a.every((t, i) => t === b[i]); }

// createConnection returns the console's subscription. The callbacks are
// onState(state, labelKey) with state connected|reconnecting|disconnected,
// onEvent(type, id, data) and onSystem(key, params) for log lines.
export function createConnection({ onState, onEvent, onSystem }) {
  const saved = loadState();
  let { topics, lastId, wants } = saved;
  const types = new Set([...BASE_TYPES, ...saved.types]);
  let es = null;
  let timer = 0;
  let attempt = 0;
  let lost = false;

  function persist() {
    const extra = [...types].filter((t) => !BASE_TYPES.includes(t));
    try {
      sessionStorage.setItem(STORAGE_KEY, JSON.stringify({ topics, lastId, wants, types: extra }));
    } catch (e) { /* storage full or disabled: resume is best effort */ }
  }

  function listen(src, type) {
    src.addEventListener(type, (e) => {
      if (src !== es) return;
      if (e.lastEventId && e.lastEventId !== lastId) {
        lastId = e.lastEventId;
        persist();
      }
      onEvent(type, e.lastEventId, e.data);
    });
  }

  function open() {
    const src = new EventSource(eventsURL(topics, lastId));
    es = src;
    src.addEventListener('open', () => {
      if (src !== es) return;
      attempt = 0;
      lost = false;
      onState('connected', 'status.connected');
      onSystem('sys.open');
    });
    src.addEventListener('error', () => {
      if (src === es) failed(src);
    });
    types.forEach((type) => listen(src, type));
  }

  function failed(src) {
    onState('reconnecting', 'status.reconnecting');
    if (src.readyState === EventSource.CONNECTING) {
      // The browser retries by itself and sends Last-Event-ID.
      if (!lost) onSystem('sys.lost');
      lost = true;
      return;
    }
    // CLOSED: the browser gave up (server down, or an answer other than 200).
    src.close();
    es = null;
    const delay = backoff(attempt++);
    onSystem('sys.retry', { seconds: (delay / 1000).toFixed(1), attempt });
    timer = setTimeout(() => {
      timer = 0;
      if (wants && !es) open();
    }, delay);
  }

  function stop() {
    clearTimeout(timer);
    timer = 0;
    if (es) es.close();
    es = null;
  }

  function connect(list) {
    if (!sameTopics(list, topics)) lastId = '';
    topics = list;
    wants = true;
    attempt = 0;
    lost = false;
    persist();
    stop();
    onState('reconnecting', 'status.connecting');
    onSystem('sys.connecting', { topics: topics.join(', ') });
    if (lastId) onSystem('sys.resume', { id: lastId });
    open();
  }

  function disconnect() {
    wants = false;
    persist();
    stop();
    onState('disconnected', 'status.disconnected');
    onSystem('sys.closed');
  }

  // Retry at once when the network comes back, or when a page comes back
  // from the back/forward cache with its stream closed.
  function retryNow() {
    if (!wants || (es && es.readyState !== EventSource.CLOSED)) return;
    stop();
    open();
  }
  window.addEventListener('online', () => { if (timer) retryNow(); });
  window.addEventListener('pageshow', (e) => { if (e.persisted) retryNow(); });

  return {
    connect,
    disconnect,
    // resume reconnects if the user was connected before a reload; it reports whether it did.
    resume() {
      if (!wants || topics.length === 0) return false;
      connect(topics);
      return true;
    },
    // addType starts listening to events of another type (now and after reconnects).
    addType(type) {
      if (types.has(type)) return;
      types.add(type);
      persist();
      if (es) listen(es, type);
    },
    get topics() { return topics.slice(); },
    get types() { return [...types]; },
    get lastId() { return lastId; },
  };
}
