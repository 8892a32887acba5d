// connection: the console's hub (the @ssehub/client the hub serves at
// /ssehub.js) and its event log subscription, which survives drops and
// reloads. The topics, the last event id and whether the user wants to be
// connected are kept in sessionStorage, so a reload subscribes again with
// lastEventID and the hub replays what was missed.

import { Hub } from '/ssehub.js';

const STORAGE_KEY = 'ssehub.console.conn';

// hub is the console's connection to the hub that serves it. Each tab
// keeps a stream of its own (shared: false): the console shows what one
// subscriber sees, and its presence panel counts every open tab.
export const hub = new Hub({ url: '/events', retry: { max: 15000 }, shared: false });

// BASE_TYPES are the event types the console offers to send.
export const BASE_TYPES = ['message', 'notification', 'alert', 'update'];

// parseTopics splits a topic field on commas and white space.
export function parseTopics(text) { return String(text).split(/[\s,]+/).filter(Boolean); }

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
// onEvent(type, id, data) for every event, whatever its type, and
// onSystem(key, params) for log lines.
export function createConnection({ onState, onEvent, onSystem }) {
  const saved = loadState();
  let { topics, lastId, wants } = saved;
  const types = new Set([...BASE_TYPES, ...saved.types]);
  let sub = null;
  let current = 0; // the number of the subscription whose callbacks count

  function persist() {
    const extra = [...types].filter((t) => !BASE_TYPES.includes(t));
    try {
      sessionStorage.setItem(STORAGE_KEY, JSON.stringify({ topics, lastId, wants, types: extra }));
    } catch (e) { /* storage full or disabled: resume is best effort */ }
  }

  function open() {
    const me = ++current;
    let opened = false;
    let attempt = 0;
    sub = hub.subscribe(topics, {
      lastEventID: lastId || undefined,
      onStatus(status) {
        if (me !== current) return;
        if (status === 'open') {
          opened = true;
          attempt = 0;
          onState('connected', 'status.connected');
          onSystem('sys.open');
        } else if (status === 'reconnecting') {
          onState('reconnecting', 'status.reconnecting');
          if (opened) onSystem('sys.lost');
          opened = false;
        } else if (status === 'closed') { // refused: a 4xx the client does not retry
          wants = false;
          persist();
          onState('disconnected', 'status.disconnected');
        }
      },
      onError(err) {
        if (me !== current) return;
        if (err.status >= 400 && err.status < 500 && err.status !== 429) onSystem('sys.refused', { error: err.message });
        else if (!opened) onSystem('sys.retry', { attempt: ++attempt, error: err.message });
      },
      onGap({ lastEventID }) {
        if (me === current) onSystem('sys.gap', { id: lastEventID });
      },
      onEvent(ev) {
        if (me !== current) return;
        if (ev.id && ev.id !== lastId) {
          lastId = ev.id;
          persist();
        }
        onEvent(ev.type, ev.id, ev.data);
      },
    });
  }

  function stop() {
    current++;
    if (sub) sub.close();
    sub = null;
  }

  function connect(list) {
    if (!sameTopics(list, topics)) lastId = '';
    topics = list;
    wants = true;
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

  return {
    connect,
    disconnect,
    // resume reconnects if the user was connected before a reload; it reports whether it did.
    resume() {
      if (!wants || topics.length === 0) return false;
      connect(topics);
      return true;
    },
    // addType remembers a custom event type, offered again after a reload.
    addType(type) {
      if (types.has(type)) return;
      types.add(type);
      persist();
    },
    get topics() { return topics.slice(); },
    get types() { return [...types]; },
    get lastId() { return lastId; },
  };
}
